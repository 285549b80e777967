-- Read every version of versioned tables in this transaction until
-- _restore_version(): the helpers below must see all rows, whatever the
-- session version.  Returns the previous setting (NULL when the setting
-- does not exist).
CREATE OR REPLACE FUNCTION staging._read_every_version() RETURNS text
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

CREATE OR REPLACE FUNCTION staging._restore_version(previous text) RETURNS void
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
-- ordinary permanent table, tables the caller does not own, and (to
-- version or link) live-only tables.
CREATE OR REPLACE FUNCTION staging._check_table(tbl regclass, action text) RETURNS void
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
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only plain tables can be versioned: use a table without partitions.';
    ELSIF EXISTS (SELECT FROM pg_catalog.pg_inherits i WHERE i.inhrelid = tbl OR i.inhparent = tbl) THEN
        -- Neither the rows of its children (no registration, no triggers
        -- of versioned writes) nor, as a child, the writes through its
        -- parent (no statement triggers) would be versioned.
        RAISE EXCEPTION 'cannot % %: tables in an inheritance hierarchy are not supported', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Detach it from its parents and children first (ALTER TABLE ... NO INHERIT ...).';
    ELSIF c.relkind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION 'cannot % %: it is not a table', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Only plain tables can be versioned.';
    ELSIF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot % %: it is a temporary table', action, tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Versioned tables must outlive the session; use a permanent table.';
    ELSIF NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to % it', tbl, action
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Versioning changes the table''s definition: run it as the table''s owner.';
    END IF;
    -- A live-only table (staging.live_only) refuses writes at every
    -- version but the live one, those of updates at their start too.
    IF action IN ('version', 'link')
       AND EXISTS (SELECT FROM staging.live_only_tables l WHERE l.table_name = tbl) THEN
        RAISE EXCEPTION 'cannot % %: it is marked live-only', action, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A live-only table refuses writes at any version but the live one; the writes of a versioned table go to the version the session reads.',
                  HINT = pg_catalog.format('Unmark it first: SELECT staging.live_only(%L, false);', tbl::text);
    END IF;
    -- The triggers of versioned writes are made with CREATE OR REPLACE:
    -- a trigger of the user's of the same name would be replaced.
    SELECT t.tgname INTO c
      FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
     WHERE t.tgrelid = tbl AND NOT t.tgisinternal
       AND p.pronamespace <> 'staging'::pg_catalog.regnamespace
       AND t.tgname = ANY (staging._write_trigger_names(CASE action WHEN 'version' THEN 'main'
                                                                    WHEN 'link' THEN 'attribute' END))
     ORDER BY 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot % %: it has a trigger % of its own, a name the extension uses', action, tbl,
                        pg_catalog.quote_ident(c.tgname)
            USING ERRCODE = 'duplicate_object',
                  HINT = pg_catalog.format('Rename it first: ALTER TRIGGER %I ON %s RENAME TO ...', c.tgname, tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._check_table(regclass, text) IS
    'Raises the reason why a relation cannot be versioned by the caller, if any.';

-- The clauses that follow the referenced columns of a foreign key: its
-- match type, actions and deferrability, to recreate it elsewhere.
CREATE OR REPLACE FUNCTION staging._foreign_key_actions(con oid) RETURNS text
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

-- What _foreign_key_actions returns, as a regular expression (empty too):
-- disable_versioning checks the actions saved in the registry against it
-- before it puts them into a statement.
CREATE OR REPLACE FUNCTION staging._foreign_key_actions_pattern() RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT '^(( MATCH FULL)?'
       ' ON UPDATE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)'
       ' ON DELETE (NO ACTION|RESTRICT|CASCADE|SET NULL|SET DEFAULT)'
       '( \(([a-z_][a-z0-9_$]*|"([^"]|"")+")(, ([a-z_][a-z0-9_$]*|"([^"]|"")+"))*\))?'
       '( DEFERRABLE)?( INITIALLY DEFERRED)?( NOT VALID)?)?$'
$$;
COMMENT ON FUNCTION staging._foreign_key_actions_pattern() IS
    'A regular expression matching exactly the clauses staging._foreign_key_actions returns (or none).';

-- Point a single-column foreign key at another table's column, keeping
-- its name, column, and actions unless new ones are given.  The
-- referencing table is not read again when the old referenced column's
-- values are all in the new one (see src/versioning.c).
CREATE OR REPLACE FUNCTION staging._move_foreign_key(con oid, target regclass, target_column name,
                                          actions text DEFAULT NULL)
    RETURNS void
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_move_foreign_key';
COMMENT ON FUNCTION staging._move_foreign_key(oid, regclass, name, text) IS
    'Makes a single-column foreign key reference another table, validating it by the referenced tables when possible.';

-- Drop the unique constraints and unique indexes of a table that contain
-- a column, returning the statements that recreate them (by the column
-- names of now).  Used while rows are copied or renumbered.
CREATE OR REPLACE FUNCTION staging._drop_unique_keys(tbl regclass, attnum smallint) RETURNS text[]
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
CREATE OR REPLACE FUNCTION staging._integer_fits(type regtype, lo bigint, hi bigint) RETURNS boolean
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
-- every value in [lo, hi], with a NOTICE; otherwise do nothing.  The
-- rewrite checks the table's constraints on the column again: it runs as
-- the table's owner, in a security-restricted operation.
CREATE OR REPLACE FUNCTION staging._widen_to_fit(tbl regclass, col name, lo bigint, hi bigint) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    type regtype := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped);
BEGIN
    IF NOT staging._integer_fits(type, lo, hi) THEN
        RAISE NOTICE 'column % of % is widened from % to bigint: it must hold values up to %',
                     pg_catalog.quote_ident(col), tbl, type, GREATEST(-lo, hi);
        PERFORM staging._run_as_clone_owner(tbl,
            pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', tbl, col), 'pg_catalog, pg_temp');
    END IF;
END
$$;
COMMENT ON FUNCTION staging._widen_to_fit(regclass, name, bigint, bigint) IS
    'Widens an integer column to bigint when it cannot hold the values from lo to hi.';

-- The default of main tables' entity column: claims the next entity id
-- in the sequence table.  An id taken by an explicit insert is skipped,
-- and concurrent callers never get the same id.  Written in C
-- (src/run_as_owner.c): every role may execute it, so it checks that the
-- caller may insert into the versioned table, and inserts into the
-- sequence table as its owner, in a security-restricted operation.  While
-- an INSERT or COPY into the versioned table runs, it claims ids in blocks
-- and the statement's end gives back those no row took (the write
-- triggers' statement triggers say when).
CREATE OR REPLACE FUNCTION staging._next_entity_id(sequence_table regclass) RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_next_entity_id';
COMMENT ON FUNCTION staging._next_entity_id(regclass) IS
    'Default of a versioned table''s entity column: the next free id of its sequence table '
    '(42501 unless the caller may insert into the versioned table).';

-- Trigger on main tables: an explicit new entity id is added to the
-- sequence table (an id already there is left alone), as the sequence
-- table's owner in a security-restricted operation.  Written in C
-- (src/run_as_owner.c) with its statement prepared once per session: a
-- bulk load registers one id per row.  An id the column default just
-- claimed is not registered again.
CREATE OR REPLACE FUNCTION staging._register_entity() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_register_entity';
COMMENT ON FUNCTION staging._register_entity() IS
    'Trigger: adds explicit new entity ids of a versioned table to its sequence table.';

-- The key of the exclusion constraint of a versioned table: the versions
-- [created_in, updated_in) of an entity as a vertical segment at x =
-- entity, so that two rows overlap exactly when they are of the same entity
-- and their versions overlap.  Entity ids must be exact as float8 (below
-- 2^53).
CREATE OR REPLACE FUNCTION staging._version_box(entity bigint, created_in bigint, updated_in bigint)
    RETURNS box
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_box';
COMMENT ON FUNCTION staging._version_box(bigint, bigint, bigint) IS
    'Exclusion key of a versioned table: box(point(entity, created_in), point(entity, updated_in - 0.5)).';

-- The operator class of that key in the exclusion constraint's index: a
-- hash index by entity, whose "equality" is the overlap of two version
-- boxes.  Overlapping boxes are of the same entity and so hash alike: an
-- exclusion check reads one bucket (the versions of one entity) and
-- PostgreSQL rechecks each candidate with the operator, where a gist index
-- costs a tree descent testing every key of each page passed (and a large
-- scan state per check).  The operator is staging's own (box_overlap under
-- another name), so that no query written with && on boxes can be
-- answered by this index: the index finds the boxes of one entity only.
-- The operator class is not the default one of box.
CREATE OR REPLACE FUNCTION staging._version_box_hash(box) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_box_hash';
COMMENT ON FUNCTION staging._version_box_hash(box) IS
    'Hash function of operator class staging.version_box_ops (hash): the hash of a version box''s entity.';
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_operator o
                    WHERE o.oprname = '&&&' AND o.oprnamespace = 'staging'::regnamespace
                      AND o.oprleft = 'pg_catalog.box'::pg_catalog.regtype
                      AND o.oprright = 'pg_catalog.box'::pg_catalog.regtype) THEN
        CREATE OPERATOR staging.&&& (LEFTARG = box, RIGHTARG = box, FUNCTION = pg_catalog.box_overlap,
                                     COMMUTATOR = OPERATOR(staging.&&&),
                                     RESTRICT = pg_catalog.areasel, JOIN = pg_catalog.areajoinsel);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
                    WHERE c.opcname = 'version_box_ops' AND a.amname = 'hash'
                      AND c.opcnamespace = 'staging'::regnamespace) THEN
        CREATE OPERATOR CLASS staging.version_box_ops FOR TYPE box USING hash AS
            OPERATOR 1 staging.&&& (box, box),
            FUNCTION 1 staging._version_box_hash(box);
    END IF;
END
$$;
COMMENT ON OPERATOR staging.&&& (box, box) IS
    'Overlap of two version boxes (box_overlap): the operator of the exclusion constraint of versioned tables.';
COMMENT ON OPERATOR CLASS staging.version_box_ops USING hash IS
    'Exclusion key of versioned tables: version boxes in a hash index by entity, overlap (staging.&&&) as its equality.';

-- enable_versioning, step 1: the entity column of a table to version and
-- its single-column unique key, after checking everything that would stop
-- versioning (column names taken, composite keys, foreign keys to other
-- columns, referencing tables of other owners).
CREATE OR REPLACE FUNCTION staging._versioning_entity(tbl regclass, entity_column name,
        OUT attnum smallint, OUT type regtype, OUT attidentity "char", OUT default_expr text,
        OUT key_name name, OUT key_type "char")
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    ent record;
    key record;
    k record;
BEGIN
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
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run it as a role that owns both tables (or is a member of both owning roles).';
        END IF;
    END LOOP;
    attnum := ent.attnum;
    type := ent.type;
    attidentity := ent.attidentity;
    default_expr := ent.default_expr;
    key_name := key.conname;
    key_type := key.contype;
END
$$;
COMMENT ON FUNCTION staging._versioning_entity(regclass, name) IS
    'enable_versioning step: checks the entity column and returns it and its unique key (attnum, type, identity, default).';

-- enable_versioning, step 2: the sequence table nsp.seq_name, holding every
-- entity id of the table; new ids follow the greatest one ever handed out.
-- Returns that next id.
CREATE OR REPLACE FUNCTION staging._create_sequence_table(tbl regclass, entity_column name,
        entity_type regtype, nsp name, seq_name name) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    seq regclass;
    start_id bigint;
    serial_seq text;
    last_id bigint;
    grantee oid;
    entities bigint;
    owner pg_catalog.regrole;
BEGIN
    EXECUTE pg_catalog.format('SELECT max(%I) FROM %s', entity_column, tbl) INTO start_id;
    serial_seq := pg_catalog.pg_get_serial_sequence(tbl::text, entity_column);
    IF serial_seq IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT CASE WHEN is_called THEN last_value END FROM %s', serial_seq)
            INTO last_id;
    END IF;
    start_id := GREATEST(coalesce(start_id, 0), coalesce(last_id, 0)) + 1;
    EXECUTE pg_catalog.format('CREATE TABLE %I.%I (sequence_value %s NOT NULL GENERATED BY DEFAULT AS IDENTITY (START WITH %s))',
                              nsp, seq_name, entity_type, start_id);
    seq := pg_catalog.format('%I.%I', nsp, seq_name)::regclass;
    -- It lists entities that exist only in future versions: nobody but
    -- its owner may use it (what ALTER DEFAULT PRIVILEGES granted is taken
    -- back); the extension claims and registers ids as its owner.
    FOR grantee IN SELECT DISTINCT a.grantee
                     FROM pg_catalog.pg_class c, LATERAL pg_catalog.aclexplode(c.relacl) a
                    WHERE c.oid = seq AND a.grantee <> c.relowner LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %s', seq,
                                  CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE grantee::regrole::text END);
    END LOOP;
    EXECUTE pg_catalog.format('INSERT INTO %s (sequence_value) SELECT %I FROM %s', seq, entity_column, tbl);
    GET DIAGNOSTICS entities = ROW_COUNT;
    -- (<seq_name>_pkey, shortened to fit: cut to 63 bytes, the name of a
    -- long sequence table plus _pkey would be the table's own name)
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (sequence_value)', seq,
                              pg_catalog.left(seq_name, 58) || '_pkey');
    -- It belongs to the table's owner, as the table's other parts do, also
    -- when a superuser or a member of the owning role turns versioning on
    -- (else the owner could neither turn it off nor clone the schema).
    SELECT t.relowner::pg_catalog.regrole INTO owner
      FROM pg_catalog.pg_class t JOIN pg_catalog.pg_class s ON s.oid = seq
     WHERE t.oid = tbl AND t.relowner <> s.relowner;
    IF owner IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %s', seq, owner);
    END IF;
    PERFORM staging._progress('enable_versioning',
        pg_catalog.format('created the sequence table %s (%s entity ids) and its primary key', seq, entities));
    EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', seq,
                              pg_catalog.format('Every entity id of %s (staging sequence table).', tbl));
    RETURN start_id;
END
$$;
COMMENT ON FUNCTION staging._create_sequence_table(regclass, name, regtype, name, name) IS
    'enable_versioning step: creates and fills the sequence table of a table; returns the next entity id.';

-- enable_versioning, step 3: every unique key but the entity's would
-- refuse a second version of a row: it becomes a plain index of the same
-- name.  Returns what disable_versioning needs to restore them.
CREATE OR REPLACE FUNCTION staging._demote_unique_keys(tbl regclass, key_name name) RETURNS jsonb
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    uniques jsonb := '[]';
BEGIN
    FOR k IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, c.relname AS index_name, con.conname, con.contype,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS indexdef
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = tbl
                                                AND con.contype IN ('p', 'u')
         WHERE i.indrelid = tbl AND i.indisunique AND con.conname IS DISTINCT FROM key_name
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
        PERFORM staging._progress('enable_versioning',
            pg_catalog.format('rebuilt unique key %I of %s as a plain index', k.index_name, tbl));
    END LOOP;
    RETURN uniques;
END
$$;
COMMENT ON FUNCTION staging._demote_unique_keys(regclass, name) IS
    'enable_versioning step: turns the unique keys other than the entity''s into plain indexes; returns them.';

-- enable_versioning, step 4: the new columns, constraints, indexes and
-- trigger.  Existing rows are version [1, max), row_id = entity id (so
-- attribute tables need not be rewritten).  One rewrite.  Names start with
-- prefix (the table's name, cut).
CREATE OR REPLACE FUNCTION staging._add_version_columns(tbl regclass, entity_column name, key_name name,
        entity_identity "char", seq regclass, start_id bigint, prefix text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF entity_identity <> '' THEN
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
        'ADD CONSTRAINT %8$I EXCLUDE USING hash ('
        '    staging._version_box(%3$I, created_in, updated_in) staging.version_box_ops WITH OPERATOR(staging.&&&)'
        ') DEFERRABLE INITIALLY IMMEDIATE, '
        'ADD CONSTRAINT %9$I FOREIGN KEY (%3$I) REFERENCES %4$s (sequence_value) ON DELETE CASCADE',
        tbl, key_name, entity_column, seq::text, NULL,
        prefix || '_row_id_pkey', prefix || '_versions_check', prefix || '_versions_excl',
        prefix || '_' || pg_catalog.left(entity_column, 10) || '_fkey');
    PERFORM staging._progress('enable_versioning',
        pg_catalog.format('rewrote %s with row_id, created_in and updated_in; built its primary key, '
                          'exclusion constraint and foreign key to %s', tbl, seq));
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN row_id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH %s)',
                              tbl, start_id);
    -- Two indexes besides the primary key and the exclusion constraint's:
    -- lookups by entity (with several versions per entity the filter's
    -- updated_in bound narrows them to the visible row), and version
    -- ranges for advance, reschedule and changelogs (see _created_between).
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (%I, updated_in)',
                              prefix || '_' || pg_catalog.left(entity_column, 12) || '_idx', tbl, entity_column);
    PERFORM staging._progress('enable_versioning',
        pg_catalog.format('built index %I of %s', prefix || '_' || pg_catalog.left(entity_column, 12) || '_idx', tbl));
    EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (updated_in, created_in)', prefix || '_versions_idx', tbl);
    PERFORM staging._progress('enable_versioning',
        pg_catalog.format('built index %I of %s', prefix || '_versions_idx', tbl));
    EXECUTE pg_catalog.format('CREATE TRIGGER staging_register_entity BEFORE INSERT OR UPDATE OF %I ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION staging._register_entity()', entity_column, tbl);
END
$$;
COMMENT ON FUNCTION staging._add_version_columns(regclass, name, name, "char", regclass, bigint, text) IS
    'enable_versioning step: adds row_id, created_in, updated_in, their constraints, indexes and the entity trigger.';

-- Turn a table into a versioned one (see README "Versioned tables").
CREATE OR REPLACE FUNCTION staging.enable_versioning(tbl regclass, entity_column name DEFAULT 'entity_id')
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    rel name;
    ent record;
    k record;
    seq_name name;
    seq regclass;
    prefix text;
    start_id bigint;
    saved jsonb;
    uniques jsonb;
BEGIN
    PERFORM staging._check_table(tbl, 'version');
    IF EXISTS (SELECT FROM staging.versioned_table WHERE relid = tbl) THEN
        RAISE EXCEPTION 'table % is already versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Nothing to do (staging.versioned_tables lists it); to change its entity column, call staging.disable_versioning(%L) first.', tbl::text);
    END IF;
    SELECT a.main_table INTO k FROM staging.attribute_table a WHERE a.relid = tbl;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is an attribute table of versioned table %', tbl, k.main_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Its rows are versioned with %s already; to version it on its own, call staging.disable_versioning(%L) first.', k.main_table, k.main_table::text);
    END IF;
    SELECT v.relid INTO k FROM staging.versioned_table v WHERE v.sequence_table = tbl;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is the sequence table of versioned table %', tbl, k.relid
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('It holds the entity ids of %s and is not versioned itself: version the table whose rows change.', k.relid);
    END IF;
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    SELECT * INTO ent FROM staging._versioning_entity(tbl, entity_column);
    -- (measured before it is a name: a name is cut to 63 bytes)
    IF pg_catalog.octet_length('sequence_' || rel::text) > 63 THEN
        RAISE EXCEPTION 'the name of the sequence table of % would be longer than 63 bytes', tbl
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Rename the table to a shorter name first.';
    END IF;
    seq_name := 'sequence_' || rel;
    IF EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = nsp AND c.relname = seq_name) THEN
        RAISE EXCEPTION 'cannot create the sequence table %.% of %: a relation of that name exists',
                        pg_catalog.quote_ident(nsp), pg_catalog.quote_ident(seq_name), tbl
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Rename or drop that relation first.';
    END IF;

    PERFORM staging._progress_begin('enable_versioning');
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    PERFORM staging._progress('enable_versioning', pg_catalog.format('locked %s', tbl));
    IF ent.key_type = 'u' THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE %I IS NULL)', tbl, entity_column) INTO k;
        IF k.exists THEN
            RAISE EXCEPTION 'table % has rows without an entity id in %', tbl, pg_catalog.quote_ident(entity_column)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give every row an entity id first.';
        END IF;
    END IF;

    start_id := staging._create_sequence_table(tbl, entity_column, ent.type, nsp, seq_name);
    seq := pg_catalog.format('%I.%I', nsp, seq_name)::regclass;
    prefix := pg_catalog.left(rel, 40);

    -- Relations by entity, not by version: foreign keys to the entity
    -- column now reference the sequence table.
    FOR k IN SELECT c.oid, c.conname, c.conrelid::pg_catalog.regclass AS rel,
                    pg_catalog.row_number() OVER (ORDER BY c.oid) AS i, pg_catalog.count(*) OVER () AS n
               FROM pg_catalog.pg_constraint c
              WHERE c.contype = 'f' AND c.confrelid = tbl AND c.conparentid = 0
              ORDER BY c.oid
    LOOP
        PERFORM staging._move_foreign_key(k.oid, seq, 'sequence_value');
        PERFORM staging._progress('enable_versioning',
            pg_catalog.format('moved foreign key %I of %s to %s, %s of %s', k.conname, k.rel, seq, k.i, k.n));
    END LOOP;

    uniques := staging._demote_unique_keys(tbl, ent.key_name);
    PERFORM staging._add_version_columns(tbl, entity_column, ent.key_name, ent.attidentity, seq, start_id, prefix);

    -- Registered last: until here the table was an ordinary one.
    saved := pg_catalog.jsonb_build_object(
        'key', ent.key_name, 'key_type', ent.key_type,
        'entity_default', CASE WHEN ent.attidentity = '' THEN ent.default_expr END,
        'entity_identity', nullif(ent.attidentity::text, ''),
        'uniques', uniques,
        'indexes', pg_catalog.jsonb_build_array(prefix || '_' || pg_catalog.left(entity_column, 12) || '_idx',
                                               prefix || '_versions_idx'));
    INSERT INTO staging.versioned_table (relid, entity_column, sequence_table, saved)
    VALUES (tbl, entity_column, seq, saved);
    -- Writes follow the session version from now on.
    PERFORM staging._enable_versioned_writes(tbl);
    PERFORM staging._progress_end('enable_versioning', pg_catalog.format('%s is versioned', tbl));
END
$$;
COMMENT ON FUNCTION staging.enable_versioning(regclass, name) IS
    'Turns a table, data included, into a versioned table (row_id, created_in, updated_in, sequence table).';

-- add_attribute_table, step 1: the foreign key of an attribute table to
-- its entity (which points at the sequence table since enable_versioning),
-- after checking that the table can be linked to main_table.
CREATE OR REPLACE FUNCTION staging._attribute_foreign_key(attribute_table regclass, main_table regclass,
        sequence_table regclass, entity_column name,
        OUT oid oid, OUT conname name, OUT attname name, OUT attnum smallint, OUT type regtype)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    fk record;
    k record;
    n int;
BEGIN
    IF EXISTS (SELECT FROM staging.versioned_table v WHERE v.relid = attribute_table) THEN
        RAISE EXCEPTION 'table % is a versioned main table, not an attribute table', attribute_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Link its attribute tables to it: staging.add_attribute_table(attribute_table => ..., main_table => %L).', attribute_table::text);
    END IF;
    SELECT a.main_table INTO k FROM staging.attribute_table a WHERE a.relid = attribute_table;
    IF FOUND THEN
        RAISE EXCEPTION 'table % is already an attribute table of %', attribute_table, k.main_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Nothing to do; to link it to another table, call staging.disable_versioning(%L) first.', k.main_table::text);
    END IF;
    SELECT pg_catalog.count(*) INTO n FROM pg_catalog.pg_constraint c
     WHERE c.contype = 'f' AND c.conrelid = attribute_table AND c.confrelid = sequence_table;
    IF n = 0 THEN
        RAISE EXCEPTION 'table % has no foreign key to the entity column of %', attribute_table, main_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('An attribute table refers to its entity with FOREIGN KEY (...) REFERENCES %s (sequence_value) '
                                           '(or REFERENCES %s (%I) before enable_versioning, which moves that key).',
                                           sequence_table, main_table, entity_column);
    ELSIF n > 1 THEN
        RAISE EXCEPTION 'table % has % foreign keys to the entity column of %', attribute_table, n, main_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A table that refers to several entities is a relation table, not an attribute table: leave it as it is.';
    END IF;
    SELECT c.oid, c.conname, a.attname, a.attnum, a.atttypid::pg_catalog.regtype AS type INTO fk
      FROM pg_catalog.pg_constraint c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.conrelid = attribute_table AND c.confrelid = sequence_table;
    IF fk.attname <> 'row_id' AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
                                           WHERE a.attrelid = attribute_table AND a.attname = 'row_id'
                                             AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column row_id', attribute_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Its entity column becomes row_id; rename that column first.';
    END IF;
    oid := fk.oid;
    conname := fk.conname;
    attname := fk.attname;
    attnum := fk.attnum;
    type := fk.type;
END
$$;
COMMENT ON FUNCTION staging._attribute_foreign_key(regclass, regclass, regclass, name) IS
    'add_attribute_table step: checks an attribute table and returns its foreign key to the entity.';

-- add_attribute_table, step 2, when the main table has several versions of
-- an entity: each version row gets its own copy of its entity's attribute
-- rows.  The first version row keeps the rows, the others get copies
-- (identity and serial columns take new values).  The unique keys with
-- the link column (attnum, now named row_id) are dropped: returns the
-- statements that recreate them.
CREATE OR REPLACE FUNCTION staging._copy_attribute_rows(attribute_table regclass, main_table regclass,
        entity_column name, attnum smallint) RETURNS text[]
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    keys text[];
    copied text;
    source text;
    added bigint;
BEGIN
    keys := staging._drop_unique_keys(attribute_table, attnum);
    -- the copies link to every version row: their row_ids must fit
    EXECUTE pg_catalog.format('SELECT min(row_id), max(row_id) FROM %s', main_table) INTO k;
    PERFORM staging._widen_to_fit(attribute_table, 'row_id', k.min, k.max);
    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
           pg_catalog.string_agg('a.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
      INTO copied, source
      FROM pg_catalog.pg_attribute a
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = attribute_table AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attnum <> _copy_attribute_rows.attnum AND a.attgenerated = '' AND a.attidentity = ''
       AND coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') NOT LIKE 'nextval(%';
    -- As the attribute table's owner, in a security-restricted operation:
    -- its triggers, defaults and checks never run with the rights of a
    -- superuser (or a member of several owners) linking it.
    added := staging._run_as_clone_owner(attribute_table, pg_catalog.format(
        'WITH firsts AS (SELECT %2$I AS entity, min(row_id) AS first FROM %1$s GROUP BY %2$I), '
        'moved AS (UPDATE %3$s a SET row_id = f.first FROM firsts f '
        '           WHERE f.entity = a.row_id AND f.first <> a.row_id) '
        'INSERT INTO %3$s (%4$s row_id) '
        'SELECT %5$s m.row_id FROM %3$s a JOIN %1$s m ON m.%2$I = a.row_id '
        '  JOIN firsts f ON f.entity = m.%2$I WHERE m.row_id <> f.first',
        main_table, entity_column, attribute_table,
        coalesce(copied || ',', ''), coalesce(source || ',', '')), 'pg_catalog, pg_temp');
    PERFORM staging._progress('add_attribute_table',
        pg_catalog.format('copied the rows of %s for each version row of %s (%s rows added)',
                          attribute_table, main_table, added));
    RETURN keys;
END
$$;
COMMENT ON FUNCTION staging._copy_attribute_rows(regclass, regclass, name, smallint) IS
    'add_attribute_table step: gives each version row of the main table its own copy of the attribute rows.';

-- Link an attribute table to its versioned main table by row_id.
CREATE OR REPLACE FUNCTION staging.add_attribute_table(attribute_table regclass, main_table regclass)
    RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    fk record;
    versions boolean;
    previous text;
    keys text[];
    statement text;
    actions text;
    fk_name name;
BEGIN
    IF attribute_table IS NULL OR main_table IS NULL THEN
        RAISE EXCEPTION 'staging.add_attribute_table: attribute_table and main_table must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the attribute table and its versioned main table, e.g. staging.add_attribute_table(''product_decimal'', ''product'').';
    END IF;
    PERFORM staging._check_table(attribute_table, 'link');
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = main_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not versioned', main_table
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Call staging.enable_versioning(%L) first.', main_table);
    END IF;
    SELECT * INTO fk
      FROM staging._attribute_foreign_key(attribute_table, main_table, reg.sequence_table, reg.entity_column);

    PERFORM staging._progress_begin('add_attribute_table');
    EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', main_table);
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', attribute_table);
    PERFORM staging._progress('add_attribute_table', pg_catalog.format('locked %s and %s', main_table, attribute_table));
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
        PERFORM staging._progress('add_attribute_table',
            pg_catalog.format('moved foreign key %I of %s to %s (row_id)', fk_name, attribute_table, main_table));
    ELSE
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', attribute_table, fk.conname);
        keys := staging._copy_attribute_rows(attribute_table, main_table, reg.entity_column, fk.attnum);
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (row_id) REFERENCES %s (row_id) ON DELETE CASCADE',
                                  attribute_table, fk_name, main_table);
        PERFORM staging._progress('add_attribute_table',
            pg_catalog.format('added foreign key %I of %s to %s (row_id)', fk_name, attribute_table, main_table));
    END IF;
    -- The column keeps its type (an integer one references the bigint
    -- row_id just as well), so the table is not rewritten.
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN row_id SET NOT NULL', attribute_table);
    PERFORM staging._progress('add_attribute_table', pg_catalog.format('made row_id of %s NOT NULL', attribute_table));
    FOREACH statement IN ARRAY coalesce(keys, '{}') LOOP
        EXECUTE statement;
        PERFORM staging._progress('add_attribute_table', pg_catalog.format('rebuilt a unique key of %s', attribute_table));
    END LOOP;
    -- joins and cascades from the main table look rows up by row_id
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                    WHERE i.indrelid = attribute_table AND i.indkey[0] = fk.attnum) THEN
        EXECUTE pg_catalog.format('CREATE INDEX ON %s (row_id)', attribute_table);
        PERFORM staging._progress('add_attribute_table', pg_catalog.format('built an index of %s on row_id', attribute_table));
    END IF;
    PERFORM staging._restore_version(previous);
    INSERT INTO staging.attribute_table (relid, main_table, entity_column, saved)
    VALUES (attribute_table, main_table, fk.attname,
            pg_catalog.jsonb_build_object('foreign_key', fk.conname,
                                          'actions', actions, 'type', fk.type));
    PERFORM staging._enable_versioned_writes(main_table);
    PERFORM staging._progress_end('add_attribute_table',
        pg_catalog.format('%s is an attribute table of %s', attribute_table, main_table));
END
$$;
COMMENT ON FUNCTION staging.add_attribute_table(regclass, regclass) IS
    'Links an attribute table to its versioned main table by row_id (each version row gets its own attribute rows).';

-- disable_versioning, step 1: every table whose foreign keys change must
-- be the caller's: the main table, its attribute tables and the tables
-- referencing its sequence table.
CREATE OR REPLACE FUNCTION staging._check_unversioning_owners(tbl regclass, sequence_table regclass)
    RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
BEGIN
    PERFORM staging._check_table(tbl, 'disable versioning of');
    FOR k IN SELECT r.oid::pg_catalog.regclass AS relid, r.relowner
               FROM pg_catalog.pg_class r
              WHERE r.oid IN (SELECT a.relid FROM staging.attribute_table a WHERE a.main_table = tbl
                              UNION
                              SELECT c.conrelid FROM pg_catalog.pg_constraint c
                               WHERE c.contype = 'f' AND c.confrelid = sequence_table)
    LOOP
        IF NOT pg_catalog.pg_has_role(k.relowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to disable versioning of %: its foreign key to % changes',
                            k.relid, tbl, tbl
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run it as a role that owns both tables (or is a member of both owning roles).';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._check_unversioning_owners(regclass, regclass) IS
    'disable_versioning step: raises 42501 unless the caller owns every table whose foreign keys change.';

-- disable_versioning, step 2: the attribute tables (attrs: their former
-- registrations) link by entity again: row_id gets its old name back, and
-- entity ids when the main table was renumbered; the column gets its old
-- type back when the ids fit.
CREATE OR REPLACE FUNCTION staging._unlink_attribute_tables(tbl regclass, entity_column name,
        entity_type regtype, attrs jsonb, renumber boolean) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    attr record;
    k record;
    keys text[];
    statement text;
    target_type regtype;
BEGIN
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
            EXECUTE pg_catalog.format('SELECT min(%1$I), max(%1$I) FROM %2$s', entity_column, tbl) INTO k;
            PERFORM staging._widen_to_fit(attr.relid, attr.entity_column, k.min, k.max);
            -- As the attribute table's owner (its triggers, checks and
            -- rules are its owner's code), as the rows deleted below.
            PERFORM staging._run_as_clone_owner(attr.relid,
                pg_catalog.format('UPDATE %1$s a SET %2$I = m.%3$I FROM %4$s m '
                                  'WHERE m.row_id = a.%2$I AND m.row_id <> m.%3$I',
                                  attr.relid, attr.entity_column, entity_column, tbl),
                'pg_catalog, pg_temp');
        END IF;
        -- The column's type from before add_attribute_table (it was widened
        -- since, by its owner or above), when its entity ids fit.
        target_type := coalesce(attr.saved->>'type', entity_type::text)::pg_catalog.regtype;
        IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = attr.relid AND a.attnum = attr.attnum) <> target_type THEN
            EXECUTE pg_catalog.format('SELECT min(%1$I), max(%1$I) FROM %2$s', attr.entity_column, attr.relid) INTO k;
            IF staging._integer_fits(target_type, k.min, k.max) THEN
                -- (a rewrite that checks the constraints on the column
                -- again: as the table's owner, as _widen_to_fit does)
                PERFORM staging._run_as_clone_owner(attr.relid,
                    pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s',
                                      attr.relid, attr.entity_column, target_type),
                    'pg_catalog, pg_temp');
            ELSE
                RAISE NOTICE 'column % of % stays bigint: its entity ids do not fit %',
                             pg_catalog.quote_ident(attr.entity_column), attr.relid, target_type;
            END IF;
        END IF;
        FOREACH statement IN ARRAY coalesce(keys, '{}') LOOP
            EXECUTE statement;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._unlink_attribute_tables(regclass, name, regtype, jsonb, boolean) IS
    'disable_versioning step: links former attribute tables to the entity column again.';

-- disable_versioning, step 3: the main table's versioning objects go, the
-- keys, default or identity saved by enable_versioning come back; new ids
-- continue after last_id, the greatest one handed out while versioned.
CREATE OR REPLACE FUNCTION staging._restore_main_table(tbl regclass, entity_column name,
        sequence_table regclass, saved jsonb, last_id bigint) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    u jsonb;
    serial_seq text;
    detail text;
BEGIN
    FOR k IN SELECT c.conname FROM pg_catalog.pg_constraint c
              WHERE c.conrelid = tbl AND c.contype = 'f' AND c.confrelid = sequence_table
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
    END LOOP;
    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, entity_column);
    FOR k IN SELECT pg_catalog.jsonb_array_elements_text(saved->'indexes') AS name LOOP
        EXECUTE pg_catalog.format('DROP INDEX IF EXISTS %I.%I',
                                  (SELECT n.nspname FROM pg_catalog.pg_class c
                                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl),
                                  k.name);
    END LOOP;
    FOR k IN SELECT c.conname FROM pg_catalog.pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'x' LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, k.conname);
    END LOOP;
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN row_id, DROP COLUMN created_in, DROP COLUMN updated_in', tbl);
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s (%I)', tbl, saved->>'key',
                              CASE saved->>'key_type' WHEN 'u' THEN 'UNIQUE' ELSE 'PRIMARY KEY' END,
                              entity_column);
    FOR u IN SELECT * FROM pg_catalog.jsonb_array_elements(saved->'uniques') LOOP
        SELECT i.indexrelid::pg_catalog.regclass AS idx, pg_catalog.pg_get_indexdef(i.indexrelid) AS def INTO k
          FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = tbl AND c.relname = u->>'index';
        IF FOUND THEN
            EXECUTE pg_catalog.format('DROP INDEX %s', k.idx);
            BEGIN
                EXECUTE pg_catalog.regexp_replace(k.def, '^CREATE INDEX', 'CREATE UNIQUE INDEX');
            EXCEPTION WHEN unique_violation THEN
                GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
                RAISE EXCEPTION 'cannot make index % of table % unique again', u->>'index', tbl
                    USING ERRCODE = 'unique_violation', DETAIL = detail,
                          CONSTRAINT = u->>'index', TABLE = tbl,
                          HINT = pg_catalog.format('Entities share this value at the live version: change or delete all '
                                                   'but one of them, then call staging.disable_versioning(%L) again.',
                                                   tbl::text);
            END;
            IF u->>'constraint' IS NOT NULL THEN
                EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I', tbl, u->>'constraint',
                                          CASE u->>'type' WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                                          u->>'index');
            END IF;
        END IF;
    END LOOP;
    -- New ids continue after every id handed out while versioned.
    IF saved->>'entity_identity' IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (START WITH %s)',
                                  tbl, entity_column,
                                  CASE saved->>'entity_identity' WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END,
                                  coalesce(last_id, 0) + 1);
    ELSIF saved->>'entity_default' IS NOT NULL THEN
        -- A serial's default names its sequence as it was named then; the
        -- column still owns its sequence, by OID: a clone's own copy, or
        -- the same one after a schema rename (a swap).
        -- The saved expression is text that the table's owner may change in
        -- the registry: it is restored as that owner, in a
        -- security-restricted operation, so that whatever it holds never
        -- runs with the rights of a superuser turning versioning off.
        serial_seq := pg_catalog.pg_get_serial_sequence(tbl::text, entity_column);
        PERFORM staging._run_as_clone_owner(tbl,
            pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s',
                              tbl, entity_column,
                              CASE WHEN serial_seq IS NOT NULL
                                    AND saved->>'entity_default' ~ '^nextval\(''.*''::regclass\)$'
                                   THEN pg_catalog.format('nextval(%L::regclass)', serial_seq)
                                   ELSE saved->>'entity_default' END),
            'pg_catalog, pg_temp');
        IF serial_seq IS NOT NULL AND last_id IS NOT NULL THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.setval(%1$L, GREATEST(%2$s, (SELECT last_value FROM %1$s)))',
                                      serial_seq, last_id);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION staging._restore_main_table(regclass, name, regclass, jsonb, bigint) IS
    'disable_versioning step: removes the versioning columns and constraints of a main table and restores its keys.';

-- disable_versioning, step 4: relations by entity again (foreign keys to
-- the sequence table and from the former attribute tables reference the
-- entity column), then the sequence table goes.
CREATE OR REPLACE FUNCTION staging._relink_to_entity(tbl regclass, entity_column name,
        sequence_table regclass, attrs jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    attr record;
BEGIN
    FOR k IN SELECT c.oid FROM pg_catalog.pg_constraint c
              WHERE c.contype = 'f' AND c.confrelid = sequence_table AND c.conparentid = 0
    LOOP
        PERFORM staging._move_foreign_key(k.oid, tbl, entity_column);
    END LOOP;
    FOR attr IN SELECT * FROM pg_catalog.jsonb_to_recordset(attrs) AS d(relid regclass, entity_column name, saved jsonb) LOOP
        -- The saved actions are text that the attribute table's owner may
        -- change in the registry: only what _foreign_key_actions writes.
        IF NOT coalesce(attr.saved->>'actions', '') ~ staging._foreign_key_actions_pattern() THEN
            RAISE EXCEPTION 'the saved foreign key actions of attribute table % are not valid: %',
                            attr.relid, attr.saved->>'actions'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = pg_catalog.format('Set "actions" of its row in staging.attribute_table to a clause such as '
                                               '%L (or remove it), then call staging.disable_versioning(%L) again.',
                                               ' ON UPDATE NO ACTION ON DELETE CASCADE', tbl::text);
        END IF;
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %s (%I)%s',
                                  attr.relid,
                                  coalesce(attr.saved->>'foreign_key',
                                           pg_catalog.left((SELECT relname FROM pg_catalog.pg_class WHERE oid = attr.relid), 40)
                                           || '_' || pg_catalog.left(attr.entity_column, 12) || '_fkey'),
                                  attr.entity_column, tbl, entity_column,
                                  coalesce(attr.saved->>'actions', ' ON DELETE CASCADE'));
    END LOOP;
    EXECUTE pg_catalog.format('DROP TABLE %s', sequence_table);
END
$$;
COMMENT ON FUNCTION staging._relink_to_entity(regclass, name, regclass, jsonb) IS
    'disable_versioning step: points the foreign keys to the entity column again and drops the sequence table.';

-- Back to a plain table holding the live version of each entity.
CREATE OR REPLACE FUNCTION staging.disable_versioning(tbl regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    k record;
    live bigint := staging.live_version();
    ent record;
    renumber boolean;
    attrs jsonb;
    last_id bigint;
    dup text;
    rows_before bigint;
    entities_gone bigint;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'staging.disable_versioning: table must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a versioned main table, e.g. staging.disable_versioning(''product'').';
    END IF;
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = tbl;
    IF NOT FOUND THEN
        SELECT a.main_table INTO k FROM staging.attribute_table a WHERE a.relid = tbl;
        IF FOUND THEN
            RAISE EXCEPTION 'table % is an attribute table, not a versioned main table', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Call staging.disable_versioning(%L).', k.main_table);
        END IF;
        RAISE EXCEPTION 'table % is not versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Nothing to disable: staging.versioned_tables lists the versioned tables.';
    END IF;
    PERFORM staging._check_unversioning_owners(tbl, reg.sequence_table);
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
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', tbl) INTO rows_before;
    -- Each DELETE runs as the table's owner in a security-restricted
    -- operation: a superuser turning versioning off must not run the
    -- owner's triggers, checks or rules with its own rights.
    entities_gone := staging._run_as_clone_owner(reg.sequence_table,
        pg_catalog.format('DELETE FROM %1$s s WHERE NOT EXISTS (SELECT FROM %2$s m WHERE m.%3$I = s.sequence_value '
                          'AND staging._visible_at(m.created_in, m.updated_in, %4$s))',
                          reg.sequence_table, tbl, reg.entity_column, live),
        'pg_catalog, pg_temp');
    PERFORM staging._run_as_clone_owner(tbl,
        pg_catalog.format('DELETE FROM %s WHERE NOT staging._visible_at(created_in, updated_in, %s)', tbl, live),
        'pg_catalog, pg_temp');
    EXECUTE pg_catalog.format('SELECT %s - pg_catalog.count(*) FROM %s', rows_before, tbl) INTO rows_before;
    IF entities_gone > 0 THEN
        RAISE NOTICE 'disable_versioning: deleted % rows of % that are not valid at the live version % (history and future versions)',
                     rows_before, tbl, live
            USING DETAIL = pg_catalog.format('%s entities had no row at the live version: they are gone from %s '
                                             '(relation tables followed their foreign keys'' ON DELETE).',
                                             entities_gone, tbl);
    ELSIF rows_before > 0 THEN
        RAISE NOTICE 'disable_versioning: deleted % rows of % that are not valid at the live version % (history and future versions)',
                     rows_before, tbl, live;
    END IF;
    -- Overlapping versions (possible only with the exclusion constraint
    -- dropped or its check skipped) would fail the entity key below.
    EXECUTE pg_catalog.format('SELECT %1$I::text FROM %2$s GROUP BY %1$I HAVING pg_catalog.count(*) > 1 ORDER BY %1$I LIMIT 1',
                              reg.entity_column, tbl)
        INTO dup;
    IF dup IS NOT NULL THEN
        RAISE EXCEPTION 'cannot disable versioning of table %: entity % has more than one row at the live version %',
                        tbl, dup, live
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('staging.verify(%L) lists the overlapping versions: delete or fix them first.',
                                           tbl::text);
    END IF;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE row_id <> %I)', tbl, reg.entity_column)
        INTO renumber;

    PERFORM staging._unlink_attribute_tables(tbl, reg.entity_column, ent.type, attrs, renumber);
    PERFORM staging._restore_main_table(tbl, reg.entity_column, reg.sequence_table, reg.saved, last_id);
    PERFORM staging._relink_to_entity(tbl, reg.entity_column, reg.sequence_table, attrs);
END
$$;
COMMENT ON FUNCTION staging.disable_versioning(regclass) IS
    'Turns a versioned table back into a plain table holding the live version of each entity.';

-- Row counts of a versioned table for the staging.versioned_tables view
-- (every version; NULL for tables the caller may not read, or not at
-- every version).
CREATE OR REPLACE FUNCTION staging._counts(tbl regclass, OUT entities bigint, OUT versions bigint)
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
    -- The counts of every version tell how many entities and rows exist
    -- only in the future: for roles that may read every version (the
    -- owner, superusers, roles that may execute staging.sign_preview).
    IF NOT pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = tbl), 'USAGE')
       AND NOT pg_catalog.has_function_privilege('staging.sign_preview(bigint, interval)', 'EXECUTE') THEN
        RETURN;
    END IF;
    previous := staging._read_every_version();
    EXECUTE pg_catalog.format('SELECT (SELECT pg_catalog.count(*) FROM %s), (SELECT pg_catalog.count(*) FROM %s)',
                              reg.sequence_table, tbl) INTO entities, versions;
    PERFORM staging._restore_version(previous);
END
$$;
COMMENT ON FUNCTION staging._counts(regclass) IS
    'Entities and rows (all versions) of a versioned table; NULL when the caller may not read every version of it.';

CREATE OR REPLACE VIEW staging.versioned_tables AS
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
GRANT SELECT ON staging.versioned_tables TO PUBLIC;

-- Check every invariant of a versioned table; no rows when all hold.
CREATE OR REPLACE FUNCTION staging.verify(tbl regclass) RETURNS TABLE(entity_id bigint, problem text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    reg record;
    attr record;
    previous text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'staging.verify: table must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a versioned main table, e.g. staging.verify(''product''): its attribute tables are checked with it.';
    END IF;
    SELECT * INTO reg FROM staging.versioned_table v WHERE v.relid = tbl;
    IF NOT FOUND THEN
        SELECT a.main_table INTO attr FROM staging.attribute_table a WHERE a.relid = tbl;
        IF FOUND THEN
            RAISE EXCEPTION 'table % is an attribute table, not a versioned main table', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Call staging.verify(%L): it checks its attribute tables too.', attr.main_table);
        END IF;
        RAISE EXCEPTION 'table % is not versioned', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'staging.verify checks a versioned main table and its attribute tables.';
    END IF;
    previous := staging._read_every_version();
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'x') THEN
        RETURN QUERY SELECT NULL::bigint, 'no exclusion constraint keeps versions from overlapping'::text;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c
                    WHERE c.conrelid = tbl AND c.contype = 'f' AND c.confrelid = reg.sequence_table) THEN
        RETURN QUERY SELECT NULL::bigint,
            pg_catalog.format('no foreign key keeps the entities of %s in the sequence table %s', tbl, reg.sequence_table);
    END IF;
    RETURN QUERY SELECT NULL::bigint,
           pg_catalog.format('%s: no foreign key attaches its rows to rows of %s by row_id', a.relid, tbl)
      FROM staging.attribute_table a
     WHERE a.main_table = tbl
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c
                        WHERE c.conrelid = a.relid AND c.contype = 'f' AND c.confrelid = tbl)
     ORDER BY a.relid::text;
    -- The triggers that make writes versioned (without them a write at a
    -- future version changes the live row).
    RETURN QUERY SELECT NULL::bigint,
           CASE WHEN t.oid IS NULL THEN pg_catalog.format('%s: trigger %I is missing', n.rel, n.name)
                ELSE pg_catalog.format('%s: trigger %I is disabled (ALTER TABLE %s ENABLE TRIGGER %I)',
                                       n.rel, n.name, n.rel, n.name) END
      FROM (SELECT tbl AS rel, w.name, w.ord
              FROM pg_catalog.unnest(staging._write_trigger_names('main')) WITH ORDINALITY w(name, ord)
            UNION ALL
            SELECT a.relid, w.name, w.ord
              FROM staging.attribute_table a,
                   pg_catalog.unnest(staging._write_trigger_names('attribute')) WITH ORDINALITY w(name, ord)
             WHERE a.main_table = tbl) n
      LEFT JOIN pg_catalog.pg_trigger t ON t.tgrelid = n.rel AND t.tgname = n.name
     WHERE t.oid IS NULL OR t.tgenabled IN ('D', 'R')
     ORDER BY n.rel::text <> tbl::text, n.rel::text, n.ord;
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

