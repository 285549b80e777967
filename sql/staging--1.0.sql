/* staging--1.0.sql: install script of the staging extension */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION staging" to load this file. \quit

--
-- Preload check.  A session that loaded the library late would read
-- versioned tables without the version filter, so refuse to install
-- unless the library came from shared_preload_libraries.
--
CREATE FUNCTION staging._assert_preloaded() RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_assert_preloaded';
SELECT staging._assert_preloaded();
COMMENT ON FUNCTION staging._assert_preloaded() IS
    'Raises an error unless the staging library was loaded by shared_preload_libraries.';

-------------------------------------------------------------------------------
-- Versions
-------------------------------------------------------------------------------

CREATE FUNCTION staging.max_version() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9223372036854775807;
COMMENT ON FUNCTION staging.max_version() IS
    'The open end of every version interval (9223372036854775807).';

CREATE FUNCTION staging.to_version(ts timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN floor(extract(epoch FROM ts))::bigint;
COMMENT ON FUNCTION staging.to_version(timestamptz) IS
    'The version (UNIX epoch seconds) of a point in time.';

CREATE FUNCTION staging.to_timestamp(version bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.to_timestamp(version::double precision);
COMMENT ON FUNCTION staging.to_timestamp(bigint) IS
    'The point in time at which a version starts.';

-- The live version: the start of the most recent update that went live.
CREATE TABLE staging.live_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
INSERT INTO staging.live_state DEFAULT VALUES;
COMMENT ON TABLE staging.live_state IS
    'One row: the live version of this database (1 before any update went live).';
SELECT pg_catalog.pg_extension_config_dump('staging.live_state', '');

CREATE FUNCTION staging.live_version() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (SELECT version FROM staging.live_state);
COMMENT ON FUNCTION staging.live_version() IS
    'The live version: the start of the most recent update that went live, 1 before any did.';

-------------------------------------------------------------------------------
-- Versioned tables: the registry
-------------------------------------------------------------------------------

-- Registrations store regclass, not OIDs, so pg_dump/pg_restore keep them.
CREATE TABLE staging.versioned_table (
    relid          regclass PRIMARY KEY,
    entity_column  name NOT NULL,
    sequence_table regclass NOT NULL,
    saved          jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE staging.versioned_table IS
    'Registry: each versioned main table, its entity column and sequence table.';
COMMENT ON COLUMN staging.versioned_table.saved IS
    'What staging.disable_versioning restores: the entity key, the entity column''s '
    'default or identity, the unique keys replaced by plain indexes.';
SELECT pg_catalog.pg_extension_config_dump('staging.versioned_table', '');

CREATE TABLE staging.attribute_table (
    relid         regclass PRIMARY KEY,
    main_table    regclass NOT NULL
                  REFERENCES staging.versioned_table ON DELETE CASCADE,
    entity_column name NOT NULL,
    saved         jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE staging.attribute_table IS
    'Registry: each attribute table linked by row_id to a versioned main table, '
    'with the name its entity column had before.';
COMMENT ON COLUMN staging.attribute_table.entity_column IS
    'The column that referred to the main table''s entity before versioning.';
COMMENT ON COLUMN staging.attribute_table.saved IS
    'What staging.disable_versioning restores: the name and actions of the foreign key to the entity, '
    'the type of the column.';
SELECT pg_catalog.pg_extension_config_dump('staging.attribute_table', '');

-- Every change of a registration invalidates the backends' caches and the
-- cached plans of the table concerned.
CREATE FUNCTION staging._registry_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_registry_changed';
COMMENT ON FUNCTION staging._registry_changed() IS
    'Trigger: invalidates cached registrations and plans when the registry changes.';
CREATE TRIGGER registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON staging.versioned_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_changed();
CREATE TRIGGER registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON staging.attribute_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_changed();

CREATE FUNCTION staging.versioned_kind(tbl regclass) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_versioned_kind';
COMMENT ON FUNCTION staging.versioned_kind(regclass) IS
    '''main'' for a versioned main table, ''attribute'' for one of its attribute tables, NULL otherwise.';

-- pg_restore loads the dumped row of staging.live_state into a database
-- where CREATE EXTENSION already inserted one: the restored row replaces
-- it instead of failing on the primary key.
CREATE FUNCTION staging._live_state_restore() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE staging.live_state SET version = NEW.version WHERE singleton = NEW.singleton;
    RETURN CASE WHEN FOUND THEN NULL ELSE NEW END;
END
$$;
COMMENT ON FUNCTION staging._live_state_restore() IS
    'Trigger: an insert of the live_state row (pg_restore) updates the existing row.';
CREATE TRIGGER live_state_restore
    BEFORE INSERT ON staging.live_state
    FOR EACH ROW EXECUTE FUNCTION staging._live_state_restore();

-- Only the owner of a table may change its registration (the helpers
-- below run as their caller, who needs to write the registry).  A
-- relation that no longer exists is being dropped: its row may go.
CREATE FUNCTION staging._registry_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rel regclass;
    owner oid;
BEGIN
    FOREACH rel IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.relid]
        WHEN 'DELETE' THEN ARRAY[OLD.relid]
        ELSE ARRAY[OLD.relid, NEW.relid] END
    LOOP
        SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid = rel;
        IF FOUND AND NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to change its versioning', rel
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION staging._registry_guard() IS
    'Trigger: only the owner of a table may register or unregister it.';
CREATE TRIGGER registry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON staging.versioned_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_guard();
CREATE TRIGGER registry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON staging.attribute_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_guard();

-- DROP TABLE (and DROP SCHEMA ... CASCADE, DROP OWNED) forgets the
-- registrations of the dropped tables.
CREATE FUNCTION staging._forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM staging.attribute_table a
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0 AND a.relid::pg_catalog.oid = d.objid;
    DELETE FROM staging.versioned_table v
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0 AND v.relid::pg_catalog.oid = d.objid;
END
$$;
COMMENT ON FUNCTION staging._forget_dropped() IS
    'Event trigger: removes the registrations of dropped tables.';
CREATE EVENT TRIGGER staging_forget_dropped ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION staging._forget_dropped();
COMMENT ON EVENT TRIGGER staging_forget_dropped IS
    'Removes the registrations of dropped versioned and attribute tables.';

-- Read every version of versioned tables in this transaction until
-- _restore_version(): the helpers below must see all rows, whatever the
-- session version.  Returns the previous setting (NULL when the setting
-- does not exist).
CREATE FUNCTION staging._read_every_version() RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    previous text := pg_catalog.current_setting('staging.version', true);
BEGIN
    IF previous IS NOT NULL THEN
        PERFORM pg_catalog.set_config('staging.version', 'all', true);
    END IF;
    RETURN previous;
END
$$;
COMMENT ON FUNCTION staging._read_every_version() IS
    'Makes this transaction read every version; returns the previous staging.version.';

CREATE FUNCTION staging._restore_version(previous text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF previous IS NOT NULL THEN
        PERFORM pg_catalog.set_config('staging.version', previous, true);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._restore_version(text) IS
    'Restores the staging.version saved by _read_every_version().';

-- Refuse what cannot be versioned, with the reason: anything but an
-- ordinary permanent table, and tables the caller does not own.
CREATE FUNCTION staging._check_table(tbl regclass, action text) RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
BEGIN
    SELECT relkind, relpersistence, relispartition, relowner INTO c
      FROM pg_catalog.pg_class WHERE oid = tbl;
    IF c.relkind IN ('v', 'm') THEN
        RAISE EXCEPTION 'cannot % %: it is a view', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Version the tables the view reads.';
    ELSIF c.relkind = 'f' THEN
        RAISE EXCEPTION 'cannot % %: it is a foreign table', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only local tables can be versioned.';
    ELSIF c.relkind = 'p' OR c.relispartition THEN
        RAISE EXCEPTION 'cannot % %: partitioned tables and partitions are not supported', action, tbl
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF c.relkind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION 'cannot % %: it is not a table', action, tbl
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot % %: it is a temporary table', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Versioned tables must outlive the session; use a permanent table.';
    ELSIF NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to % it', tbl, action
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Versioning changes the table''s definition: run it as the table''s owner.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._check_table(regclass, text) IS
    'Raises the reason why a relation cannot be versioned by the caller, if any.';

-- The clauses that follow the referenced columns of a foreign key: its
-- match type, actions and deferrability, to recreate it elsewhere.
CREATE FUNCTION staging._foreign_key_actions(con oid) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE c.confmatchtype WHEN 'f' THEN ' MATCH FULL' ELSE '' END
    || ' ON UPDATE ' || a.upd || ' ON DELETE ' || a.del
    || coalesce((SELECT ' (' || pg_catalog.string_agg(pg_catalog.quote_ident(t.attname), ', ' ORDER BY k.i) || ')'
                   FROM pg_catalog.unnest(c.confdelsetcols) WITH ORDINALITY k(attnum, i)
                   JOIN pg_catalog.pg_attribute t ON t.attrelid = c.conrelid AND t.attnum = k.attnum), '')
    || CASE WHEN c.condeferrable THEN ' DEFERRABLE' ELSE '' END
    || CASE WHEN c.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END
    || CASE WHEN c.convalidated THEN '' ELSE ' NOT VALID' END
  FROM pg_catalog.pg_constraint c,
       LATERAL (SELECT CASE c.confupdtype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS upd,
                       CASE c.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
                           WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS del) a
 WHERE c.oid = con
$$;
COMMENT ON FUNCTION staging._foreign_key_actions(oid) IS
    'The MATCH, ON UPDATE/DELETE and DEFERRABLE clauses of a foreign key.';

-- Point a single-column foreign key at another table's column, keeping
-- its name, column, and actions unless new ones are given.  The
-- referencing table is not read again when the old referenced column's
-- values are all in the new one (see src/versioning.c).
CREATE FUNCTION staging._move_foreign_key(con oid, target regclass, target_column name,
                                          actions text DEFAULT NULL)
    RETURNS void
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_move_foreign_key';
COMMENT ON FUNCTION staging._move_foreign_key(oid, regclass, name, text) IS
    'Makes a single-column foreign key reference another table, validating it by the referenced tables when possible.';

-- Drop the unique constraints and unique indexes of a table that contain
-- a column, returning the statements that recreate them (by the column
-- names of now).  Used while rows are copied or renumbered.
CREATE FUNCTION staging._drop_unique_keys(tbl regclass, attnum smallint) RETURNS text[]
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    statements text[] := '{}';
BEGIN
    FOR k IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, c.conname,
               pg_catalog.pg_get_constraintdef(c.oid) AS condef,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS indexdef
          FROM pg_catalog.pg_index i
          LEFT JOIN pg_catalog.pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = tbl
                                              AND c.contype IN ('p', 'u')
         WHERE i.indrelid = tbl AND i.indisunique AND attnum = ANY (i.indkey)
    LOOP
        IF k.conname IS NOT NULL THEN
            statements := statements || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                                          tbl, k.conname, k.condef);
            EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
        ELSE
            statements := statements || k.indexdef;
            EXECUTE pg_catalog.format('DROP INDEX %s', k.idx);
        END IF;
    END LOOP;
    RETURN statements;
END
$$;
COMMENT ON FUNCTION staging._drop_unique_keys(regclass, smallint) IS
    'Drops the unique keys containing a column; returns the statements that recreate them.';

-- Can an integer column of this type hold every value in [lo, hi]?
-- (NULL bounds: no values, so yes.)  Attribute tables keep the type of
-- their link column, which may be narrower than the main table's row_id.
CREATE FUNCTION staging._integer_fits(type regtype, lo bigint, hi bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE type
       WHEN 'smallint'::regtype THEN coalesce(lo >= -32768 AND hi <= 32767, true)
       WHEN 'integer'::regtype THEN coalesce(lo >= -2147483648 AND hi <= 2147483647, true)
       ELSE true END
$$;
COMMENT ON FUNCTION staging._integer_fits(regtype, bigint, bigint) IS
    'True when an integer column of the type can hold every value from lo to hi.';

-- Widen an integer column to bigint (one rewrite) when it cannot hold
-- every value in [lo, hi], with a NOTICE; otherwise do nothing.
CREATE FUNCTION staging._widen_to_fit(tbl regclass, col name, lo bigint, hi bigint) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    type regtype := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped);
BEGIN
    IF NOT staging._integer_fits(type, lo, hi) THEN
        RAISE NOTICE 'column % of % is widened from % to bigint: it must hold values up to %',
                     pg_catalog.quote_ident(col), tbl, type, GREATEST(-lo, hi);
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', tbl, col);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._widen_to_fit(regclass, name, bigint, bigint) IS
    'Widens an integer column to bigint when it cannot hold the values from lo to hi.';

-- The default of main tables' entity column: claims the next entity id
-- in the sequence table.  An id taken by an explicit insert is skipped,
-- and concurrent callers never get the same id.
CREATE FUNCTION staging._next_entity_id(sequence_table regclass) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM staging.versioned_table v WHERE v.sequence_table = $1) THEN
        RAISE EXCEPTION '% is not the sequence table of a versioned table', $1
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    LOOP
        EXECUTE pg_catalog.format('INSERT INTO %s DEFAULT VALUES ON CONFLICT DO NOTHING RETURNING sequence_value', $1)
            INTO id;
        IF id IS NOT NULL THEN
            RETURN id;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._next_entity_id(regclass) IS
    'Default of a versioned table''s entity column: the next free id of its sequence table.';

-- Trigger on main tables: an explicit new entity id is added to the
-- sequence table (an id already there is left alone).
CREATE FUNCTION staging._register_entity() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seq regclass;
    col name;
    id bigint;
BEGIN
    SELECT v.sequence_table, v.entity_column INTO seq, col
      FROM staging.versioned_table v WHERE v.relid = TG_RELID;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    EXECUTE pg_catalog.format('SELECT ($1).%I', col) INTO id USING NEW;
    IF id IS NOT NULL THEN
        EXECUTE pg_catalog.format('INSERT INTO %s (sequence_value) VALUES ($1) ON CONFLICT DO NOTHING', seq)
            USING id;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION staging._register_entity() IS
    'Trigger: adds explicit new entity ids of a versioned table to its sequence table.';

-- The key of the exclusion constraint of a versioned table: the versions
-- [created_in, updated_in) of an entity as a vertical segment at x =
-- entity, so that two rows overlap exactly when they are of the same entity
-- and their versions overlap.  Entity ids must be exact as float8 (below
-- 2^53).
CREATE FUNCTION staging._version_box(entity bigint, created_in bigint, updated_in bigint)
    RETURNS box
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_box';
COMMENT ON FUNCTION staging._version_box(bigint, bigint, bigint) IS
    'Exclusion key of a versioned table: box(point(entity, created_in), point(entity, updated_in - 0.5)).';

-- Turn a table into a versioned one (see README "Versioned tables").
CREATE FUNCTION staging.enable_versioning(tbl regclass, entity_column name DEFAULT 'entity_id')
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    rel name;
    ent record;
    key record;
    k record;
    seq_name name;
    seq regclass;
    prefix text;
    start_id bigint;
    serial_seq text;
    last_id bigint;
    saved jsonb;
    uniques jsonb := '[]';
BEGIN
    PERFORM staging._check_table(tbl, 'version');
    IF EXISTS (SELECT FROM staging.versioned_table WHERE relid = tbl) THEN
        RAISE EXCEPTION 'table % is already versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM staging.attribute_table WHERE relid = tbl) THEN
        RAISE EXCEPTION 'table % is an attribute table of a versioned table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    -- the entity column: an integer with a single-column unique key
    SELECT a.attnum, a.atttypid::pg_catalog.regtype AS type, a.attidentity,
           pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expr INTO ent
      FROM pg_catalog.pg_attribute a
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = tbl AND a.attname = entity_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % has no column %', tbl, pg_catalog.quote_ident(entity_column)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the column that identifies the entity: staging.enable_versioning(table, entity_column).';
    END IF;
    IF ent.type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
        RAISE EXCEPTION 'entity column % of table % is of type %, not an integer',
                        pg_catalog.quote_ident(entity_column), tbl, ent.type
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Entity ids are integers (smallint, integer or bigint).';
    END IF;
    SELECT a.attname INTO k FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attname IN ('row_id', 'created_in', 'updated_in') AND NOT a.attisdropped;
    IF FOUND THEN
        RAISE EXCEPTION 'table % already has a column %', tbl, k.attname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Versioning adds the columns row_id, created_in and updated_in; rename that column first.';
    END IF;
    SELECT c.conname, c.contype INTO key
      FROM pg_catalog.pg_constraint c
     WHERE c.conrelid = tbl AND c.contype IN ('p', 'u') AND c.conkey = ARRAY[ent.attnum]
     ORDER BY c.contype = 'p' DESC LIMIT 1;
    IF NOT FOUND THEN
        SELECT c.conname INTO k FROM pg_catalog.pg_constraint c
         WHERE c.conrelid = tbl AND c.contype IN ('p', 'u') AND ent.attnum = ANY (c.conkey);
        IF FOUND THEN
            RAISE EXCEPTION 'entity column % of table % is only part of the composite key %',
                            pg_catalog.quote_ident(entity_column), tbl, pg_catalog.quote_ident(k.conname)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'The entity column must identify a row by itself: add a UNIQUE constraint on it alone.';
        END IF;
        RAISE EXCEPTION 'entity column % of table % has no unique key',
                        pg_catalog.quote_ident(entity_column), tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Add a PRIMARY KEY or UNIQUE constraint on the entity column.';
    END IF;
    SELECT c.conname, c.conrelid::pg_catalog.regclass AS referencing INTO k
      FROM pg_catalog.pg_constraint c
     WHERE c.contype = 'f' AND c.confrelid = tbl AND c.confkey <> ARRAY[ent.attnum];
    IF FOUND THEN
        RAISE EXCEPTION 'foreign key % of table % references other columns of % than its entity column',
                        pg_catalog.quote_ident(k.conname), k.referencing, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only references to the entity column can follow the entity; drop or change that foreign key first.';
    END IF;
    FOR k IN SELECT DISTINCT c.conrelid::pg_catalog.regclass AS referencing, r.relowner
               FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
              WHERE c.contype = 'f' AND c.confrelid = tbl
    LOOP
        IF NOT pg_catalog.pg_has_role(k.relowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to version %: its foreign key to % changes', k.referencing, tbl, tbl
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    seq_name := 'sequence_' || rel;
    IF pg_catalog.octet_length(seq_name) > 63 THEN
        RAISE EXCEPTION 'the name of the sequence table of % would be longer than 63 bytes', tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Rename the table to a shorter name first.';
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = nsp AND c.relname = seq_name) THEN
        RAISE EXCEPTION 'cannot create the sequence table %.% of %: a relation of that name exists',
                        pg_catalog.quote_ident(nsp), pg_catalog.quote_ident(seq_name), tbl
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Rename or drop that relation first.';
    END IF;

    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    IF key.contype = 'u' THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE %I IS NULL)', tbl, entity_column) INTO k;
        IF k.exists THEN
            RAISE EXCEPTION 'table % has rows without an entity id in %', tbl, pg_catalog.quote_ident(entity_column)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give every row an entity id first.';
        END IF;
    END IF;

    -- The sequence table holds every entity id; new ids follow the
    -- greatest one ever handed out.
    EXECUTE pg_catalog.format('SELECT max(%I) FROM %s', entity_column, tbl) INTO start_id;
    serial_seq := pg_catalog.pg_get_serial_sequence(tbl::text, entity_column);
    IF serial_seq IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT CASE WHEN is_called THEN last_value END FROM %s', serial_seq)
            INTO last_id;
    END IF;
    start_id := GREATEST(coalesce(start_id, 0), coalesce(last_id, 0)) + 1;
    EXECUTE pg_catalog.format('CREATE TABLE %I.%I (sequence_value %s NOT NULL GENERATED BY DEFAULT AS IDENTITY (START WITH %s))',
                              nsp, seq_name, ent.type, start_id);
    seq := pg_catalog.format('%I.%I', nsp, seq_name)::regclass;
    EXECUTE pg_catalog.format('INSERT INTO %s (sequence_value) SELECT %I FROM %s', seq, entity_column, tbl);
    prefix := pg_catalog.left(rel, 40);
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (sequence_value)', seq, seq_name || '_pkey');
    EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', seq,
                              pg_catalog.format('Every entity id of %s (staging sequence table).', tbl));

    -- Relations by entity, not by version: foreign keys to the entity
    -- column now reference the sequence table.
    FOR k IN SELECT c.oid FROM pg_catalog.pg_constraint c
              WHERE c.contype = 'f' AND c.confrelid = tbl AND c.conparentid = 0
    LOOP
        PERFORM staging._move_foreign_key(k.oid, seq, 'sequence_value');
    END LOOP;

    -- Every other unique key would refuse a second version of a row: it
    -- becomes a plain index of the same name (restored on disable).
    FOR k IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, c.relname AS index_name, con.conname, con.contype,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS indexdef
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = tbl
                                                AND con.contype IN ('p', 'u')
         WHERE i.indrelid = tbl AND i.indisunique AND con.conname IS DISTINCT FROM key.conname
    LOOP
        IF k.conname IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
        ELSE
            EXECUTE pg_catalog.format('DROP INDEX %s', k.idx);
        END IF;
        EXECUTE pg_catalog.regexp_replace(k.indexdef, '^CREATE UNIQUE INDEX', 'CREATE INDEX');
        uniques := uniques || pg_catalog.jsonb_build_object('index', k.index_name, 'constraint', k.conname,
                                                            'type', k.contype);
        RAISE NOTICE 'unique key % of % becomes a plain index while the table is versioned',
                     pg_catalog.quote_ident(k.index_name), tbl;
    END LOOP;

    -- The new columns: existing rows are version [1, max), row_id =
    -- entity id (so attribute tables need not be rewritten).  One rewrite.
    IF ent.attidentity <> '' THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', tbl, entity_column);
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN row_id bigint, '
                              'ADD COLUMN created_in bigint NOT NULL DEFAULT 1, '
                              'ADD COLUMN updated_in bigint NOT NULL DEFAULT 9223372036854775807', tbl);
    EXECUTE pg_catalog.format(
        'ALTER TABLE %1$s DROP CONSTRAINT %2$I, '
        'ALTER COLUMN row_id TYPE bigint USING %3$I::bigint, '
        'ALTER COLUMN %3$I SET NOT NULL, '
        'ALTER COLUMN %3$I SET DEFAULT staging._next_entity_id(%4$L::regclass), '
        'ALTER COLUMN created_in SET DEFAULT staging.live_version(), '
        'ALTER COLUMN updated_in SET DEFAULT staging.max_version(), '
        'ADD CONSTRAINT %6$I PRIMARY KEY (row_id), '
        'ADD CONSTRAINT %7$I CHECK (created_in < updated_in), '
        'ADD CONSTRAINT %8$I EXCLUDE USING gist ('
        '    staging._version_box(%3$I, created_in, updated_in) WITH OPERATOR(pg_catalog.&&)'
        ') DEFERRABLE INITIALLY IMMEDIATE, '
        'ADD CONSTRAINT %9$I FOREIGN KEY (%3$I) REFERENCES %4$s (sequence_value) ON DELETE CASCADE',
        tbl, key.conname, entity_column, seq::text, NULL,
        prefix || '_row_id_pkey', prefix || '_versions_check', prefix || '_versions_excl',
        prefix || '_' || pg_catalog.left(entity_column, 10) || '_fkey');
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN row_id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH %s)',
                              tbl, start_id);
    -- Two indexes besides the primary key and the exclusion constraint's:
    -- lookups by entity (with several versions per entity the filter's
    -- updated_in bound narrows them to the visible row), and version
    -- ranges for advance, reschedule and changelogs (see _created_between).
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (%I, updated_in)',
                              prefix || '_' || pg_catalog.left(entity_column, 12) || '_idx', tbl, entity_column);
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (updated_in, created_in)', prefix || '_versions_idx', tbl);
    EXECUTE pg_catalog.format('CREATE TRIGGER staging_register_entity BEFORE INSERT OR UPDATE OF %I ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION staging._register_entity()', entity_column, tbl);

    -- Registered last: until here the table was an ordinary one.
    saved := pg_catalog.jsonb_build_object(
        'key', key.conname, 'key_type', key.contype,
        'entity_default', CASE WHEN ent.attidentity = '' THEN ent.default_expr END,
        'entity_identity', nullif(ent.attidentity::text, ''),
        'uniques', uniques,
        'indexes', pg_catalog.jsonb_build_array(prefix || '_' || pg_catalog.left(entity_column, 12) || '_idx',
                                               prefix || '_versions_idx'));
    INSERT INTO staging.versioned_table (relid, entity_column, sequence_table, saved)
    VALUES (tbl, entity_column, seq, saved);
    -- Writes follow the session version from now on.
    PERFORM staging._enable_versioned_writes(tbl);
END
$$;
COMMENT ON FUNCTION staging.enable_versioning(regclass, name) IS
    'Turns a table, data included, into a versioned table (row_id, created_in, updated_in, sequence table).';

-- Link an attribute table to its versioned main table by row_id.
CREATE FUNCTION staging.add_attribute_table(attribute_table regclass, main_table regclass)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    fk record;
    k record;
    n int;
    versions boolean;
    previous text;
    keys text[];
    statement text;
    copied text;
    source text;
    actions text;
    fk_name name;
BEGIN
    PERFORM staging._check_table(attribute_table, 'link');
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = main_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not versioned', main_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Call staging.enable_versioning(%L) first.', main_table);
    END IF;
    IF EXISTS (SELECT FROM staging.versioned_table v WHERE v.relid = attribute_table) THEN
        RAISE EXCEPTION 'table % is a versioned main table, not an attribute table', attribute_table
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT a.main_table INTO k FROM staging.attribute_table a WHERE a.relid = attribute_table;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is already an attribute table of %', attribute_table, k.main_table
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- the foreign key to the entity (pointing at the sequence table
    -- since enable_versioning)
    SELECT pg_catalog.count(*) INTO n FROM pg_catalog.pg_constraint c
     WHERE c.contype = 'f' AND c.conrelid = attribute_table AND c.confrelid = reg.sequence_table;
    IF n = 0 THEN
        RAISE EXCEPTION 'table % has no foreign key to the entity column of %', attribute_table, main_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('An attribute table refers to its entity with FOREIGN KEY (...) REFERENCES %s (%I).',
                                           main_table, reg.entity_column);
    ELSIF n > 1 THEN
        RAISE EXCEPTION 'table % has % foreign keys to the entity column of %', attribute_table, n, main_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A table that refers to several entities is a relation table, not an attribute table: leave it as it is.';
    END IF;
    SELECT c.oid, c.conname, a.attname, a.attnum, a.atttypid::pg_catalog.regtype AS type INTO fk
      FROM pg_catalog.pg_constraint c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.conrelid = attribute_table AND c.confrelid = reg.sequence_table;
    IF fk.attname <> 'row_id' AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                           WHERE a.attrelid = attribute_table AND a.attname = 'row_id'
                                             AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column row_id', attribute_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Its entity column becomes row_id; rename that column first.';
    END IF;

    EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', main_table);
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', attribute_table);
    previous := staging._read_every_version();
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE row_id <> %I)', main_table, reg.entity_column)
        INTO versions;

    actions := staging._foreign_key_actions(fk.oid);
    fk_name := pg_catalog.left((SELECT relname FROM pg_catalog.pg_class WHERE oid = attribute_table), 48) || '_row_id_fkey';
    IF fk.attname <> 'row_id' THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s RENAME COLUMN %I TO row_id', attribute_table, fk.attname);
    END IF;
    IF NOT versions THEN
        -- one row per entity and row_id = entity id: the same values, so
        -- the foreign key moves without reading the attribute rows
        PERFORM staging._move_foreign_key(fk.oid, main_table, 'row_id', ' ON DELETE CASCADE');
        IF fk.conname <> fk_name THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', attribute_table, fk.conname, fk_name);
        END IF;
    ELSE
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', attribute_table, fk.conname);
        -- Each version row gets its own copy of its entity's attribute
        -- rows: the first version row keeps the rows, the others get
        -- copies (identity and serial columns take new values).
        keys := staging._drop_unique_keys(attribute_table, fk.attnum);
        -- the copies link to every version row: their row_ids must fit
        EXECUTE pg_catalog.format('SELECT min(row_id), max(row_id) FROM %s', main_table) INTO k;
        PERFORM staging._widen_to_fit(attribute_table, 'row_id', k.min, k.max);
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
               pg_catalog.string_agg('a.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          INTO copied, source
          FROM pg_catalog.pg_attribute a
          LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = attribute_table AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attnum <> fk.attnum AND a.attgenerated = '' AND a.attidentity = ''
           AND coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') NOT LIKE 'nextval(%';
        EXECUTE pg_catalog.format(
            'WITH firsts AS (SELECT %2$I AS entity, min(row_id) AS first FROM %1$s GROUP BY %2$I), '
            'moved AS (UPDATE %3$s a SET row_id = f.first FROM firsts f '
            '           WHERE f.entity = a.row_id AND f.first <> a.row_id) '
            'INSERT INTO %3$s (%4$s row_id) '
            'SELECT %5$s m.row_id FROM %3$s a JOIN %1$s m ON m.%2$I = a.row_id '
            '  JOIN firsts f ON f.entity = m.%2$I WHERE m.row_id <> f.first',
            main_table, reg.entity_column, attribute_table,
            coalesce(copied || ',', ''), coalesce(source || ',', ''));
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (row_id) REFERENCES %s (row_id) ON DELETE CASCADE',
                                  attribute_table, fk_name, main_table);
    END IF;
    -- The column keeps its type (an integer one references the bigint
    -- row_id just as well), so the table is not rewritten.
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN row_id SET NOT NULL', attribute_table);
    FOREACH statement IN ARRAY coalesce(keys, '{}') LOOP
        EXECUTE statement;
    END LOOP;
    -- joins and cascades from the main table look rows up by row_id
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = attribute_table AND i.indkey[0] = fk.attnum) THEN
        EXECUTE pg_catalog.format('CREATE INDEX ON %s (row_id)', attribute_table);
    END IF;
    PERFORM staging._restore_version(previous);
    INSERT INTO staging.attribute_table (relid, main_table, entity_column, saved)
    VALUES (attribute_table, main_table, fk.attname,
            pg_catalog.jsonb_build_object('foreign_key', fk.conname,
                                          'actions', actions, 'type', fk.type));
    PERFORM staging._enable_versioned_writes(main_table);
END
$$;
COMMENT ON FUNCTION staging.add_attribute_table(regclass, regclass) IS
    'Links an attribute table to its versioned main table by row_id (each version row gets its own attribute rows).';

-- Back to a plain table holding the live version of each entity.
CREATE FUNCTION staging.disable_versioning(tbl regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    attr record;
    k record;
    live bigint := staging.live_version();
    ent record;
    keys text[];
    statement text;
    renumber boolean;
    u jsonb;
    attrs jsonb;
    last_id bigint;
    target_type regtype;
BEGIN
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = tbl;
    IF NOT FOUND THEN
        SELECT a.main_table INTO k FROM staging.attribute_table a WHERE a.relid = tbl;
        IF FOUND THEN
            RAISE EXCEPTION 'table % is an attribute table, not a versioned main table', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Call staging.disable_versioning(%L).', k.main_table);
        END IF;
        RAISE EXCEPTION 'table % is not versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- every table whose foreign keys change must be the caller's
    PERFORM staging._check_table(tbl, 'disable versioning of');
    FOR k IN SELECT r.oid::pg_catalog.regclass AS relid, r.relowner
               FROM pg_catalog.pg_class r
              WHERE r.oid IN (SELECT a.relid FROM staging.attribute_table a WHERE a.main_table = tbl
                              UNION
                              SELECT c.conrelid FROM pg_catalog.pg_constraint c
                               WHERE c.contype = 'f' AND c.confrelid = reg.sequence_table)
    LOOP
        IF NOT pg_catalog.pg_has_role(k.relowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to disable versioning of %: its foreign key to % changes',
                            k.relid, tbl, tbl
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    SELECT a.attnum, a.atttypid::pg_catalog.regtype AS type INTO ent
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = tbl AND a.attname = reg.entity_column;

    EXECUTE pg_catalog.format('LOCK TABLE %s, %s IN ACCESS EXCLUSIVE MODE', tbl, reg.sequence_table);
    -- the greatest id ever handed out: the sequence table's, or its identity's
    EXECUTE pg_catalog.format('SELECT GREATEST((SELECT max(sequence_value) FROM %s), '
                              '(SELECT CASE WHEN is_called THEN last_value END FROM %s))',
                              reg.sequence_table,
                              pg_catalog.pg_get_serial_sequence(reg.sequence_table::text, 'sequence_value'))
        INTO last_id;
    PERFORM staging._disable_versioned_writes(tbl);
    -- Unregistered first: from here on these are plain tables, read and
    -- written without version filter.
    WITH gone AS (DELETE FROM staging.attribute_table a WHERE a.main_table = tbl
                  RETURNING a.relid::text AS relid, a.entity_column, a.saved)
    SELECT coalesce(pg_catalog.jsonb_agg(gone), '[]') INTO attrs FROM gone;
    DELETE FROM staging.versioned_table v WHERE v.relid = tbl;
    EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS staging_register_entity ON %s', tbl);

    -- Entities not live disappear (relation tables follow their foreign
    -- keys' ON DELETE), then the versions other than the live one.
    EXECUTE pg_catalog.format('DELETE FROM %1$s s WHERE NOT EXISTS (SELECT FROM %2$s m WHERE m.%3$I = s.sequence_value '
                              'AND m.created_in <= $1 AND m.updated_in > $1)',
                              reg.sequence_table, tbl, reg.entity_column) USING live;
    EXECUTE pg_catalog.format('DELETE FROM %s WHERE NOT (created_in <= $1 AND updated_in > $1)', tbl) USING live;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE row_id <> %I)', tbl, reg.entity_column)
        INTO renumber;

    -- Attribute tables link by entity again.
    FOR attr IN SELECT d.*, a.attnum, c.conname
                  FROM pg_catalog.jsonb_to_recordset(attrs) AS d(relid regclass, entity_column name, saved jsonb)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.relid AND a.attname = 'row_id'
                  LEFT JOIN pg_catalog.pg_constraint c ON c.conrelid = d.relid AND c.contype = 'f'
                                                      AND c.confrelid = tbl AND c.conkey = ARRAY[a.attnum]
    LOOP
        EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', attr.relid);
        IF attr.conname IS NOT NULL THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', attr.relid, attr.conname);
        END IF;
        IF attr.entity_column <> 'row_id' THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s RENAME COLUMN row_id TO %I', attr.relid, attr.entity_column);
        END IF;
        keys := NULL;
        IF renumber THEN
            keys := staging._drop_unique_keys(attr.relid, attr.attnum);
            EXECUTE pg_catalog.format('SELECT min(%1$I), max(%1$I) FROM %2$s', reg.entity_column, tbl) INTO k;
            PERFORM staging._widen_to_fit(attr.relid, attr.entity_column, k.min, k.max);
            EXECUTE pg_catalog.format('UPDATE %1$s a SET %2$I = m.%3$I FROM %4$s m '
                                      'WHERE m.row_id = a.%2$I AND m.row_id <> m.%3$I',
                                      attr.relid, attr.entity_column, reg.entity_column, tbl);
        END IF;
        -- The column's type from before add_attribute_table (it was widened
        -- since, by its owner or above), when its entity ids fit.
        target_type := coalesce(attr.saved->>'type', ent.type::text)::pg_catalog.regtype;
        IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = attr.relid AND a.attnum = attr.attnum) <> target_type THEN
            EXECUTE pg_catalog.format('SELECT min(%1$I), max(%1$I) FROM %2$s', attr.entity_column, attr.relid) INTO k;
            IF staging._integer_fits(target_type, k.min, k.max) THEN
                EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s',
                                          attr.relid, attr.entity_column, target_type);
            ELSE
                RAISE NOTICE 'column % of % stays bigint: its entity ids do not fit %',
                             pg_catalog.quote_ident(attr.entity_column), attr.relid, target_type;
            END IF;
        END IF;
        FOREACH statement IN ARRAY coalesce(keys, '{}') LOOP
            EXECUTE statement;
        END LOOP;
    END LOOP;

    -- The main table: versioning objects go, the saved keys come back.
    FOR k IN SELECT c.conname FROM pg_catalog.pg_constraint c
              WHERE c.conrelid = tbl AND c.contype = 'f' AND c.confrelid = reg.sequence_table
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
    END LOOP;
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, reg.entity_column);
    FOR k IN SELECT pg_catalog.jsonb_array_elements_text(reg.saved->'indexes') AS name LOOP
        EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %I.%I',
                                  (SELECT n.nspname FROM pg_catalog.pg_class c
                                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl),
                                  k.name);
    END LOOP;
    FOR k IN SELECT c.conname FROM pg_catalog.pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'x' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
    END LOOP;
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN row_id, DROP COLUMN created_in, DROP COLUMN updated_in', tbl);
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s (%I)', tbl, reg.saved->>'key',
                              CASE reg.saved->>'key_type' WHEN 'u' THEN 'UNIQUE' ELSE 'PRIMARY KEY' END,
                              reg.entity_column);
    FOR u IN SELECT * FROM pg_catalog.jsonb_array_elements(reg.saved->'uniques') LOOP
        SELECT i.indexrelid::pg_catalog.regclass AS idx, pg_catalog.pg_get_indexdef(i.indexrelid) AS def INTO k
          FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = tbl AND c.relname = u->>'index';
        IF FOUND THEN
            EXECUTE pg_catalog.format('DROP INDEX %s', k.idx);
            EXECUTE pg_catalog.regexp_replace(k.def, '^CREATE INDEX', 'CREATE UNIQUE INDEX');
            IF u->>'constraint' IS NOT NULL THEN
                EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I', tbl, u->>'constraint',
                                          CASE u->>'type' WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                                          u->>'index');
            END IF;
        END IF;
    END LOOP;
    -- New ids continue after every id handed out while versioned.
    IF reg.saved->>'entity_identity' IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (START WITH %s)',
                                  tbl, reg.entity_column,
                                  CASE reg.saved->>'entity_identity' WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
                                  coalesce(last_id, 0) + 1);
    ELSIF reg.saved->>'entity_default' IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s',
                                  tbl, reg.entity_column, reg.saved->>'entity_default');
        statement := pg_catalog.pg_get_serial_sequence(tbl::text, reg.entity_column);
        IF statement IS NOT NULL AND last_id IS NOT NULL THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.setval(%1$L, GREATEST(%2$s, (SELECT last_value FROM %1$s)))',
                                      statement, last_id);
        END IF;
    END IF;

    -- Relations by entity again, then the sequence table goes.
    FOR k IN SELECT c.oid FROM pg_catalog.pg_constraint c
              WHERE c.contype = 'f' AND c.confrelid = reg.sequence_table AND c.conparentid = 0
    LOOP
        PERFORM staging._move_foreign_key(k.oid, tbl, reg.entity_column);
    END LOOP;
    FOR attr IN SELECT * FROM pg_catalog.jsonb_to_recordset(attrs) AS d(relid regclass, entity_column name, saved jsonb) LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %s (%I)%s',
                                  attr.relid,
                                  coalesce(attr.saved->>'foreign_key',
                                           pg_catalog.left((SELECT relname FROM pg_catalog.pg_class WHERE oid = attr.relid), 40)
                                           || '_' || pg_catalog.left(attr.entity_column, 12) || '_fkey'),
                                  attr.entity_column, tbl, reg.entity_column,
                                  coalesce(attr.saved->>'actions', ' ON DELETE CASCADE'));
    END LOOP;
    EXECUTE pg_catalog.format('DROP TABLE %s', reg.sequence_table);
END
$$;
COMMENT ON FUNCTION staging.disable_versioning(regclass) IS
    'Turns a versioned table back into a plain table holding the live version of each entity.';

-- Row counts of a versioned table for the staging.versioned_tables view
-- (every version; NULL for tables the caller may not read).
CREATE FUNCTION staging._counts(tbl regclass, OUT entities bigint, OUT versions bigint)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    previous text;
BEGIN
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = tbl;
    IF NOT FOUND OR NOT pg_catalog.has_table_privilege(tbl, 'SELECT')
       OR NOT pg_catalog.has_table_privilege(reg.sequence_table, 'SELECT') THEN
        RETURN;
    END IF;
    previous := staging._read_every_version();
    EXECUTE pg_catalog.format('SELECT (SELECT pg_catalog.count(*) FROM %s), (SELECT pg_catalog.count(*) FROM %s)',
                              reg.sequence_table, tbl) INTO entities, versions;
    PERFORM staging._restore_version(previous);
END
$$;
COMMENT ON FUNCTION staging._counts(regclass) IS
    'Entities and rows (all versions) of a versioned table; NULL when the caller may not read it.';

CREATE VIEW staging.versioned_tables AS
SELECT v.relid AS table_name,
       v.entity_column,
       v.sequence_table,
       coalesce((SELECT pg_catalog.array_agg(a.relid ORDER BY a.relid::text)
                   FROM staging.attribute_table a WHERE a.main_table = v.relid),
                '{}') AS attribute_tables,
       c.entities,
       c.versions AS rows
  FROM staging.versioned_table v,
       LATERAL staging._counts(v.relid) c;
COMMENT ON VIEW staging.versioned_tables IS
    'Each versioned table: entity column, sequence table, attribute tables, entity and row counts.';

-- Check every invariant of a versioned table; no rows when all hold.
CREATE FUNCTION staging.verify(tbl regclass) RETURNS TABLE(entity_id bigint, problem text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    attr record;
    previous text;
BEGIN
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'staging.verify checks a versioned main table and its attribute tables.';
    END IF;
    previous := staging._read_every_version();
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'x') THEN
        RETURN QUERY SELECT NULL::bigint, 'no exclusion constraint keeps versions from overlapping'::text;
    END IF;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT %2$I::bigint, pg_catalog.format(''row_id %%s: created_in %%s is not before updated_in %%s'', row_id, created_in, updated_in) '
        '  FROM %1$s WHERE NOT (created_in < updated_in) '
        'UNION ALL '
        'SELECT a.%2$I::bigint, pg_catalog.format(''row_id %%s [%%s, %%s) overlaps row_id %%s [%%s, %%s)'', '
        '       a.row_id, a.created_in, a.updated_in, b.row_id, b.created_in, b.updated_in) '
        '  FROM %1$s a JOIN %1$s b ON b.%2$I = a.%2$I AND a.row_id < b.row_id '
        '   AND a.created_in < b.updated_in AND b.created_in < a.updated_in '
        'UNION ALL '
        'SELECT m.%2$I::bigint, pg_catalog.format(''entity is missing from the sequence table %%s'', %3$L) '
        '  FROM %1$s m WHERE NOT EXISTS (SELECT FROM %4$s s WHERE s.sequence_value = m.%2$I) '
        'ORDER BY 1, 2',
        tbl, reg.entity_column, reg.sequence_table::text, reg.sequence_table);
    FOR attr IN SELECT a.relid FROM staging.attribute_table a WHERE a.main_table = tbl ORDER BY a.relid::text LOOP
        RETURN QUERY EXECUTE pg_catalog.format(
            'SELECT NULL::bigint, pg_catalog.format(''%%s: %%s rows are attached to no row of %%s (row_id %%s)'', '
            '       %1$L, pg_catalog.count(*), %2$L, a.row_id) '
            '  FROM %1$s a WHERE NOT EXISTS (SELECT FROM %2$s m WHERE m.row_id = a.row_id) '
            ' GROUP BY a.row_id ORDER BY a.row_id',
            attr.relid, tbl);
    END LOOP;
    PERFORM staging._restore_version(previous);
END
$$;
COMMENT ON FUNCTION staging.verify(regclass) IS
    'Checks the invariants of a versioned table: no overlaps, created_in < updated_in, '
    'every entity in the sequence table, attribute rows attached.  No rows when all hold.';

-------------------------------------------------------------------------------
-- Reading: the session version
-------------------------------------------------------------------------------

-- The GUC staging.version ('live', 'all', a version number or a timestamp
-- with time zone) is defined by the library.  The planner adds
--   created_in <= staging._read_upper() AND updated_in > staging._read_lower()
-- to every scan of a versioned main table that has an index on (entity,
-- ..., created_in or updated_in), else staging._read_visible(created_in,
-- updated_in); the functions use the session version, resolved once per
-- execution (so cached plans follow later changes of the setting) after
-- checking that the session may read it.
CREATE FUNCTION staging._read_upper() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_upper';
COMMENT ON FUNCTION staging._read_upper() IS
    'Version filter: rows with created_in <= this value are visible (the session version, or the maximum for ''all'').';
CREATE FUNCTION staging._read_lower() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_lower';
COMMENT ON FUNCTION staging._read_lower() IS
    'Version filter: rows with updated_in > this value are visible (the session version, or the minimum for ''all'').';

CREATE FUNCTION staging._read_visible(created_in bigint, updated_in bigint) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_visible';
COMMENT ON FUNCTION staging._read_visible(bigint, bigint) IS
    'Version filter in one call: created_in <= _read_upper() AND updated_in > _read_lower().';

-- The same, for tables the current user owns (an owner can read every
-- version anyway, by unregistering the table): no privilege check.
CREATE FUNCTION staging._read_upper_owned() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_upper_owned';
COMMENT ON FUNCTION staging._read_upper_owned() IS
    '_read_upper() for a table the current user owns: no privilege check.';
CREATE FUNCTION staging._read_lower_owned() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_lower_owned';
COMMENT ON FUNCTION staging._read_lower_owned() IS
    '_read_lower() for a table the current user owns: no privilege check.';
CREATE FUNCTION staging._read_visible_owned(created_in bigint, updated_in bigint) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_visible_owned';
COMMENT ON FUNCTION staging._read_visible_owned(bigint, bigint) IS
    '_read_visible() for a table the current user owns: no privilege check.';

CREATE FUNCTION staging.current_version() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_current_version';
COMMENT ON FUNCTION staging.current_version() IS
    'The version this session reads now (staging.version resolved; NULL for ''all'').';

-- Each backend caches the live version; any change of staging.live_state
-- (staging.advance, a restore, by hand) makes every backend re-read it.
CREATE FUNCTION staging._live_state_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_live_state_changed';
COMMENT ON FUNCTION staging._live_state_changed() IS
    'Trigger: tells every session that the live version changed.';
CREATE TRIGGER live_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staging.live_state
    FOR EACH STATEMENT EXECUTE FUNCTION staging._live_state_changed();

-- Previews.  The secret that signs preview tokens: readable only by the
-- extension's owner (row security without policies also keeps members of
-- pg_read_all_data out).  It is not dumped: a restored database gets a new
-- one, which invalidates tokens signed before, like a rotation.
CREATE TABLE staging.preview_secret (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    rotated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE staging.preview_secret ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE staging.preview_secret IS
    'The secret that signs preview tokens; readable only by the extension owner.';

CREATE FUNCTION staging._random_secret() RETURNS bytea
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_random_secret';
COMMENT ON FUNCTION staging._random_secret() IS
    'A new random preview secret (32 bytes from the strong random source).';
INSERT INTO staging.preview_secret (secret) VALUES (staging._random_secret());

CREATE FUNCTION staging.rotate_preview_secret() RETURNS timestamptz
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
INSERT INTO staging.preview_secret (singleton, secret, rotated_at)
VALUES (true, staging._random_secret(), pg_catalog.now())
ON CONFLICT (singleton) DO UPDATE
   SET secret = excluded.secret, rotated_at = excluded.rotated_at
RETURNING rotated_at
$$;
COMMENT ON FUNCTION staging.rotate_preview_secret() IS
    'Replaces the preview secret: every token signed before stops working.';

CREATE FUNCTION staging.sign_preview(version bigint, valid_for interval DEFAULT '1 hour')
    RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_sign_preview';
COMMENT ON FUNCTION staging.sign_preview(bigint, interval) IS
    'A token (HMAC-SHA256 signed) that lets any session read that version until now() + valid_for. '
    'Roles that may execute it may also read every version themselves.';

CREATE FUNCTION staging.preview(token text) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text) IS
    'Checks a preview token and lets this session read its version (like SET staging.version); returns the version.';
CREATE FUNCTION staging.preview(token text, is_local boolean) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text, boolean) IS
    'staging.preview(token) that, with is_local, lasts only until the end of the transaction (like SET LOCAL).';

-------------------------------------------------------------------------------
-- Updates (campaigns) and writing
-------------------------------------------------------------------------------

-- An update (campaign) starts at version id and, when temporary, ends at
-- version rollback_id.  Its changes are the version rows of versioned
-- tables that begin at id (and the rollback rows that begin at
-- rollback_id); no other bookkeeping is needed.  No two updates share a
-- start or end second, so a version point belongs to one update.
CREATE TABLE staging.updates (
    id          bigint PRIMARY KEY CHECK (id > 1),
    name        text NOT NULL,
    description text,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz,
    rollback_id bigint UNIQUE,
    CHECK (id = staging.to_version(start_time)),
    CHECK ((end_time IS NULL) = (rollback_id IS NULL)),
    CHECK (rollback_id = staging.to_version(end_time)),
    CHECK (rollback_id > id)
);
COMMENT ON TABLE staging.updates IS
    'Scheduled updates (campaigns): id is the version at which the update starts, '
    'rollback_id the version at which a temporary update ends.';
SELECT pg_catalog.pg_extension_config_dump('staging.updates', '');

-- The start and end versions of a schedule, checked: start in the future
-- (after now() and after the live version), end after start, and neither
-- taken by another update (except the one being rescheduled).
CREATE FUNCTION staging._schedule_versions(update_name text, start_time timestamptz,
        end_time timestamptz, except_id bigint, OUT start_version bigint,
        OUT end_version bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    live bigint := staging.live_version();
    other text;
BEGIN
    IF start_time IS NULL THEN
        RAISE EXCEPTION 'start time of update "%" must not be null', update_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    start_version := staging.to_version(start_time);
    end_version := staging.to_version(end_time);
    IF start_time <= now() OR start_version <= live THEN
        RAISE EXCEPTION 'start time % of update "%" is not in the future', start_time, update_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It must be after now() (%s) and after the live version %s (%s).',
                                  now(), live, staging.to_timestamp(live)),
                  HINT = 'Choose a later start time.';
    END IF;
    IF end_version <= start_version THEN
        RAISE EXCEPTION 'end time % of update "%" is not after its start time %',
                end_time, update_name, start_time
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose an end time at least one second after the start, or NULL for a permanent update.';
    END IF;
    SELECT u.name INTO other
      FROM staging.updates u
     WHERE u.id IS DISTINCT FROM except_id
       AND (u.id IN (start_version, end_version)
            OR u.rollback_id IN (start_version, end_version))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'update "%" already starts or ends at the second update "%" would start or end',
                other, update_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every update starts and ends at its own second: shift the time by a second.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._schedule_versions(text, timestamptz, timestamptz, bigint) IS
    'Checks a schedule and returns its start and end versions.';

CREATE FUNCTION staging.create_update(name text, start_time timestamptz,
        end_time timestamptz DEFAULT NULL, description text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    s bigint;
    e bigint;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'the name of an update must not be null'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Schedule changes and advance() take turns.
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    SELECT v.start_version, v.end_version INTO s, e
      FROM staging._schedule_versions(name, start_time, end_time, NULL) v;
    INSERT INTO staging.updates (id, name, description, start_time, end_time, rollback_id)
    VALUES (s, name, description, staging.to_timestamp(s), staging.to_timestamp(e), e);
    RETURN s;
END
$$;
COMMENT ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text) IS
    'Schedules an update (campaign) from start_time, until end_time when given; returns its id, the start version.';

-- The condition lo < created_in <= hi (lo, hi: SQL expressions such as
-- $1), written for the index on (updated_in, created_in) that versioned
-- tables have for version ranges: rows that last forever are one range of
-- it, the others end after lo.  Either way only rows of versions after lo
-- are read, never the whole table.
CREATE FUNCTION staging._created_between(lo text, hi text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT pg_catalog.format(
    '((updated_in = 9223372036854775807 AND created_in > %1$s AND created_in <= %2$s)'
    ' OR (updated_in > %1$s AND updated_in < 9223372036854775807'
    '     AND created_in > %1$s AND created_in <= %2$s))', lo, hi)
$$;
COMMENT ON FUNCTION staging._created_between(text, text) IS
    'SQL text of lo < created_in <= hi that the (updated_in, created_in) index of a versioned table answers.';

-- Move one version point of every versioned table from one version to
-- another: rows ending at "from" end at "to", rows starting at "from"
-- start at "to".  Refused (23P01) when an entity has another version
-- between the two, because the move would then cross it.  Uses the
-- (updated_in, created_in) index: the cost follows the rows moved.
CREATE FUNCTION staging._move_version(from_version bigint, to_version bigint)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    t record;
    entity bigint;
BEGIN
    IF from_version = to_version THEN
        RETURN;
    END IF;
    FOR t IN SELECT relid, entity_column FROM staging.versioned_table ORDER BY relid::oid LOOP
        EXECUTE format('SELECT %1$I FROM %2$s
                         WHERE (updated_in = $1 AND created_in >= $2)
                            OR (updated_in > $1 AND updated_in <= $2 AND created_in = $1) LIMIT 1',
                       t.entity_column, t.relid)
           INTO entity USING from_version, to_version;
        IF entity IS NOT NULL THEN
            RAISE EXCEPTION 'moving version % to % would cross another version of entity % of table %',
                    from_version, to_version, entity, t.relid
                USING ERRCODE = 'exclusion_violation',
                      HINT = 'Another update changes this entity in between; reschedule or delete that one first.';
        END IF;
        EXECUTE format('UPDATE %s
                           SET created_in = CASE WHEN created_in = $1 THEN $2 ELSE created_in END,
                               updated_in = CASE WHEN updated_in = $1 THEN $2 ELSE updated_in END
                         WHERE updated_in = $1 OR %s', t.relid, staging._created_between('$1 - 1', '$1'))
          USING from_version, to_version;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._move_version(bigint, bigint) IS
    'Moves the version rows starting or ending at one version to another, in every versioned table.';

-- A temporary update becomes permanent: its rollback rows go, and the rows
-- that ended at the end version last until the entity's next version.
CREATE FUNCTION staging._drop_rollback(end_version bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT relid, entity_column FROM staging.versioned_table ORDER BY relid::oid LOOP
        EXECUTE format('DELETE FROM %s WHERE %s', t.relid, staging._created_between('$1 - 1', '$1'))
          USING end_version;
        EXECUTE format('UPDATE %1$s r
                           SET updated_in = coalesce((SELECT min(n.created_in) FROM %1$s n
                                                       WHERE n.%2$I = r.%2$I AND n.created_in > $1),
                                                     staging.max_version())
                         WHERE r.updated_in = $1', t.relid, t.entity_column)
          USING end_version;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._drop_rollback(bigint) IS
    'Removes the rollback rows of an end version and closes the gap they leave.';

-- Copy a version row of a main table, with its attribute rows, as the
-- interval [created_in, updated_in); returns the copy's row_id.  Columns
-- filled by a sequence or identity (row_id, attribute value ids) get new
-- values.
CREATE FUNCTION staging._copy_version_row(tbl regclass, source_row_id bigint,
        new_created_in bigint, new_updated_in bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    cols text;
    a regclass;
    new_row_id bigint;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM staging._copied_columns(tbl)
     WHERE attname NOT IN ('row_id', 'created_in', 'updated_in');
    EXECUTE format('INSERT INTO %1$s (%2$s, created_in, updated_in)
                    SELECT %2$s, $2, $3 FROM %1$s WHERE row_id = $1 RETURNING row_id',
                   tbl, cols)
       INTO new_row_id USING source_row_id, new_created_in, new_updated_in;
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl ORDER BY relid::oid LOOP
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
          FROM staging._copied_columns(a) WHERE attname <> 'row_id';
        EXECUTE format('INSERT INTO %1$s (row_id%3$s) SELECT $2%3$s FROM %1$s WHERE row_id = $1',
                       a, cols, CASE WHEN cols IS NULL THEN '' ELSE ', ' || cols END)
          USING source_row_id, new_row_id;
    END LOOP;
    RETURN new_row_id;
END
$$;
COMMENT ON FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint) IS
    'Copies a version row and its attribute rows to a new interval; returns the new row_id.';

-- The columns a copy of a row carries over: not dropped, not generated,
-- not filled by a sequence or identity.
CREATE FUNCTION staging._copied_columns(tbl regclass)
    RETURNS TABLE (attnum smallint, attname name)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT a.attnum, a.attname
      FROM pg_catalog.pg_attribute a
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = '' AND a.attidentity = ''
       AND (d.adbin IS NULL
            OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) NOT LIKE 'nextval(%')
$$;
COMMENT ON FUNCTION staging._copied_columns(regclass) IS
    'The columns of a table that a copy of one of its rows takes over.';

-- A permanent update becomes temporary: from its end version on, each
-- entity it changed shows again what it showed just before the start.
CREATE FUNCTION staging._add_rollback(start_version bigint, end_version bigint)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    t record;
    r record;
BEGIN
    FOR t IN SELECT relid, entity_column FROM staging.versioned_table ORDER BY relid::oid LOOP
        -- For each entity the update touches: the row before its start
        -- (absent for an entity it inserts), and its own row (absent for
        -- an entity it deletes).
        FOR r IN EXECUTE format(
                'SELECT e.entity, b.row_id AS before_row, v.row_id AS own_row,
                        coalesce(v.updated_in,
                                 (SELECT min(n.created_in) FROM %1$s n
                                   WHERE n.%2$I = e.entity AND n.created_in > $1),
                                 staging.max_version()) AS next_version
                   FROM (SELECT DISTINCT %2$I AS entity FROM %1$s
                          WHERE updated_in = $1 OR %3$s) e
                   LEFT JOIN %1$s b ON b.%2$I = e.entity AND b.updated_in = $1
                   LEFT JOIN %1$s v ON v.%2$I = e.entity AND v.created_in = $1
                  ORDER BY e.entity', t.relid, t.entity_column, staging._created_between('$1 - 1', '$1'))
            USING start_version
        LOOP
            IF r.next_version <= end_version THEN
                RAISE EXCEPTION 'update % of entity % of table % would overlap the next version %',
                        start_version, r.entity, t.relid, r.next_version
                    USING ERRCODE = 'exclusion_violation',
                          HINT = 'Choose an end time before the next update of this entity.';
            END IF;
            IF r.own_row IS NOT NULL THEN
                EXECUTE format('UPDATE %s SET updated_in = $2 WHERE row_id = $1', t.relid)
                  USING r.own_row, end_version;
            END IF;
            IF r.before_row IS NOT NULL THEN
                PERFORM staging._copy_version_row(t.relid, r.before_row, end_version, r.next_version);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._add_rollback(bigint, bigint) IS
    'Adds rollback rows at the end version of an update that becomes temporary.';

CREATE FUNCTION staging.reschedule_update(id bigint, start_time timestamptz,
        end_time timestamptz DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    u staging.updates;
    live bigint;
    s bigint;
    e bigint;
BEGIN
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO u FROM staging.updates WHERE updates.id = reschedule_update.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'update % does not exist', reschedule_update.id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See the table staging.updates.';
    END IF;
    live := staging.live_version();
    IF u.id <= live THEN
        -- Already started: only the end can change, and not into the past.
        IF staging.to_version(start_time) IS DISTINCT FROM u.id THEN
            RAISE EXCEPTION 'update "%" already went live at %: only its end time can change',
                    u.name, u.start_time
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Pass its start time unchanged, with the new end time.';
        END IF;
        IF u.rollback_id <= live THEN
            RAISE EXCEPTION 'update "%" already ended at %', u.name, u.end_time
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Create a new update instead.';
        END IF;
        s := u.id;
        e := staging.to_version(end_time);
        IF end_time IS NOT NULL AND (end_time <= now() OR e <= live) THEN
            RAISE EXCEPTION 'end time % of update "%" is not in the future', end_time, u.name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Choose an end time after now() and after the live version.';
        END IF;
        IF EXISTS (SELECT FROM staging.updates o
                    WHERE o.id <> u.id AND e IN (o.id, o.rollback_id)) THEN
            RAISE EXCEPTION 'another update already starts or ends at %', end_time
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Every update starts and ends at its own second: shift the time by a second.';
        END IF;
    ELSE
        SELECT v.start_version, v.end_version INTO s, e
          FROM staging._schedule_versions(u.name, start_time, end_time, u.id) v;
    END IF;

    -- Move the points in an order in which no interval becomes empty on
    -- the way: the end first when moving later, the start first otherwise.
    IF u.rollback_id IS NOT NULL AND e IS NULL THEN
        PERFORM staging._drop_rollback(u.rollback_id);
        PERFORM staging._move_version(u.id, s);
    ELSIF u.rollback_id IS NULL AND e IS NOT NULL THEN
        PERFORM staging._move_version(u.id, s);
        PERFORM staging._add_rollback(s, e);
    ELSIF e IS NULL THEN
        PERFORM staging._move_version(u.id, s);
    ELSIF s > u.id THEN
        PERFORM staging._move_version(u.rollback_id, e);
        PERFORM staging._move_version(u.id, s);
    ELSE
        PERFORM staging._move_version(u.id, s);
        PERFORM staging._move_version(u.rollback_id, e);
    END IF;

    UPDATE staging.updates
       SET id = s, start_time = staging.to_timestamp(s),
           end_time = staging.to_timestamp(e), rollback_id = e
     WHERE updates.id = u.id;
    RETURN s;
END
$$;
COMMENT ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) IS
    'Moves an update and every change it makes to a new start (and end) time; '
    'once it went live only its end can change.  Returns the new id.';

CREATE FUNCTION staging.delete_update(id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    u staging.updates;
    t record;
BEGIN
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO u FROM staging.updates WHERE updates.id = delete_update.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'update % does not exist', delete_update.id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See the table staging.updates.';
    END IF;
    IF u.id <= staging.live_version() THEN
        RAISE EXCEPTION 'update "%" already went live at %: its changes are history',
                u.name, u.start_time
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'To end a running update, reschedule its end time instead.';
    END IF;
    -- Without its rollback rows the update is a permanent one; then its
    -- own rows go and each entity's previous row lasts until its next.
    IF u.rollback_id IS NOT NULL THEN
        PERFORM staging._drop_rollback(u.rollback_id);
    END IF;
    PERFORM staging._drop_rollback(u.id);
    DELETE FROM staging.updates WHERE updates.id = u.id;
END
$$;
COMMENT ON FUNCTION staging.delete_update(bigint) IS
    'Removes a future update and every change it makes.';

CREATE FUNCTION staging.advance(until timestamptz DEFAULT now()) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    old_live bigint;
    new_live bigint;
BEGIN
    IF until IS NULL THEN
        RAISE EXCEPTION 'advance() needs a point in time, not NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One advance at a time, and none while the schedule changes.  The
    -- EXCLUSIVE lock on live_state waits for writers of versioned tables
    -- that read the live version, and makes new ones wait for the result.
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE staging.live_state IN EXCLUSIVE MODE;
    old_live := staging.live_version();
    -- The newest start or end that is due: the versions are already in
    -- the tables, so going live only moves the live version.
    SELECT max(p.v) INTO new_live
      FROM (SELECT max(u.id) AS v FROM staging.updates u
             WHERE u.id > old_live AND u.id <= staging.to_version(until)
            UNION ALL
            SELECT max(u.rollback_id) FROM staging.updates u
             WHERE u.rollback_id > old_live AND u.rollback_id <= staging.to_version(until)) p;
    IF new_live IS NULL THEN
        RETURN old_live;
    END IF;
    UPDATE staging.live_state SET version = new_live;
    -- Tell the changelogs which versions went live, when they are installed.
    IF pg_catalog.to_regprocedure('staging._changelog_advance(bigint,bigint)') IS NOT NULL THEN
        EXECUTE 'SELECT staging._changelog_advance($1, $2)' USING old_live, new_live;
    END IF;
    RETURN new_live;
END
$$;
COMMENT ON FUNCTION staging.advance(timestamptz) IS
    'Makes every update starting (or ending) at or before until live; returns the new live version.';

-- Versioned writes: row triggers in C (src/writes.c) place every INSERT,
-- UPDATE and DELETE of a versioned table at the session version.
CREATE FUNCTION staging._main_write_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_main_write_before';
COMMENT ON FUNCTION staging._main_write_before() IS
    'Trigger: places a write of a versioned main table at the session version.';
CREATE FUNCTION staging._main_write_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_main_write_after';
COMMENT ON FUNCTION staging._main_write_after() IS
    'Trigger: keeps the history of a versioned write, adds rollback rows, merges edits into later versions.';
CREATE FUNCTION staging._attribute_write_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_attribute_write_before';
COMMENT ON FUNCTION staging._attribute_write_before() IS
    'Trigger: makes a write of an attribute table land in the version row of the session version.';
CREATE FUNCTION staging._attribute_write_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_attribute_write_after';
COMMENT ON FUNCTION staging._attribute_write_after() IS
    'Trigger: merges an edit of an attribute row into the matching attribute rows of later versions.';

-- Install the write triggers on a registered main table and its attribute
-- tables (again: CREATE OR REPLACE).  The AFTER DELETE trigger's name
-- sorts before the foreign keys' "RI_ConstraintTrigger_..." so that it
-- copies the attribute rows before the cascade removes them.
CREATE FUNCTION staging._enable_versioned_writes(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    a regclass;
BEGIN
    IF staging.versioned_kind(tbl) IS DISTINCT FROM 'main' THEN
        RAISE EXCEPTION 'table % is not a versioned main table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Use staging.enable_versioning() first.';
    END IF;
    EXECUTE format('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON %s
                    FOR EACH ROW EXECUTE FUNCTION staging._main_write_before()', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_after AFTER UPDATE ON %s
                    FOR EACH ROW WHEN (OLD.created_in <> NEW.created_in
                                       OR NEW.updated_in <> 9223372036854775807)
                    EXECUTE FUNCTION staging._main_write_after()', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER "A_staging_keep_history" AFTER DELETE ON %s
                    FOR EACH ROW EXECUTE FUNCTION staging._main_write_after()', tbl);
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH ROW EXECUTE FUNCTION staging._attribute_write_before()', a);
        EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_after AFTER UPDATE ON %s
                        FOR EACH ROW EXECUTE FUNCTION staging._attribute_write_after()', a);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._enable_versioned_writes(regclass) IS
    'Installs the versioned-write triggers on a main table and its attribute tables.';

-- The reverse, for disable_versioning: afterwards writes go to the rows
-- as given.
CREATE FUNCTION staging._disable_versioned_writes(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    a regclass;
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write_after ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS "A_staging_keep_history" ON %s', tbl);
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS staging_write ON %s', a);
        EXECUTE format('DROP TRIGGER IF EXISTS staging_write_after ON %s', a);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._disable_versioned_writes(regclass) IS
    'Removes the versioned-write triggers from a main table and its attribute tables.';

-------------------------------------------------------------------------------
-- Changelogs (for indexers)
-------------------------------------------------------------------------------

-- A changelog <name>_cl lists the entities that changed, for indexers.  Row
-- triggers written in C (src/changelog.c) log each entity at most once per
-- transaction and only when a subscribed column really changed.  Each row
-- carries the id of the transaction that wrote it (txid), so consumers read
-- batches bounded by two snapshots, as PgQ does: a change is delivered once
-- its transaction is visible in a batch's snapshot and was not in the
-- previous one, whatever order transactions commit in.

-- Registry: one row per changelog.
CREATE TABLE staging.changelog (
    name          text PRIMARY KEY
                  CHECK (name ~ '^[a-z_][a-z0-9_]*$' AND length(name) <= 50),
    main_table    regclass NOT NULL,
    entity_column name NOT NULL,
    log_table     regclass NOT NULL UNIQUE
);
COMMENT ON TABLE staging.changelog IS
    'Registry: each changelog, its main table, entity column and log table <name>_cl.';
SELECT pg_catalog.pg_extension_config_dump('staging.changelog', '');

-- Registry: the tables each changelog watches (regclass, kept by pg_dump).
CREATE TABLE staging.changelog_subscription (
    changelog text NOT NULL
              REFERENCES staging.changelog ON DELETE CASCADE ON UPDATE CASCADE,
    tbl       regclass NOT NULL,
    columns   name[],
    PRIMARY KEY (changelog, tbl)
);
COMMENT ON TABLE staging.changelog_subscription IS
    'Registry: each table a changelog watches, and the columns whose changes it logs (NULL: all).';
SELECT pg_catalog.pg_extension_config_dump('staging.changelog_subscription', '');

-- Consumers and their position.  Everything visible in "finished" is done;
-- the current window holds the changes visible in window_end and not in
-- finished, read in (txid, version_id) order; done_* is how far the
-- consumer got in it, batch_* the batch it was given and has not finished
-- (the first batch_rows rows of the window after done_*, up to
-- batch_end_*).  Snapshots hold transaction ids of this cluster, so
-- consumers are not dumped: after a restore elsewhere, add them again and
-- reindex in full.
CREATE TABLE staging.changelog_consumer (
    changelog      text NOT NULL
                   REFERENCES staging.changelog ON DELETE CASCADE ON UPDATE CASCADE,
    consumer       text NOT NULL CHECK (consumer <> ''),
    finished       pg_snapshot NOT NULL,
    window_end     pg_snapshot,
    done_txid      xid8,
    done_id        bigint,
    batch_id       bigint,
    batch_end_txid xid8,
    batch_end_id   bigint,
    batch_rows     int,
    PRIMARY KEY (changelog, consumer)
);
COMMENT ON TABLE staging.changelog_consumer IS
    'Registry: each consumer of a changelog and how far it got (snapshots bounding its batches).';

-- A role sees and moves only the consumers of changelogs it may read.
ALTER TABLE staging.changelog_consumer ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers_of_the_log ON staging.changelog_consumer
    USING (pg_catalog.has_table_privilege(
               (SELECT c.log_table FROM staging.changelog c WHERE c.name = changelog), 'SELECT'));
COMMENT ON POLICY readers_of_the_log ON staging.changelog_consumer IS
    'A role sees and moves only the consumers of the changelogs whose log table it may read.';

CREATE SEQUENCE staging.changelog_batch_seq;
COMMENT ON SEQUENCE staging.changelog_batch_seq IS
    'Batch ids handed out by staging.next_batch.';

CREATE FUNCTION staging._changelog_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_changelog_trigger';
COMMENT ON FUNCTION staging._changelog_trigger() IS
    'Row trigger of a changelog subscription (argument: the changelog name): logs the entity of each real change.';

-- The changelog's registry row, or a clear error.
CREATE FUNCTION staging._changelog(name text) RETURNS staging.changelog
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog;
BEGIN
    SELECT * INTO cl FROM staging.changelog c WHERE c.name = _changelog.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'changelog "%" does not exist', name
            USING ERRCODE = '22023',
                  HINT = 'Create it with staging.create_changelog(name, main_table); staging.changelog lists the existing ones.';
    END IF;
    RETURN cl;
END
$$;
COMMENT ON FUNCTION staging._changelog(text) IS
    'The registry row of a changelog; 22023 when there is none.';

-- Consumers of a changelog are the roles that may read its log table.
CREATE FUNCTION staging._changelog_check_reader(cl staging.changelog) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT has_table_privilege(cl.log_table, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for changelog "%"', cl.name
            USING ERRCODE = '42501',
                  HINT = format('Consumers need SELECT on %s: GRANT SELECT ON %s TO %I.',
                                cl.log_table, cl.log_table, current_user);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._changelog_check_reader(staging.changelog) IS
    'Raises 42501 unless the current role may read the changelog''s log table.';

-- First key of the advisory locks that keep prunes and new consumers apart
-- (the second is the log table's OID).
CREATE FUNCTION staging._changelog_lock_key() RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 1935767855;          -- 'stag' in ASCII
COMMENT ON FUNCTION staging._changelog_lock_key() IS
    'First key of the advisory locks between staging.prune_changelog and staging.add_consumer.';

-- Drops the triggers of one subscription, if they exist.
CREATE FUNCTION staging._changelog_drop_triggers(cl staging.changelog, tbl regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t name;
BEGIN
    FOR t IN SELECT tgname FROM pg_trigger
              WHERE tgrelid = tbl AND tgname IN (cl.name || '_cl', cl.name || '_cl_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t, tbl);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._changelog_drop_triggers(staging.changelog, regclass) IS
    'Drops the triggers <name>_cl and <name>_cl_truncate of one changelog subscription.';

-- TRUNCATE fires no row trigger: before it empties a watched table, log
-- every entity it holds (live rows only, for versioned tables).  It runs as
-- the extension's owner, like the row trigger writing as the log's owner.
CREATE FUNCTION staging._changelog_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(TG_ARGV[0]);
    tbl regclass := TG_RELID;
    main regclass;
    entity name;
    n bigint;
    previous_version text;
BEGIN
    -- The live rows, whatever version this session reads.
    previous_version := staging._read_every_version();
    CASE staging.versioned_kind(tbl)
    WHEN 'attribute' THEN
        SELECT a.main_table, v.entity_column INTO main, entity
          FROM staging.attribute_table a JOIN staging.versioned_table v ON v.relid = a.main_table
         WHERE a.relid = tbl;
        EXECUTE format('INSERT INTO %s (entity_id) SELECT DISTINCT m.%I FROM %s a JOIN %s m '
                       'ON m.row_id = a.row_id WHERE m.created_in <= $1 AND m.updated_in > $1',
                       cl.log_table, entity, tbl, main)
            USING staging.live_version();
    WHEN 'main' THEN
        EXECUTE format('INSERT INTO %s (entity_id) SELECT DISTINCT %I FROM %s '
                       'WHERE created_in <= $1 AND updated_in > $1',
                       cl.log_table, cl.entity_column, tbl)
            USING staging.live_version();
    ELSE
        EXECUTE format('INSERT INTO %s (entity_id) SELECT DISTINCT %I FROM %s WHERE %2$I IS NOT NULL',
                       cl.log_table, cl.entity_column, tbl);
    END CASE;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM staging._restore_version(previous_version);
    IF n > 0 THEN
        PERFORM pg_notify(cl.name || '_cl', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION staging._changelog_truncate() IS
    'Statement trigger BEFORE TRUNCATE of a changelog subscription: logs every entity of the table.';

-- (Re)creates the trigger of one subscription; the trigger is named after
-- the log table, so two changelogs on one table never collide.  It fires on
-- every UPDATE (no column list): which columns count, and how the table
-- leads to its entity, are read from the registries when it runs, so they
-- follow staging.subscribe and staging.enable_versioning.
CREATE FUNCTION staging._changelog_create_trigger(cl staging.changelog, tbl regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    trigger_name name := cl.name || '_cl';
BEGIN
    PERFORM staging._changelog_drop_triggers(cl, tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION staging._changelog_trigger(%L)',
                   trigger_name, tbl, cl.name);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION staging._changelog_truncate(%L)',
                   trigger_name || '_truncate', tbl, cl.name);
END
$$;
COMMENT ON FUNCTION staging._changelog_create_trigger(staging.changelog, regclass) IS
    'Creates (or replaces) the C row trigger of one changelog subscription.';

CREATE FUNCTION staging.subscribe(name text, tbl regclass, columns name[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    kind text := staging.versioned_kind(tbl);
    missing name;
    entity_type regtype;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF kind = 'attribute' THEN
        IF (SELECT main_table FROM staging.attribute_table WHERE relid = tbl) <> cl.main_table THEN
            RAISE EXCEPTION 'table % is an attribute table of %, not of %, the main table of changelog "%"',
                tbl, (SELECT main_table FROM staging.attribute_table WHERE relid = tbl), cl.main_table, name
                USING ERRCODE = '22023';
        END IF;
    ELSE
        SELECT atttypid INTO entity_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = cl.entity_column AND attnum > 0 AND NOT attisdropped;
        IF entity_type IS NULL THEN
            RAISE EXCEPTION 'table % has neither the entity column "%" nor a row_id link to %',
                tbl, cl.entity_column, cl.main_table
                USING ERRCODE = '22023',
                      HINT = 'Subscribe the main table, one of its attribute tables (staging.add_attribute_table) or a table with the entity column.';
        END IF;
        IF entity_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
            RAISE EXCEPTION 'entity column "%" of table % has type %, not an integer type', cl.entity_column, tbl, entity_type
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF columns IS NOT NULL THEN
        SELECT c INTO missing FROM unnest(columns) c
         WHERE NOT EXISTS (SELECT FROM pg_attribute a
                            WHERE a.attrelid = tbl AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column "%" of table % does not exist', missing, tbl
                USING ERRCODE = '42703';
        END IF;
        IF cardinality(columns) = 0 THEN
            RAISE EXCEPTION 'columns must list at least one column, or be NULL for all'
                USING ERRCODE = '22023';
        END IF;
    END IF;
    -- Subscribing again replaces the column list.
    INSERT INTO staging.changelog_subscription AS s (changelog, tbl, columns)
    VALUES (cl.name, tbl, columns)
    ON CONFLICT ON CONSTRAINT changelog_subscription_pkey
    DO UPDATE SET columns = excluded.columns;
    PERFORM staging._changelog_create_trigger(cl, tbl);
END
$$;
COMMENT ON FUNCTION staging.subscribe(text, regclass, name[]) IS
    'Logs the entities of real changes of a table''s columns (all when NULL) in a changelog; subscribing again replaces the columns.';

CREATE FUNCTION staging.unsubscribe(name text, tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
BEGIN
    DELETE FROM staging.changelog_subscription s WHERE s.changelog = cl.name AND s.tbl = unsubscribe.tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not subscribed to changelog "%"', tbl, name
            USING ERRCODE = '22023';
    END IF;
    PERFORM staging._changelog_drop_triggers(cl, tbl);
END
$$;
COMMENT ON FUNCTION staging.unsubscribe(text, regclass) IS
    'Stops logging the changes of a table in a changelog.';

CREATE FUNCTION staging.create_changelog(name text, main_table regclass) RETURNS regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    entity name;
    log_table regclass;
    schema name := (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                     WHERE c.oid = main_table);
BEGIN
    IF main_table IS NULL THEN
        RAISE EXCEPTION 'main_table must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF name IS NULL OR name !~ '^[a-z_][a-z0-9_]*$' OR length(name) > 50 THEN
        RAISE EXCEPTION 'invalid changelog name "%"', name
            USING ERRCODE = '22023',
                  HINT = 'Use at most 50 lower-case letters, digits and underscores: the log table is <name>_cl and NOTIFY uses that name.';
    END IF;
    IF EXISTS (SELECT FROM staging.changelog c WHERE c.name = create_changelog.name) THEN
        RAISE EXCEPTION 'changelog "%" already exists', name
            USING ERRCODE = '42710', HINT = 'Drop it with staging.drop_changelog first, or choose another name.';
    END IF;
    -- The entity column: the registered one of a versioned table, else the
    -- single-column primary key, else entity_id.
    entity := coalesce(
        (SELECT entity_column FROM staging.versioned_table WHERE relid = main_table),
        (SELECT a.attname FROM pg_index i JOIN pg_attribute a
                ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = main_table AND i.indisprimary AND i.indnatts = 1),
        'entity_id');
    EXECUTE format('CREATE TABLE %I.%I ('
                   'version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, '
                   'entity_id bigint NOT NULL, '
                   'txid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(), '
                   'changed_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
                   schema, name || '_cl');
    log_table := format('%I.%I', schema, name || '_cl')::regclass;
    EXECUTE format('CREATE INDEX ON %s (txid, version_id)', log_table);
    EXECUTE format('COMMENT ON TABLE %s IS %L', log_table,
                   format('Changelog "%s": entities of %s that changed (staging.next_batch reads it).', name, main_table));
    INSERT INTO staging.changelog VALUES (name, main_table, entity, log_table);
    PERFORM staging.subscribe(name, main_table);
    RETURN log_table;
END
$$;
COMMENT ON FUNCTION staging.create_changelog(text, regclass) IS
    'Creates the changelog <name>_cl in the main table''s schema and subscribes the main table.';

CREATE FUNCTION staging.drop_changelog(name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    s record;
BEGIN
    FOR s IN SELECT tbl FROM staging.changelog_subscription WHERE changelog = cl.name LOOP
        PERFORM staging.unsubscribe(cl.name, s.tbl);
    END LOOP;
    DELETE FROM staging.changelog c WHERE c.name = cl.name;
    EXECUTE format('DROP TABLE %s', cl.log_table);
END
$$;
COMMENT ON FUNCTION staging.drop_changelog(text) IS
    'Drops a changelog: its triggers, its log table and its consumers.';

CREATE FUNCTION staging.add_consumer(name text, consumer text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer name must not be empty' USING ERRCODE = '22023';
    END IF;
    PERFORM staging._changelog_check_reader(cl);
    -- The consumer starts at a snapshot taken after no prune runs any more
    -- (prunes skip the changelog while we hold this lock), so nothing it
    -- must receive was pruned for the other consumers' sake.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'staging.add_consumer must run at isolation level READ COMMITTED'
            USING ERRCODE = '25001';
    END IF;
    PERFORM pg_advisory_xact_lock_shared(staging._changelog_lock_key(), cl.log_table::oid::int);
    INSERT INTO staging.changelog_consumer (changelog, consumer, finished)
    VALUES (cl.name, consumer, pg_current_snapshot());
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'consumer "%" of changelog "%" already exists', consumer, name
        USING ERRCODE = '42710';
END
$$;
COMMENT ON FUNCTION staging.add_consumer(text, text) IS
    'Registers a consumer of a changelog: it receives the changes committed after this call (reindex in full once first).';

-- The consumer's row, locked, or a clear error.
CREATE FUNCTION staging._changelog_consumer(name text, consumer text)
    RETURNS staging.changelog_consumer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c staging.changelog_consumer;
BEGIN
    PERFORM staging._changelog_check_reader(staging._changelog(name));
    SELECT * INTO c FROM staging.changelog_consumer k
     WHERE k.changelog = name AND k.consumer = _changelog_consumer.consumer
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" of changelog "%" does not exist', consumer, name
            USING ERRCODE = '22023',
                  HINT = 'Register it with staging.add_consumer(changelog, consumer).';
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION staging._changelog_consumer(text, text) IS
    'The registry row of a consumer, locked for update; 22023 when there is none.';

CREATE FUNCTION staging.drop_consumer(name text, consumer text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM staging._changelog_consumer(name, consumer);
    DELETE FROM staging.changelog_consumer k WHERE k.changelog = name AND k.consumer = drop_consumer.consumer;
    PERFORM staging.prune_changelog(name);
END
$$;
COMMENT ON FUNCTION staging.drop_consumer(text, text) IS
    'Forgets a consumer; the changes only it had not finished are pruned.';

-- Removes the rows every consumer finished: those of transactions older
-- than every consumer's "finished" snapshot.  A plain DELETE of committed
-- rows takes no lock that writers wait for; concurrent pruners skip.  It
-- runs as the extension's owner: it only removes what nobody needs, so
-- consumers need no DELETE privilege on the log table.
CREATE FUNCTION staging.prune_changelog(name text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    horizon xid8;
    removed bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(staging._changelog_lock_key(), cl.log_table::oid::int) THEN
        RETURN 0;               -- being pruned, or a consumer is being added
    END IF;
    SELECT coalesce(min(pg_snapshot_xmin(finished)), pg_snapshot_xmin(pg_current_snapshot()))
      INTO horizon
      FROM staging.changelog_consumer WHERE changelog = cl.name;
    EXECUTE format('DELETE FROM %s WHERE txid < $1', cl.log_table) USING horizon;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION staging.prune_changelog(text) IS
    'Deletes the changelog rows every consumer finished (next_batch does it too); returns how many.';

CREATE FUNCTION staging.next_batch(name text, consumer text, max_entities int DEFAULT 1000)
    RETURNS TABLE(batch_id bigint, entity_id bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    c staging.changelog_consumer := staging._changelog_consumer(name, consumer);
    -- The rows of the window after a position, in order.
    window_rows constant text :=
        'SELECT txid, version_id, entity_id FROM %s '
        ' WHERE (txid, version_id) > ($1, $2) AND txid < pg_snapshot_xmax($3) '
        '   AND pg_visible_in_snapshot(txid, $3) AND NOT pg_visible_in_snapshot(txid, $4) '
        ' ORDER BY txid, version_id LIMIT $5';
    last_txid xid8;
    last_id bigint;
BEGIN
    IF max_entities IS NULL OR max_entities < 1 THEN
        RAISE EXCEPTION 'max_entities must be at least 1, not %', max_entities
            USING ERRCODE = '22023';
    END IF;
    -- A batch not finished is delivered again, as it was.
    IF c.batch_id IS NULL THEN
        FOR i IN 1..2 LOOP
            IF c.window_end IS NULL THEN
                -- Open a window: the changes committed since "finished".
                c.window_end := pg_current_snapshot();
                c.done_txid := pg_snapshot_xmin(c.finished);
                c.done_id := 0;
            END IF;
            EXECUTE format('SELECT txid, version_id, n FROM ('
                           '  SELECT txid, version_id, row_number() OVER (ORDER BY txid, version_id) AS n'
                           '    FROM (' || window_rows || ') w) l '
                           'ORDER BY n DESC LIMIT 1', cl.log_table)
               INTO last_txid, last_id, c.batch_rows
              USING c.done_txid, c.done_id, c.window_end, c.finished, max_entities;
            EXIT WHEN last_txid IS NOT NULL;
            -- The window is exhausted: everything in it is finished.
            c.finished := c.window_end;
            c.window_end := NULL;
            c.done_txid := NULL;
            c.done_id := NULL;
        END LOOP;
        IF last_txid IS NOT NULL THEN
            c.batch_id := nextval('staging.changelog_batch_seq');
            c.batch_end_txid := last_txid;
            c.batch_end_id := last_id;
        END IF;
        UPDATE staging.changelog_consumer k
           SET finished = c.finished, window_end = c.window_end,
               done_txid = c.done_txid, done_id = c.done_id, batch_id = c.batch_id,
               batch_end_txid = c.batch_end_txid, batch_end_id = c.batch_end_id,
               batch_rows = c.batch_rows
         WHERE k.changelog = c.changelog AND k.consumer = c.consumer;
        IF c.window_end IS NULL THEN
            PERFORM staging.prune_changelog(name);
        END IF;
        IF c.batch_id IS NULL THEN
            RETURN;
        END IF;
    END IF;
    -- The rows of a window are those of committed transactions, which no
    -- one prunes before this consumer finished them: the first batch_rows
    -- rows after done_* are the same rows every time.
    RETURN QUERY EXECUTE format(
        'SELECT DISTINCT $6, entity_id FROM (' || window_rows || ') w '
        ' WHERE (txid, version_id) <= ($7, $8) ORDER BY entity_id', cl.log_table)
        USING c.done_txid, c.done_id, c.window_end, c.finished, c.batch_rows,
              c.batch_id, c.batch_end_txid, c.batch_end_id;
END
$$;
COMMENT ON FUNCTION staging.next_batch(text, text, int) IS
    'The next batch of distinct changed entities for a consumer (at most max_entities); the same batch again until finish_batch.';

CREATE FUNCTION staging.finish_batch(name text, consumer text, batch_id bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c staging.changelog_consumer := staging._changelog_consumer(name, consumer);
BEGIN
    IF c.batch_id IS DISTINCT FROM finish_batch.batch_id OR finish_batch.batch_id IS NULL THEN
        RAISE EXCEPTION 'batch % is not the current batch of consumer "%" of changelog "%"',
            coalesce(finish_batch.batch_id::text, 'NULL'), consumer, name
            USING ERRCODE = '55000',
                  DETAIL = CASE WHEN c.batch_id IS NULL THEN 'The consumer has no unfinished batch.'
                           ELSE format('Its current batch is %s.', c.batch_id) END,
                  HINT = 'Call staging.next_batch and finish the batch id it returns.';
    END IF;
    UPDATE staging.changelog_consumer k
       SET done_txid = c.batch_end_txid, done_id = c.batch_end_id,
           batch_id = NULL, batch_end_txid = NULL, batch_end_id = NULL, batch_rows = NULL
     WHERE k.changelog = c.changelog AND k.consumer = c.consumer;
END
$$;
COMMENT ON FUNCTION staging.finish_batch(text, text, bigint) IS
    'Marks a consumer''s current batch done; in the transaction that writes the index, exactly once.';

-- Pending changes of one consumer: rows not visible in "finished" and not
-- in the part of the current window it finished.
CREATE FUNCTION staging._changelog_pending(c staging.changelog_consumer,
                                           OUT pending_entities bigint, OUT oldest_pending timestamptz)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format(
        'SELECT count(DISTINCT entity_id), min(changed_at) FROM %s '
        ' WHERE txid >= pg_snapshot_xmin($1) AND NOT pg_visible_in_snapshot(txid, $1) '
        '   AND NOT (coalesce(pg_visible_in_snapshot(txid, $2), false) '
        '            AND (txid, version_id) <= ($3, $4))',
        (SELECT log_table FROM staging.changelog WHERE name = c.changelog))
       INTO pending_entities, oldest_pending
      USING c.finished, c.window_end, c.done_txid, c.done_id;
END
$$;
COMMENT ON FUNCTION staging._changelog_pending(staging.changelog_consumer) IS
    'How many entities a consumer has not finished, and when the oldest of them changed.';

CREATE VIEW staging.changelog_status AS
SELECT k.changelog, k.consumer, p.pending_entities,
       now() - p.oldest_pending AS oldest_pending_age,
       k.batch_id AS current_batch
  FROM staging.changelog_consumer k
  JOIN staging.changelog c ON c.name = k.changelog,
       LATERAL staging._changelog_pending(k) p
 WHERE pg_catalog.has_table_privilege(c.log_table, 'SELECT');
COMMENT ON VIEW staging.changelog_status IS
    'Per changelog and consumer: entities pending, age of the oldest pending change, the unfinished batch.';

-- DROP TABLE of a watched table forgets its subscriptions; dropping a log
-- table drops its changelog, and the triggers that wrote into it.
CREATE FUNCTION staging._changelog_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    w record;
BEGIN
    DELETE FROM staging.changelog_subscription s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = s.tbl;
    FOR w IN
        SELECT s.tbl, t.tgname AS trigger_name
          FROM staging.changelog c
          JOIN pg_event_trigger_dropped_objects() d
            ON d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = c.log_table
          JOIN staging.changelog_subscription s ON s.changelog = c.name
          JOIN pg_trigger t ON t.tgrelid = s.tbl
                           AND t.tgname IN (c.name || '_cl', c.name || '_cl_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', w.trigger_name, w.tbl);
    END LOOP;
    DELETE FROM staging.changelog c
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = c.log_table;
END
$$;
COMMENT ON FUNCTION staging._changelog_dropped() IS
    'Event trigger: forgets the subscriptions of dropped tables and the changelogs whose log table was dropped.';
CREATE EVENT TRIGGER staging_changelog_dropped ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION staging._changelog_dropped();
COMMENT ON EVENT TRIGGER staging_changelog_dropped IS
    'Keeps the changelog registries in step with DROP TABLE.';

-- staging.clone_schema copies the triggers of the source's tables; this
-- subscribes the clone's tables to the same changelogs, so an import into
-- the clone is logged, and after staging.swap_schemas the live tables (the
-- clone's) stay watched.  Only for relations this transaction created.
CREATE FUNCTION staging._changelog_clone(source oid, target oid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO staging.changelog_subscription (changelog, tbl, columns)
    SELECT s.changelog, c.clone, s.columns
      FROM staging.changelog_subscription s
      JOIN pg_class k ON k.oid = s.tbl AND k.relnamespace = source
     CROSS JOIN LATERAL (SELECT staging._clone_of(s.tbl, source, target) AS clone) c
     WHERE c.clone <> s.tbl AND staging._created_in_this_transaction(c.clone)
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION staging._changelog_clone(oid, oid) IS
    'Subscribes the tables of a fresh schema clone to the changelogs of their source tables.';

-- Called by staging.advance (issue 4) in its transaction, after the live
-- version moved from from_version to to_version and once the writers at the
-- versions going live are visible: logs, in every changelog that watches a
-- versioned main table or one of its attribute tables, each entity having
-- a version row that starts or ends in (from_version, to_version].
CREATE FUNCTION staging._changelog_advance(from_version bigint, to_version bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    w record;
    n bigint;
    total bigint := 0;
    previous_version text;
BEGIN
    -- Rows that stopped being visible count too: read every version row.
    previous_version := staging._read_every_version();
    FOR w IN
        SELECT DISTINCT c.name, c.log_table, v.relid AS main_table, v.entity_column
          FROM staging.changelog c
          JOIN staging.changelog_subscription s ON s.changelog = c.name
          JOIN staging.versioned_table v
            ON v.relid = s.tbl
            OR v.relid = (SELECT a.main_table FROM staging.attribute_table a WHERE a.relid = s.tbl)
    LOOP
        EXECUTE format(
            'INSERT INTO %s (entity_id) '
            'SELECT %2$I FROM %3$s WHERE %4$s '
            'UNION '
            'SELECT %2$I FROM %3$s WHERE updated_in > $1 AND updated_in <= $2',
            w.log_table, w.entity_column, w.main_table, staging._created_between('$1', '$2'))
            USING from_version, to_version;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM pg_notify(w.name || '_cl', '');
        END IF;
        total := total + n;
    END LOOP;
    PERFORM staging._restore_version(previous_version);
    RETURN total;
END
$$;
COMMENT ON FUNCTION staging._changelog_advance(bigint, bigint) IS
    'Internal (staging.advance): logs the entities whose visible row changed when the live version moved.';

-------------------------------------------------------------------------------
-- Staging schemas and the atomic swap
-------------------------------------------------------------------------------

-- Every change that caches must forget: one row per committed schema swap
-- (kind 'schema_swap'), published by NOTIFY staging_invalidation with the
-- row as JSON.  NOTIFY is delivered at commit, so listeners never hear of
-- a swap that could still roll back.
CREATE TABLE staging.invalidations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    valid_from timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE staging.invalidations IS
    'One row per change that caches must forget (kind ''schema_swap'': detail names the schemas); '
    'each row is also sent as JSON by NOTIFY staging_invalidation when its transaction commits.';
COMMENT ON COLUMN staging.invalidations.valid_from IS
    'From when the new content is what readers see (for a swap: the end of the swap, just before its commit).';

-- The OID of a schema named by an argument; clear errors for NULL and
-- missing schemas.
CREATE FUNCTION staging._schema_oid(schema_name name, argument text) RETURNS oid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp oid;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'argument % must not be NULL', argument
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.oid INTO nsp FROM pg_namespace n WHERE n.nspname = schema_name;
    IF nsp IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema_name
            USING ERRCODE = 'invalid_schema_name',
                  HINT = 'Check the name of the ' || argument || ' schema.';
    END IF;
    RETURN nsp;
END
$$;
COMMENT ON FUNCTION staging._schema_oid(name, text) IS
    'The OID of a schema given as argument to a schema function; 22023 for NULL, 3F000 when missing.';

-- Schemas that must never be cloned into or swapped: the system's and ours.
CREATE FUNCTION staging._assert_user_schema(schema_name name) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF schema_name IN ('staging', 'pg_catalog', 'information_schema')
       OR schema_name LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'schema "%" cannot be cloned into or swapped', schema_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Keep the tables to stage in a schema of their own.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._assert_user_schema(name) IS
    'Refuses (22023) the system schemas and staging as swap or clone targets.';

-- The schema of any object pg_depend can name (NULL when it has none):
-- rules, triggers, defaults and policies belong to their table's schema.
CREATE FUNCTION staging._object_schema(classid oid, objid oid) RETURNS oid
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE classid
    WHEN 'pg_class'::regclass THEN
        (SELECT c.relnamespace FROM pg_class c WHERE c.oid = objid)
    WHEN 'pg_type'::regclass THEN
        (SELECT t.typnamespace FROM pg_type t WHERE t.oid = objid)
    WHEN 'pg_proc'::regclass THEN
        (SELECT p.pronamespace FROM pg_proc p WHERE p.oid = objid)
    WHEN 'pg_constraint'::regclass THEN
        (SELECT k.connamespace FROM pg_constraint k WHERE k.oid = objid)
    WHEN 'pg_rewrite'::regclass THEN
        (SELECT c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
          WHERE r.oid = objid)
    WHEN 'pg_trigger'::regclass THEN
        (SELECT c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          WHERE t.oid = objid)
    WHEN 'pg_attrdef'::regclass THEN
        (SELECT c.relnamespace FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
          WHERE d.oid = objid)
    WHEN 'pg_policy'::regclass THEN
        (SELECT c.relnamespace FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
          WHERE p.oid = objid)
    ELSE
        (SELECT n.oid FROM pg_identify_object(classid, objid, 0) i
           JOIN pg_namespace n ON n.nspname = i.schema)
    END
$$;
COMMENT ON FUNCTION staging._object_schema(oid, oid) IS
    'The schema an object (as named by pg_depend) lives in, NULL when it has none.';

-- Objects outside the given schemas that depend on objects inside them:
-- views, foreign keys, functions (SQL-standard bodies, argument and
-- result types), defaults, column types, extensions...  They follow OIDs,
-- not names, so a swap would leave them pointing at the other copy.
CREATE FUNCTION staging._outside_dependents(schemas oid[])
    RETURNS TABLE (dependent text, referenced text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
WITH inside(classid, objid) AS (
    SELECT 'pg_namespace'::regclass::oid, s FROM unnest(schemas) s
    UNION ALL
    SELECT 'pg_class'::regclass, c.oid FROM pg_class c WHERE c.relnamespace = ANY (schemas)
    UNION ALL
    SELECT 'pg_type'::regclass, t.oid FROM pg_type t WHERE t.typnamespace = ANY (schemas)
    UNION ALL
    SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p WHERE p.pronamespace = ANY (schemas)
    UNION ALL
    SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o WHERE o.oprnamespace = ANY (schemas)
    UNION ALL
    SELECT 'pg_collation'::regclass, o.oid FROM pg_collation o WHERE o.collnamespace = ANY (schemas)
), dependents AS MATERIALIZED (
    -- Index lookups per inside object; only these rows need their schema.
    SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.refobjsubid
      FROM inside i
      JOIN pg_depend d ON d.refclassid = i.classid AND d.refobjid = i.objid
     WHERE d.deptype = 'n'
)
SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid),
       pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
  FROM dependents d
 WHERE NOT coalesce(staging._object_schema(d.classid, d.objid) = ANY (schemas), false)
 ORDER BY 1, 2
$$;
COMMENT ON FUNCTION staging._outside_dependents(oid[]) IS
    'Objects outside the schemas that depend (pg_depend, normal) on objects inside them.';

-- 2BP01 naming the outside objects that depend on either schema.
CREATE FUNCTION staging._assert_no_outside_dependents(live name, candidate name,
        live_oid oid, candidate_oid oid) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    found text;
BEGIN
    SELECT string_agg(format('%s depends on %s', o.dependent, o.referenced), E'\n')
      INTO found
      FROM staging._outside_dependents(ARRAY[live_oid, candidate_oid]) o;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'cannot swap schemas "%" and "%": objects outside them depend on objects inside',
                live, candidate
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = found,
                  HINT = 'Such objects follow OIDs, not names, and would point at the other copy after the swap. '
                         'Drop them (and re-create them after the swap), or refer to the schemas by name, '
                         'e.g. from PL/pgSQL functions.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._assert_no_outside_dependents(name, name, oid, oid) IS
    'Raises 2BP01 listing the objects outside the two schemas that depend on objects inside.';

-- The relation of the clone that corresponds to a relation of the source
-- schema (same name); relations elsewhere are returned unchanged.
CREATE FUNCTION staging._clone_of(rel regclass, source oid, target oid) RETURNS regclass
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    clone regclass;
BEGIN
    IF rel IS NULL OR NOT EXISTS (SELECT FROM pg_class c
                                   WHERE c.oid = rel AND c.relnamespace = source) THEN
        RETURN rel;
    END IF;
    SELECT t.oid INTO clone
      FROM pg_class s JOIN pg_class t ON t.relname = s.relname AND t.relnamespace = target
     WHERE s.oid = rel;
    IF clone IS NULL THEN
        RAISE EXCEPTION 'the clone has no relation for %', rel
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN clone;
END
$$;
COMMENT ON FUNCTION staging._clone_of(regclass, oid, oid) IS
    'The same-named relation in the target schema for a relation of the source schema, else the relation itself.';

-- Copies the registrations of the source schema's relations to the clone,
-- column by column, replacing every regclass by the clone's relation: new
-- columns of the registry tables are copied without changing this.  It
-- writes the registry, so it runs as the extension's owner; it only ever
-- registers relations that the calling transaction has just created.
CREATE FUNCTION staging._clone_registrations(source oid, target oid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    registry name;
    columns text;
    exprs text;
BEGIN
    IF EXISTS (SELECT FROM pg_class c
                WHERE c.relnamespace = target AND c.relkind IN ('r', 'S', 'v', 'm')
                  AND NOT staging._created_in_this_transaction(c.oid)) THEN
        RAISE EXCEPTION 'registrations are copied only to relations just created by staging.clone_schema()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- In dependency order (attribute tables reference their main table).
    -- Changelog subscriptions (issue 5): add their registry tables to this
    -- list; their regclass columns are mapped to the clone like these.
    FOREACH registry IN ARRAY ARRAY['versioned_table', 'attribute_table']::name[] LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
               string_agg(CASE WHEN a.atttypid = 'regclass'::regtype
                               THEN format('staging._clone_of(%I, %s, %s)', a.attname, source, target)
                               ELSE quote_ident(a.attname) END, ', ' ORDER BY a.attnum)
          INTO columns, exprs
          FROM pg_attribute a
         WHERE a.attrelid = format('staging.%I', registry)::regclass
           AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attidentity = '' AND a.attgenerated = '';
        EXECUTE format('INSERT INTO staging.%I (%s) SELECT %s FROM staging.%I r'
                       ' WHERE staging._object_schema(%L::regclass, r.relid) = %s',
                       registry, columns, exprs, registry, 'pg_class', source);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._clone_registrations(oid, oid) IS
    'Copies versioning registrations of a schema''s relations to the relations of its fresh clone.';

CREATE FUNCTION staging._created_in_this_transaction(rel regclass) RETURNS boolean
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_created_in_this_transaction';
COMMENT ON FUNCTION staging._created_in_this_transaction(regclass) IS
    'True when the relation was created by the current transaction.';

CREATE FUNCTION staging.clone_schema(source name, target name,
        with_data boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    source_oid oid := staging._schema_oid(source, 'source');
    target_oid oid;
    -- Definitions are deparsed with the source schema on the search_path, so
    -- they name its objects unqualified, and run with the clone in front:
    -- they then name the clone's tables and sequences, and the source's
    -- functions and types (which are not cloned).
    deparse_path text;
    target_path text;
    unsupported text;
    version_setting text;
    ddl text[];
    stmt text;
    columns text;
    r record;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'argument target must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF source = target THEN
        RAISE EXCEPTION 'cannot clone schema "%" into itself', source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM staging._assert_user_schema(target);
    deparse_path := format('pg_catalog, %I, pg_temp', source);
    target_path := format('pg_catalog, %I, %I, pg_temp', target, source);
    IF with_data IS NULL THEN
        RAISE EXCEPTION 'argument with_data must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = target) THEN
        RAISE EXCEPTION 'schema "%" already exists', target
            USING ERRCODE = 'duplicate_schema',
                  HINT = 'Drop it first (DROP SCHEMA ... CASCADE) or clone into a new name.';
    END IF;
    SELECT string_agg(format('%I', c.relname), ', ' ORDER BY c.relname) INTO unsupported
      FROM pg_class c
     WHERE c.relnamespace = source_oid
       AND (c.relkind IN ('p', 'f') OR c.relispartition
            OR EXISTS (SELECT FROM pg_inherits i WHERE c.oid IN (i.inhrelid, i.inhparent)));
    IF unsupported IS NOT NULL THEN
        RAISE EXCEPTION 'cannot clone schema "%": partitioned, inherited and foreign tables are not supported', source
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Unsupported tables: ' || unsupported || '.';
    END IF;

    EXECUTE format('CREATE SCHEMA %I', target);
    target_oid := staging._schema_oid(target, 'target');
    SELECT format('COMMENT ON SCHEMA %I IS %L', target, d.description) INTO stmt
      FROM pg_description d
     WHERE d.classoid = 'pg_namespace'::regclass AND d.objoid = source_oid;
    IF stmt IS NOT NULL THEN
        EXECUTE stmt;
    END IF;

    -- Sequences, but identity sequences: LIKE creates those.
    FOR r IN
        SELECT c.relname, c.relpersistence, s.*
          FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
         WHERE c.relnamespace = source_oid AND c.relkind = 'S'
           AND NOT EXISTS (SELECT FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype = 'i')
         ORDER BY c.relname
    LOOP
        EXECUTE format('CREATE %sSEQUENCE %I.%I AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s'
                       ' START WITH %s CACHE %s %sCYCLE',
                       CASE WHEN r.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END,
                       target, r.relname, r.seqtypid::regtype, r.seqincrement, r.seqmin,
                       r.seqmax, r.seqstart, r.seqcache,
                       CASE WHEN r.seqcycle THEN '' ELSE 'NO ' END);
    END LOOP;

    -- Tables: columns, defaults, identities, generated columns, CHECK and
    -- NOT NULL constraints, storage, comments and statistics.  Indexes are
    -- made below under their own names (LIKE would rename them).
    FOR r IN
        SELECT c.oid, c.relname, c.relpersistence, c.reloptions
          FROM pg_class c
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
         ORDER BY c.relname
    LOOP
        EXECUTE format('CREATE %sTABLE %I.%I (LIKE %I.%I INCLUDING ALL EXCLUDING INDEXES)',
                       CASE WHEN r.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END,
                       target, r.relname, source, r.relname);
        IF r.reloptions IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I.%I SET (%s)', target, r.relname,
                           array_to_string(r.reloptions, ', '));
        END IF;
    END LOOP;

    -- Rows, before indexes and triggers.  Versioned tables are read whole
    -- (every version row), not at the session version.
    IF with_data THEN
        version_setting := current_setting('staging.version', true);
        IF version_setting IS NOT NULL THEN
            PERFORM set_config('staging.version', 'all', true);
        END IF;
        FOR r IN
            SELECT c.oid, c.relname FROM pg_class c
             WHERE c.relnamespace = source_oid AND c.relkind = 'r'
             ORDER BY c.relname
        LOOP
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO columns
              FROM pg_attribute a
             WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = '';
            IF columns IS NOT NULL THEN
                EXECUTE format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY %I.%I',
                               target, r.relname, columns, columns, source, r.relname);
            END IF;
        END LOOP;
        IF version_setting IS NOT NULL THEN
            PERFORM set_config('staging.version', version_setting, true);
        END IF;
    END IF;

    -- Everything that names other objects, deparsed relative to the source.
    PERFORM set_config('search_path', deparse_path, true);
    SELECT array_agg(s.stmt ORDER BY s.step, s.rank, s.stmt) INTO ddl
      FROM (
        -- Defaults: LIKE copied serial defaults pointing at the source's
        -- sequences; these name the clone's.
        SELECT 1 AS step, 0 AS rank,
               format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s', target, c.relname,
                      a.attname, pg_get_expr(d.adbin, d.adrelid)) AS stmt
          FROM pg_attrdef d
          JOIN pg_class c ON c.oid = d.adrelid
          JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
           AND a.attgenerated = '' AND a.attidentity = '' AND NOT a.attisdropped
        UNION ALL
        -- Primary keys, unique and exclusion constraints, under their names.
        SELECT 2, 0, format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', target, c.relname,
                            k.conname, pg_get_constraintdef(k.oid))
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r' AND k.contype IN ('p', 'u', 'x')
        UNION ALL
        -- Other indexes.
        SELECT 3, 0, pg_get_indexdef(i.indexrelid, 0, true)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
           AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                                       AND k.contype IN ('p', 'u', 'x'))
        UNION ALL
        -- Foreign keys: those between tables of the schema stay inside the clone.
        SELECT 4, 0, format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', target, c.relname,
                            k.conname, pg_get_constraintdef(k.oid))
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r' AND k.contype = 'f'
        UNION ALL
        -- Views and materialized views, those used by others first.
        SELECT 5, v.depth,
               format('CREATE %s %I.%I%s AS %s%s',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END,
                      target, c.relname,
                      CASE WHEN c.reloptions IS NOT NULL
                           THEN format(' WITH (%s)', array_to_string(c.reloptions, ', ')) END,
                      rtrim(pg_get_viewdef(c.oid), ';'),
                      CASE WHEN c.relkind = 'm' AND NOT with_data THEN ' WITH NO DATA' ELSE '' END)
          FROM pg_class c
          JOIN (WITH RECURSIVE uses(view, used) AS (
                    SELECT DISTINCT rw.ev_class, d.refobjid
                      FROM pg_rewrite rw
                      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                      AND d.refclassid = 'pg_class'::regclass
                                      AND d.refobjid <> rw.ev_class
                      JOIN pg_class u ON u.oid = d.refobjid AND u.relnamespace = source_oid
                                     AND u.relkind IN ('v', 'm')
                ), depth(view, depth) AS (
                    SELECT c2.oid, 0 FROM pg_class c2
                     WHERE c2.relnamespace = source_oid AND c2.relkind IN ('v', 'm')
                    UNION ALL
                    SELECT u.view, depth.depth + 1 FROM depth JOIN uses u ON u.used = depth.view
                )
                SELECT depth.view, max(depth.depth) AS depth FROM depth GROUP BY depth.view) v
            ON v.view = c.oid
        UNION ALL
        -- Triggers (FK triggers are internal and came with the foreign keys).
        SELECT 6, 0, pg_get_triggerdef(t.oid, true)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = source_oid AND NOT t.tgisinternal
        UNION ALL
        SELECT 7, 0, format('ALTER TABLE %I.%I %s TRIGGER %I', target, c.relname,
                            CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                                             ELSE 'ENABLE ALWAYS' END, t.tgname)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = source_oid AND NOT t.tgisinternal AND t.tgenabled <> 'O'
      ) s;
    PERFORM set_config('search_path', target_path, true);
    FOREACH stmt IN ARRAY coalesce(ddl, '{}') LOOP
        EXECUTE stmt;
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);

    -- Sequences owned by a column are owned by the clone's column.
    FOR r IN
        SELECT s.relname AS seq, t.relname AS tbl, a.attname
          FROM pg_depend d
          JOIN pg_class s ON s.oid = d.objid
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.deptype = 'a' AND s.relkind = 'S'
           AND s.relnamespace = source_oid AND t.relnamespace = source_oid
    LOOP
        EXECUTE format('ALTER SEQUENCE %I.%I OWNED BY %I.%I.%I',
                       target, r.seq, target, r.tbl, r.attname);
    END LOOP;

    -- Current values of every sequence, identity sequences included (read
    -- after the rows were copied, so never behind them).
    FOR r IN
        SELECT s.oid AS source_seq,
               coalesce((SELECT pg_get_serial_sequence(format('%I.%I', target, t.relname), a.attname)
                           FROM pg_depend d
                           JOIN pg_class t ON t.oid = d.refobjid
                           JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'),
                        format('%I.%I', target, s.relname)) AS target_seq
          FROM pg_class s
         WHERE s.relnamespace = source_oid AND s.relkind = 'S'
    LOOP
        EXECUTE format('SELECT setval(%L::regclass, last_value, is_called) FROM %s',
                       r.target_seq, r.source_seq::regclass);
    END LOOP;

    -- Privileges and comments of the relations; the schema's privileges.
    FOR r IN
        SELECT c.relname, c.relkind, a.privilege_type, a.is_grantable, a.grantee
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'S', 'v', 'm')
           AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %s %I.%I TO %s%s', r.privilege_type,
                       CASE WHEN r.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                       target, r.relname,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE r.grantee::regrole::text END,
                       CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    FOR r IN
        SELECT c.relname, at.attname, a.privilege_type, a.is_grantable, a.grantee
          FROM pg_class c
          JOIN pg_attribute at ON at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped
          CROSS JOIN aclexplode(at.attacl) a
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'v', 'm')
    LOOP
        EXECUTE format('GRANT %s (%I) ON TABLE %I.%I TO %s%s', r.privilege_type, r.attname,
                       target, r.relname,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE r.grantee::regrole::text END,
                       CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    FOR r IN
        SELECT c.relname, c.relkind, d.description
          FROM pg_class c JOIN pg_description d
            ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'S', 'v', 'm')
    LOOP
        EXECUTE format('COMMENT ON %s %I.%I IS %L',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       target, r.relname, r.description);
    END LOOP;
    FOR r IN
        SELECT a.privilege_type, a.is_grantable, a.grantee
          FROM pg_namespace n, aclexplode(n.nspacl) a
         WHERE n.oid = source_oid AND a.grantee <> n.nspowner
    LOOP
        EXECUTE format('GRANT %s ON SCHEMA %I TO %s%s', r.privilege_type, target,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE r.grantee::regrole::text END,
                       CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;

    -- Owners: the clone belongs to whoever owns the source, when we may
    -- give it to them (a swap then leaves every object with its owner).
    FOR r IN
        SELECT c.relname, c.relkind, c.relowner
          FROM pg_class c
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'S', 'v', 'm')
           AND c.relowner <> current_user::regrole
           AND pg_has_role(c.relowner, 'MEMBER')
           AND NOT EXISTS (SELECT FROM pg_depend d
                            WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %s',
                       CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       target, r.relname, r.relowner::regrole);
    END LOOP;
    SELECT format('ALTER SCHEMA %I OWNER TO %s', target, n.nspowner::regrole) INTO stmt
      FROM pg_namespace n
     WHERE n.oid = source_oid AND n.nspowner <> current_user::regrole
       AND pg_has_role(n.nspowner, 'MEMBER');
    IF stmt IS NOT NULL THEN
        EXECUTE stmt;
    END IF;

    -- Versioning registrations of the source's tables, for the clone's.
    PERFORM staging._clone_registrations(source_oid, target_oid);

    -- Changelog subscriptions of the source's tables (their triggers were
    -- copied with the tables).
    PERFORM staging._changelog_clone(source_oid, target_oid);
END
$$;
COMMENT ON FUNCTION staging.clone_schema(name, name, boolean) IS
    'Creates schema target with the same tables, sequences (and their values), defaults, identities, '
    'constraints, indexes, views, triggers, privileges and versioning registrations as source; '
    'with_data copies the rows too.';

CREATE FUNCTION staging.compare_schemas(live name, candidate name)
    RETURNS TABLE (table_name name, live_rows bigint, candidate_rows bigint,
                   difference bigint, difference_pct numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    live_oid oid := staging._schema_oid(live, 'live');
    candidate_oid oid := staging._schema_oid(candidate, 'candidate');
    t record;
BEGIN
    FOR t IN
        SELECT coalesce(l.relname, c.relname) AS name,
               l.relname IS NOT NULL AS in_live, c.relname IS NOT NULL AS in_candidate
          FROM (SELECT relname FROM pg_class
                 WHERE relnamespace = live_oid AND relkind = 'r') l
          FULL JOIN (SELECT relname FROM pg_class
                      WHERE relnamespace = candidate_oid AND relkind = 'r') c
            ON c.relname = l.relname
         -- changelog log tables (and a clone's copy of one) are no catalog data
         WHERE coalesce(l.relname, c.relname) NOT IN
               (SELECT k.relname FROM staging.changelog g
                  JOIN pg_class k ON k.oid = g.log_table
                 WHERE k.relnamespace IN (live_oid, candidate_oid))
         ORDER BY 1
    LOOP
        table_name := t.name;
        live_rows := NULL;
        candidate_rows := NULL;
        IF t.in_live THEN
            live_rows := staging._visible_rows(format('%I.%I', live, t.name)::regclass);
        END IF;
        IF t.in_candidate THEN
            candidate_rows := staging._visible_rows(format('%I.%I', candidate, t.name)::regclass);
        END IF;
        difference := candidate_rows - live_rows;
        difference_pct := CASE WHEN live_rows = 0 THEN CASE WHEN candidate_rows = 0 THEN 0.00 END
                               ELSE round(100.0 * difference / live_rows, 2) END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging.compare_schemas(name, name) IS
    'Row counts of the tables of two schemas, matched by name: difference = candidate - live, '
    'difference_pct relative to live (NULL when a side is missing, or live is empty and candidate is not). '
    'Versioned tables count the rows visible at the session version; changelog log tables are left out.';

-- What a shopper at the session version sees of a table: every row of a
-- plain table, the visible rows of a versioned one (the version filter
-- applies), and of an attribute table the rows of visible main rows.
CREATE FUNCTION staging._visible_rows(tbl regclass) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    main regclass;
    n bigint;
BEGIN
    SELECT a.main_table INTO main FROM staging.attribute_table a WHERE a.relid = tbl;
    IF main IS NULL THEN
        EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
    ELSE
        EXECUTE format('SELECT count(*) FROM %s a WHERE EXISTS '
                       '(SELECT FROM %s m WHERE m.row_id OPERATOR(pg_catalog.=) a.row_id)',
                       tbl, main) INTO n;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION staging._visible_rows(regclass) IS
    'Rows of a table visible at the session version; for an attribute table, the rows of visible main rows.';

CREATE FUNCTION staging._swap_lock(live oid, candidate oid, lock_timeout_ms integer,
        max_wait_ms integer) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_swap_lock';
COMMENT ON FUNCTION staging._swap_lock(oid, oid, integer, integer) IS
    'Checks ownership, then locks two schemas and their relations with bounded waits and retries (55P03).';

CREATE FUNCTION staging._swap_locked(live oid, candidate oid) RETURNS boolean
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_swap_locked';
COMMENT ON FUNCTION staging._swap_locked(oid, oid) IS
    'True when the current transaction took the swap locks of these two schemas.';

-- Records a committed-to-be swap and notifies listeners (at commit).  It
-- writes staging.invalidations, so it runs as the extension's owner, and
-- refuses unless this transaction locked (and so owns) both schemas.
CREATE FUNCTION staging._record_swap(live_oid oid, candidate_oid oid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    recorded staging.invalidations;
BEGIN
    IF NOT staging._swap_locked(live_oid, candidate_oid) THEN
        RAISE EXCEPTION 'staging._record_swap() is only for staging.swap_schemas()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The schemas have been renamed: live_oid is now the candidate.
    INSERT INTO staging.invalidations (kind, detail)
    VALUES ('schema_swap',
            jsonb_build_object('live', (SELECT nspname FROM pg_namespace WHERE oid = candidate_oid),
                               'candidate', (SELECT nspname FROM pg_namespace WHERE oid = live_oid)))
    RETURNING * INTO recorded;
    PERFORM pg_notify('staging_invalidation', row_to_json(recorded)::text);
END
$$;
COMMENT ON FUNCTION staging._record_swap(oid, oid) IS
    'Inserts the invalidation row of a swap and queues NOTIFY staging_invalidation (delivered at commit).';

CREATE FUNCTION staging.swap_schemas(live name, candidate name,
        max_difference_pct numeric DEFAULT NULL,
        lock_timeout interval DEFAULT '500ms',
        max_wait interval DEFAULT '30s') RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    live_oid oid := staging._schema_oid(live, 'live');
    candidate_oid oid := staging._schema_oid(candidate, 'candidate');
    parking name;
    exceeded text;
BEGIN
    IF live_oid = candidate_oid THEN
        RAISE EXCEPTION 'cannot swap schema "%" with itself', live
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the live schema and the candidate made by staging.clone_schema().';
    END IF;
    PERFORM staging._assert_user_schema(live);
    PERFORM staging._assert_user_schema(candidate);
    IF lock_timeout IS NULL OR lock_timeout <= interval '0' OR lock_timeout > interval '1 hour'
       OR max_wait IS NULL OR max_wait < interval '0' OR max_wait > interval '1 day' THEN
        RAISE EXCEPTION 'lock_timeout must be between 0 and 1 hour (exclusive of 0) and max_wait between 0 and 1 day'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('lock_timeout = %s, max_wait = %s', lock_timeout, max_wait);
    END IF;
    IF max_difference_pct < 0 THEN
        RAISE EXCEPTION 'max_difference_pct must not be negative'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_has_role((SELECT nspowner FROM pg_namespace WHERE oid = live_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema "%" to swap it', live
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run the swap as the owner of both schemas (or a member of the owning role).';
    END IF;
    IF NOT pg_has_role((SELECT nspowner FROM pg_namespace WHERE oid = candidate_oid), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema "%" to swap it', candidate
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run the swap as the owner of both schemas (or a member of the owning role).';
    END IF;

    -- Counting is O(data): done before the locks, while readers run freely.
    IF max_difference_pct IS NOT NULL THEN
        SELECT string_agg(format('%I: %s in live, %s in candidate (%s)', c.table_name,
                                 coalesce(c.live_rows || ' rows', 'no table'),
                                 coalesce(c.candidate_rows || ' rows', 'no table'),
                                 coalesce(c.difference_pct || '%', 'no percentage')),
                          E'\n' ORDER BY c.table_name)
          INTO exceeded
          FROM staging.compare_schemas(live, candidate) c
         WHERE abs(c.difference_pct) > max_difference_pct
            OR (c.difference_pct IS NULL AND c.difference IS DISTINCT FROM 0);
        IF exceeded IS NOT NULL THEN
            RAISE EXCEPTION 'cannot swap schemas "%" and "%": tables differ by more than % %%',
                    live, candidate, max_difference_pct
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = exceeded,
                      HINT = 'Check the import (staging.compare_schemas() shows the counts), or raise max_difference_pct.';
        END IF;
    END IF;

    -- Refuse early, before making anyone wait...
    PERFORM staging._assert_no_outside_dependents(live, candidate, live_oid, candidate_oid);
    PERFORM staging._swap_lock(live_oid, candidate_oid,
                               ceil(extract(epoch FROM lock_timeout) * 1000)::integer,
                               ceil(extract(epoch FROM max_wait) * 1000)::integer);
    -- A concurrent swap (or rename) of these schemas may have committed while
    -- we waited: the names no longer mean what the caller saw.
    IF live_oid::regnamespace::text <> quote_ident(live)
       OR candidate_oid::regnamespace::text <> quote_ident(candidate) THEN
        RAISE EXCEPTION 'schemas "%" and "%" were swapped or renamed by another transaction meanwhile',
                live, candidate
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Nothing was changed.  Check which copy is live now, then retry if needed.';
    END IF;
    -- ...and again under the locks, which keep new dependents out.
    PERFORM staging._assert_no_outside_dependents(live, candidate, live_oid, candidate_oid);

    -- The exchange.  Every relation keeps its OID (and so its data, indexes,
    -- triggers, registrations and privileges); only the names move.
    parking := 'staging_swap_' || live_oid;
    EXECUTE format('ALTER SCHEMA %I RENAME TO %I', live, parking);
    EXECUTE format('ALTER SCHEMA %I RENAME TO %I', candidate, live);
    EXECUTE format('ALTER SCHEMA %I RENAME TO %I', parking, candidate);

    PERFORM staging._record_swap(live_oid, candidate_oid);
END
$$;
COMMENT ON FUNCTION staging.swap_schemas(name, name, numeric, interval, interval) IS
    'Exchanges the names of two schemas in one transaction (call again to swap back); waits for its locks '
    'at most lock_timeout at a time and max_wait in all (55P03); refuses when outside objects depend on '
    'the schemas (2BP01) or a table differs by more than max_difference_pct (22023).';

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------

-- Internal functions are not for applications.
REVOKE ALL ON FUNCTION staging._assert_preloaded() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._registry_changed() FROM PUBLIC;
-- Reading: previews are privileged; the secret is the owner's alone.
REVOKE ALL ON FUNCTION staging._live_state_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._random_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.rotate_preview_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.sign_preview(bigint, interval) FROM PUBLIC;
REVOKE ALL ON staging.preview_secret FROM PUBLIC;
GRANT USAGE ON SCHEMA staging TO PUBLIC;
GRANT SELECT ON staging.live_state, staging.versioned_table,
    staging.attribute_table TO PUBLIC;
-- Owners register their own tables (staging._registry_guard checks).
GRANT INSERT, UPDATE, DELETE ON staging.versioned_table,
    staging.attribute_table TO PUBLIC;
GRANT SELECT ON staging.versioned_tables TO PUBLIC;
REVOKE ALL ON FUNCTION staging._forget_dropped() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._live_state_restore() FROM PUBLIC;
-- Schema swaps: run by the schemas' owners, not superusers.  The internal
-- helpers they call stay executable by PUBLIC because each checks its
-- caller: _swap_lock() ownership of both schemas, _record_swap() that this
-- transaction locked them, _clone_registrations() that the clone's
-- relations were just created by this transaction.
GRANT SELECT ON staging.invalidations TO PUBLIC;
REVOKE ALL ON FUNCTION staging._changelog_trigger(), staging._changelog_advance(bigint, bigint),
    staging._changelog_create_trigger(staging.changelog, regclass),
    staging._changelog_dropped(), staging._changelog_truncate(),
    staging._changelog_drop_triggers(staging.changelog, regclass) FROM PUBLIC;
-- staging._changelog_clone() stays executable by PUBLIC (clone_schema runs
-- as the schemas' owner): it only subscribes relations this transaction
-- created, beside a same-named subscribed one in the source schema.
GRANT SELECT ON staging.changelog, staging.changelog_subscription,
    staging.changelog_status TO PUBLIC;
-- Row security limits each role to the consumers of the logs it may read.
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.changelog_consumer TO PUBLIC;
GRANT USAGE ON SEQUENCE staging.changelog_batch_seq TO PUBLIC;

-- Campaigns change data in every versioned table, and their schedule may
-- be confidential: editors get these by GRANT from the DBA.
REVOKE ALL ON FUNCTION staging._schedule_versions(text, timestamptz, timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._move_version(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._drop_rollback(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._add_rollback(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.delete_update(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.advance(timestamptz) FROM PUBLIC;
