-------------------------------------------------------------------------------
-- Staging schemas and the atomic swap
-------------------------------------------------------------------------------

COMMENT ON TABLE staging.invalidations IS
    'One row per change that caches must forget (kind ''schema_swap'': detail names the schemas; '
    'kind ''go_live'': the live version moved); each row is also sent as JSON by NOTIFY staging_invalidation '
    'when its transaction commits, or with staging.invalidate_after_replay = on once the standbys replayed it.';
COMMENT ON COLUMN staging.invalidations.valid_from IS
    'From when the new content is what readers see (for a swap: the end of the swap, just before its commit).';
GRANT SELECT ON staging.invalidations TO PUBLIC;
COMMENT ON SEQUENCE staging.invalidations_id_seq IS
    'Ids of staging.invalidations (its identity column).';

-- Schema swaps: run by the schemas' owners, not superusers.  The internal
-- helpers they call stay executable by PUBLIC because each checks its
-- caller: _swap_lock() ownership of both schemas, _record_swap() that this
-- transaction locked them, _clone_registrations() that the clone's
-- relations were just created by this transaction.

-- The OID of a schema named by an argument; clear errors for NULL and
-- missing schemas.
CREATE OR REPLACE FUNCTION staging._schema_oid(schema_name name, argument text) RETURNS oid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp oid;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'argument % must not be NULL', argument
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the name of the ' || argument || ' schema.';
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
CREATE OR REPLACE FUNCTION staging._assert_user_schema(schema_name name) RETURNS void
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
CREATE OR REPLACE FUNCTION staging._object_schema(classid oid, objid oid) RETURNS oid
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
CREATE OR REPLACE FUNCTION staging._outside_dependents(schemas oid[])
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
CREATE OR REPLACE FUNCTION staging._assert_no_outside_dependents(live name, candidate name,
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
CREATE OR REPLACE FUNCTION staging._clone_of(rel regclass, source oid, target oid) RETURNS regclass
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
CREATE OR REPLACE FUNCTION staging._clone_registrations(source oid, target oid) RETURNS void
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
    -- Changelog subscriptions: add their registry tables to this
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
    -- The registry guard checks owners, but runs here as the extension's
    -- owner: a registration copied to a fresh relation must not name a
    -- relation outside the clone (another role's sequence or main table).
    IF EXISTS (SELECT FROM staging.versioned_table v
                WHERE staging._created_in_this_transaction(v.relid)
                  AND NOT staging._created_in_this_transaction(v.sequence_table))
       OR EXISTS (SELECT FROM staging.attribute_table a
                   WHERE staging._created_in_this_transaction(a.relid)
                     AND NOT staging._created_in_this_transaction(a.main_table)) THEN
        RAISE EXCEPTION 'registrations are copied only between relations just created by staging.clone_schema()'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A registration of the source schema names a relation outside it: clone that one too.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._clone_registrations(oid, oid) IS
    'Copies versioning registrations of a schema''s relations to the relations of its fresh clone.';

CREATE OR REPLACE FUNCTION staging._created_in_this_transaction(rel regclass) RETURNS boolean
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_created_in_this_transaction';
COMMENT ON FUNCTION staging._created_in_this_transaction(regclass) IS
    'True when the relation was created by the current transaction.';

-- clone_schema runs in steps, each a function of its own; like clone_schema
-- they run as the caller, who owns what they create, so PUBLIC may execute
-- them (they do nothing the caller could not do by hand).

-- clone_schema, step 1: refuse what cannot be cloned, before creating
-- anything.
CREATE OR REPLACE FUNCTION staging._clone_schema_check(source name, target name, with_data boolean, source_oid oid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    unsupported text;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'argument target must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the name of the schema to create.';
    END IF;
    IF source = target THEN
        RAISE EXCEPTION 'cannot clone schema "%" into itself', source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the name of a new schema as target.';
    END IF;
    PERFORM staging._assert_user_schema(source);
    PERFORM staging._assert_user_schema(target);
    IF with_data IS NULL THEN
        RAISE EXCEPTION 'argument with_data must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass true to copy the rows, false (the default) for empty tables.';
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
                  DETAIL = 'Unsupported tables: ' || unsupported || '.',
                  HINT = 'Move them to another schema, or clone the schema by hand.';
    END IF;
    -- The clone of a table is filled and defined as the table's owner (its
    -- defaults, checks and index expressions are the owner's code): the
    -- caller must be able to act as that owner.
    SELECT string_agg(format('%I (owner %s)', c.relname, c.relowner::regrole), ', ' ORDER BY c.relname)
      INTO unsupported
      FROM pg_class c
     WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'm')
       AND NOT (pg_has_role(c.relowner, 'USAGE') AND pg_has_role(c.relowner, 'MEMBER'));
    IF unsupported IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied to clone schema "%": it has tables of roles whose privileges you do not have', source
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Tables: ' || unsupported || '.  Their clones belong to the same owners and '
                           'are filled and defined with those owners'' rights.',
                  HINT = 'Run staging.clone_schema as a member of those roles, or as a superuser.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._clone_schema_check(name, name, boolean, oid) IS
    'clone_schema step: checks the arguments, that the source has only tables it can clone, '
    'and that the caller has the privileges of their owners.';

-- clone_schema, step 2: the sequences and the tables of the clone.
CREATE OR REPLACE FUNCTION staging._clone_schema_tables(source name, target name, source_oid oid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
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
    -- NOT NULL constraints, storage, comments and statistics, and the
    -- access method (staging for versioned tables).  Indexes are made
    -- below under their own names (LIKE would rename them).
    FOR r IN
        SELECT c.oid, c.relname, c.relpersistence, c.reloptions, am.amname
          FROM pg_class c JOIN pg_am am ON am.oid = c.relam
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
         ORDER BY c.relname
    LOOP
        EXECUTE format('CREATE %sTABLE %I.%I (LIKE %I.%I INCLUDING ALL EXCLUDING INDEXES) USING %I',
                       CASE WHEN r.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END,
                       target, r.relname, source, r.relname, r.amname);
        IF r.reloptions IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I.%I SET (%s)', target, r.relname,
                           array_to_string(r.reloptions, ', '));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._clone_schema_tables(name, name, oid) IS
    'clone_schema step: creates the clone''s sequences and tables (columns, defaults, checks, storage, comments).';

-- clone_schema, step 3: the rows, when with_data.
CREATE OR REPLACE FUNCTION staging._clone_schema_rows(source name, target name, source_oid oid, with_data boolean)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    columns text;
    r record;
    copied bigint;
BEGIN
    -- Rows, before indexes and triggers, as the owner of each table (its
    -- checks and generated columns run), who reads versioned tables whole
    -- (every version row), not at the session version.
    IF with_data THEN
        FOR r IN
            SELECT c.oid, c.relname, row_number() OVER (ORDER BY c.relname) AS i, count(*) OVER () AS n
              FROM pg_class c
             WHERE c.relnamespace = source_oid AND c.relkind = 'r'
             ORDER BY c.relname
        LOOP
            copied := 0;
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO columns
              FROM pg_attribute a
             WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attgenerated = '';
            IF columns IS NOT NULL THEN
                copied := staging._run_as_clone_owner(
                    format('%I.%I', target, r.relname)::regclass,
                    format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY %I.%I',
                           target, r.relname, columns, columns, source, r.relname),
                    'pg_catalog, pg_temp');
            END IF;
            PERFORM staging._progress('clone_schema',
                format('copied %I.%I to %I.%I (%s rows), table %s of %s',
                       source, r.relname, target, r.relname, copied, r.i, r.n));
        END LOOP;
    END IF;
END
$$;
COMMENT ON FUNCTION staging._clone_schema_rows(name, name, oid, boolean) IS
    'clone_schema step: copies every row (every version row of versioned tables) when with_data, '
    'as the owner of each table.';

-- clone_schema, step 4: the definitions that name other objects.
-- They are deparsed with the source schema on the search_path, so they
-- name its objects unqualified, and run with the clone in front: they then
-- name the clone's tables and sequences, and the source's functions and
-- types (which are not cloned).
CREATE OR REPLACE FUNCTION staging._clone_schema_definitions(source name, target name, source_oid oid, with_data boolean)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    deparse_path text := format('pg_catalog, %I, pg_temp', source);
    target_path text := format('pg_catalog, %I, %I, pg_temp', target, source);
    ddl text[];
    tbls name[];
    steps text[];
    reported int := 0;
    long_steps int;
BEGIN
    -- Everything that names other objects, deparsed relative to the source;
    -- the long steps (keys, indexes, foreign keys) with what progress
    -- reports say of them.
    PERFORM set_config('search_path', deparse_path, true);
    SELECT array_agg(s.stmt ORDER BY s.step, s.rank, s.stmt),
           array_agg(s.tbl ORDER BY s.step, s.rank, s.stmt),
           array_agg(s.what ORDER BY s.step, s.rank, s.stmt), count(s.what)
      INTO ddl, tbls, steps, long_steps
      FROM (
        -- Defaults: LIKE copied serial defaults pointing at the source's
        -- sequences; these name the clone's.
        SELECT 1 AS step, 0 AS rank, c.relname AS tbl,
               format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %s', target, c.relname,
                      a.attname, pg_get_expr(d.adbin, d.adrelid)) AS stmt, NULL::text AS what
          FROM pg_attrdef d
          JOIN pg_class c ON c.oid = d.adrelid
          JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
           AND a.attgenerated = '' AND a.attidentity = '' AND NOT a.attisdropped
        UNION ALL
        -- Primary keys, unique and exclusion constraints, under their names.
        SELECT 2, 0, c.relname, format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', target, c.relname,
                                       k.conname, pg_get_constraintdef(k.oid)),
               format('built %s %I of %I.%I',
                      CASE k.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint'
                                     ELSE 'exclusion constraint' END, k.conname, target, c.relname)
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r' AND k.contype IN ('p', 'u', 'x')
        UNION ALL
        -- Other indexes.
        SELECT 3, 0, c.relname, pg_get_indexdef(i.indexrelid, 0, true),
               format('built index %I of %I.%I', ic.relname, target, c.relname)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r'
           AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                                       AND k.contype IN ('p', 'u', 'x'))
        UNION ALL
        -- Foreign keys: those between tables of the schema stay inside the clone.
        SELECT 4, 0, c.relname, format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', target, c.relname,
                                       k.conname, pg_get_constraintdef(k.oid)),
               format('added foreign key %I of %I.%I', k.conname, target, c.relname)
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
         WHERE c.relnamespace = source_oid AND c.relkind = 'r' AND k.contype = 'f'
        UNION ALL
        -- Views and materialized views, those used by others first, by the
        -- caller (nothing runs: materialized views are filled later, by
        -- REFRESH, as their owner).
        SELECT 5, v.depth, NULL,
               format('CREATE %s %I.%I%s AS %s%s',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END,
                      target, c.relname,
                      CASE WHEN c.reloptions IS NOT NULL
                           THEN format(' WITH (%s)', array_to_string(c.reloptions, ', ')) END,
                      rtrim(pg_get_viewdef(c.oid), ';'),
                      CASE WHEN c.relkind = 'm' THEN ' WITH NO DATA' ELSE '' END),
               NULL
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
        -- Those of changelogs by the caller: their functions are not the
        -- owner's to run (creating a trigger runs nothing).
        SELECT 6, 0,
               CASE WHEN t.tgfoid IN ('staging._changelog_trigger()'::regprocedure,
                                      'staging._changelog_truncate()'::regprocedure)
                    THEN NULL ELSE c.relname END,
               pg_get_triggerdef(t.oid, true), NULL
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = source_oid AND NOT t.tgisinternal
        UNION ALL
        SELECT 7, 0, c.relname, format('ALTER TABLE %I.%I %s TRIGGER %I', target, c.relname,
                            CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA'
                                             ELSE 'ENABLE ALWAYS' END, t.tgname),
               NULL
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = source_oid AND NOT t.tgisinternal AND t.tgenabled <> 'O'
      ) s;
    -- What defines a table runs as its owner (index expressions, checks of
    -- foreign keys), views as the caller.
    PERFORM set_config('search_path', target_path, true);
    FOR i IN 1 .. coalesce(array_length(ddl, 1), 0) LOOP
        IF tbls[i] IS NULL THEN
            EXECUTE ddl[i];
        ELSE
            PERFORM staging._run_as_clone_owner(format('%I.%I', target, tbls[i])::regclass,
                                                ddl[i], target_path);
        END IF;
        IF steps[i] IS NOT NULL THEN
            reported := reported + 1;
            PERFORM staging._progress('clone_schema', format('%s, %s of %s', steps[i], reported, long_steps));
        END IF;
    END LOOP;
    PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
END
$$;
COMMENT ON FUNCTION staging._clone_schema_definitions(name, name, oid, boolean) IS
    'clone_schema step: defaults, keys, indexes, foreign keys, views and triggers of the clone, naming its objects '
    '(those of a table as its owner).';

-- clone_schema, step 5: the sequences' owning columns and current values.
CREATE OR REPLACE FUNCTION staging._clone_schema_sequence_values(target name, source_oid oid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
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
END
$$;
COMMENT ON FUNCTION staging._clone_schema_sequence_values(name, oid) IS
    'clone_schema step: makes the clone''s sequences owned by its columns and sets their current values.';

-- clone_schema, step 6: privileges and comments of the relations the
-- clone has so far (run once the tables exist, and again at the end).
CREATE OR REPLACE FUNCTION staging._clone_schema_privileges(target name, source_oid oid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
    -- Privileges and comments of the relations; the schema's privileges.
    FOR r IN
        SELECT c.relname, c.relkind, a.privilege_type, a.is_grantable, a.grantee
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'S', 'v', 'm')
           AND a.grantee <> c.relowner
           AND to_regclass(format('%I.%I', target, c.relname)) IS NOT NULL
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
           AND to_regclass(format('%I.%I', target, c.relname)) IS NOT NULL
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
           AND to_regclass(format('%I.%I', target, c.relname)) IS NOT NULL
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
END
$$;
COMMENT ON FUNCTION staging._clone_schema_privileges(name, oid) IS
    'clone_schema step: copies the privileges and comments of the relations the clone has so far, '
    'and the schema''s privileges.';

-- clone_schema, step 7: owners.  Run once the tables exist, before they
-- are filled and defined (as their owners), and again at the end for the
-- views.
CREATE OR REPLACE FUNCTION staging._clone_schema_owners(target name, source_oid oid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    stmt text;
BEGIN
    -- Owners: the clone belongs to whoever owns the source, when we may
    -- give it to them (a swap then leaves every object with its owner).
    -- The schema first: its owner may then create in it.
    SELECT format('ALTER SCHEMA %I OWNER TO %s', target, n.nspowner::regrole) INTO stmt
      FROM pg_namespace n, pg_namespace t
     WHERE n.oid = source_oid AND t.nspname = target AND t.nspowner <> n.nspowner
       AND pg_has_role(n.nspowner, 'MEMBER');
    IF stmt IS NOT NULL THEN
        EXECUTE stmt;
    END IF;
    FOR r IN
        SELECT c.relname, c.relkind, c.relowner
          FROM pg_class c
          JOIN pg_class t ON t.relname = c.relname
                         AND t.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = target)
         WHERE c.relnamespace = source_oid AND c.relkind IN ('r', 'S', 'v', 'm')
           AND t.relowner <> c.relowner
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
END
$$;
COMMENT ON FUNCTION staging._clone_schema_owners(name, oid) IS
    'clone_schema step: gives the clone''s relations (those it has so far) and schema the owners of the source''s, '
    'when allowed.';

-- Copy a schema: tables, sequences, definitions, privileges, registrations.
CREATE OR REPLACE FUNCTION staging.clone_schema(source name, target name,
        with_data boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    source_oid oid := staging._schema_oid(source, 'source');
    target_oid oid;
    stmt text;
BEGIN
    PERFORM staging._clone_schema_check(source, target, with_data, source_oid);
    PERFORM staging._progress_begin('clone_schema');
    EXECUTE format('CREATE SCHEMA %I', target);
    target_oid := staging._schema_oid(target, 'target');
    SELECT format('COMMENT ON SCHEMA %I IS %L', target, d.description) INTO stmt
      FROM pg_description d
     WHERE d.classoid = 'pg_namespace'::regclass AND d.objoid = source_oid;
    IF stmt IS NOT NULL THEN
        EXECUTE stmt;
    END IF;

    -- The tables (and the schema) belong to their owners before anything
    -- runs on them: their rows and definitions are written as those owners.
    PERFORM staging._clone_schema_tables(source, target, source_oid);
    PERFORM staging._clone_schema_privileges(target, source_oid);
    PERFORM staging._clone_schema_owners(target, source_oid);
    PERFORM staging._clone_schema_rows(source, target, source_oid, with_data);
    PERFORM staging._clone_schema_definitions(source, target, source_oid, with_data);
    PERFORM staging._clone_schema_sequence_values(target, source_oid);
    PERFORM staging._clone_schema_privileges(target, source_oid);
    PERFORM staging._clone_schema_owners(target, source_oid);

    -- Materialized views with data are filled by REFRESH, which runs as
    -- their owner, those used by others first.
    IF with_data THEN
        FOR stmt IN
            WITH RECURSIVE uses(view, used) AS (
                SELECT DISTINCT rw.ev_class, d.refobjid
                  FROM pg_rewrite rw
                  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
                  JOIN pg_class u ON u.oid = d.refobjid AND u.relnamespace = source_oid
                                 AND u.relkind IN ('v', 'm')
            ), depth(view, depth) AS (
                SELECT c.oid, 0 FROM pg_class c WHERE c.relnamespace = source_oid AND c.relkind IN ('v', 'm')
                UNION ALL
                SELECT u.view, depth.depth + 1 FROM depth JOIN uses u ON u.used = depth.view
            )
            SELECT format('REFRESH MATERIALIZED VIEW %I.%I', target, c.relname)
              FROM (SELECT view, max(depth) AS depth FROM depth GROUP BY view) v
              JOIN pg_class c ON c.oid = v.view
             WHERE c.relkind = 'm' AND c.relispopulated
             ORDER BY v.depth, c.relname
        LOOP
            EXECUTE stmt;
            PERFORM staging._progress('clone_schema',
                regexp_replace(stmt, '^REFRESH MATERIALIZED VIEW', 'refreshed materialized view'));
        END LOOP;
    END IF;

    -- Versioning registrations of the source's tables, for the clone's.
    PERFORM staging._clone_registrations(source_oid, target_oid);

    -- Changelog subscriptions of the source's tables (their triggers were
    -- copied with the tables).
    PERFORM staging._changelog_clone(source_oid, target_oid);
    PERFORM staging._progress_end('clone_schema',
        format('cloned schema %I into %I (%s tables, %s indexes)%s', source, target,
               (SELECT count(*) FROM pg_class c WHERE c.relnamespace = target_oid AND c.relkind = 'r'),
               (SELECT count(*) FROM pg_class c WHERE c.relnamespace = target_oid AND c.relkind = 'i'),
               CASE WHEN with_data THEN ' with its rows' ELSE '' END));
END
$$;
COMMENT ON FUNCTION staging.clone_schema(name, name, boolean) IS
    'Creates schema target with the same tables, sequences (and their values), defaults, identities, '
    'constraints, indexes, views, triggers, privileges and versioning registrations as source; '
    'with_data copies the rows too.';

CREATE OR REPLACE FUNCTION staging.compare_schemas(live name, candidate name)
    RETURNS TABLE (table_name name, live_rows bigint, candidate_rows bigint,
                   difference bigint, difference_pct numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    live_oid oid := staging._schema_oid(live, 'live');
    candidate_oid oid := staging._schema_oid(candidate, 'candidate');
    t record;
    tables bigint := 0;
BEGIN
    PERFORM staging._progress_begin('compare_schemas');
    FOR t IN
        SELECT coalesce(l.relname, c.relname) AS name,
               l.relname IS NOT NULL AS in_live, c.relname IS NOT NULL AS in_candidate,
               count(*) OVER () AS n
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
        tables := tables + 1;
        PERFORM staging._progress('compare_schemas',
            format('counted %I (%s rows in %I, %s in %I), table %s of %s', t.name,
                   coalesce(live_rows::text, 'no table'), live,
                   coalesce(candidate_rows::text, 'no table'), candidate, tables, t.n));
        RETURN NEXT;
    END LOOP;
    PERFORM staging._progress_end('compare_schemas',
        format('compared %s tables of %I and %I', tables, live, candidate));
END
$$;
COMMENT ON FUNCTION staging.compare_schemas(name, name) IS
    'Row counts of the tables of two schemas, matched by name: difference = candidate - live, '
    'difference_pct relative to live (NULL when a side is missing, or live is empty and candidate is not). '
    'Versioned tables count the rows visible at the session version; changelog log tables are left out.';

-- What a shopper at the session version sees of a table: every row of a
-- plain table, the visible rows of a versioned one (the version filter
-- applies), and of an attribute table the rows of visible main rows.  The
-- latter is an inner join by row_id, the main table's primary key, so each
-- attribute row counts at most once: joined that way the attribute table
-- is read without its attribute filter (a lookup per row, about 3 times
-- the time of a semi-join or of count(*) on it alone) and the main
-- table's version filter decides.
CREATE OR REPLACE FUNCTION staging._visible_rows(tbl regclass) RETURNS bigint
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
        EXECUTE format('SELECT count(*) FROM %s a JOIN %s m ON m.row_id OPERATOR(pg_catalog.=) a.row_id',
                       tbl, main) INTO n;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION staging._visible_rows(regclass) IS
    'Rows of a table visible at the session version; for an attribute table, the rows of visible main rows.';

CREATE OR REPLACE FUNCTION staging._swap_lock(live oid, candidate oid, lock_timeout_ms integer,
        max_wait_ms integer) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_swap_lock';
COMMENT ON FUNCTION staging._swap_lock(oid, oid, integer, integer) IS
    'Checks ownership, then locks two schemas and their relations with bounded waits and retries (55P03).';

CREATE OR REPLACE FUNCTION staging._swap_locked(live oid, candidate oid) RETURNS boolean
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_swap_locked';
COMMENT ON FUNCTION staging._swap_locked(oid, oid) IS
    'True when the current transaction took the swap locks of these two schemas.';

-- Records a committed-to-be swap and notifies listeners (at commit).  It
-- writes staging.invalidations, so it runs as the extension's owner, and
-- refuses unless this transaction locked (and so owns) both schemas.
CREATE OR REPLACE FUNCTION staging._record_swap(live_oid oid, candidate_oid oid) RETURNS void
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
    recorded := staging._record_invalidation('schema_swap',
            jsonb_build_object('live', (SELECT nspname FROM pg_namespace WHERE oid = candidate_oid),
                               'candidate', (SELECT nspname FROM pg_namespace WHERE oid = live_oid)));
END
$$;
COMMENT ON FUNCTION staging._record_swap(oid, oid) IS
    'Inserts the invalidation row of a swap and queues NOTIFY staging_invalidation (delivered at commit).';

-- After the schemas exchanged names: each changelog whose log table is in
-- one of them keeps its log table and main table under the same names.
-- The log table moves to the other schema (its identity sequence and
-- indexes with it), and a table of that name there (the clone's copy)
-- takes its place; the changelog's main table becomes the relation of the
-- same name in the schema that now has the old schema name, if any.  So
-- the log goes on with the live name and dropping the backup schema leaves
-- it alone.  Runs as the extension's owner (who created the log tables); the
-- caller must have taken the swap locks (and so own both schemas), as for
-- _record_swap.
CREATE OR REPLACE FUNCTION staging._swap_changelogs(live_oid oid, candidate_oid oid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl record;
    there oid;
    other oid;
    parking name;
BEGIN
    IF NOT staging._swap_locked(live_oid, candidate_oid) THEN
        RAISE EXCEPTION 'staging._swap_changelogs() is only for staging.swap_schemas()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR cl IN
        SELECT c.name, c.log_table, k.relname, k.relnamespace AS here,
               m.relname AS main_name, m.relnamespace AS main_here
          FROM staging.changelog c
          JOIN pg_class k ON k.oid = c.log_table
          LEFT JOIN pg_class m ON m.oid = c.main_table
         WHERE k.relnamespace IN (live_oid, candidate_oid)
            OR m.relnamespace IN (live_oid, candidate_oid)
         ORDER BY c.name
    LOOP
        IF cl.here IN (live_oid, candidate_oid) THEN
            there := CASE cl.here WHEN live_oid THEN candidate_oid ELSE live_oid END;
            SELECT k.oid INTO other FROM pg_class k
             WHERE k.relnamespace = there AND k.relname = cl.relname AND k.relkind IN ('r', 'p');
            -- The copy's indexes and sequence have the same names as the
            -- log table's: it waits in a schema of its own meanwhile.
            IF other IS NOT NULL THEN
                parking := 'staging_swap_' || cl.log_table::oid;
                EXECUTE format('CREATE SCHEMA %I', parking);
                EXECUTE format('ALTER TABLE %s SET SCHEMA %I', other::regclass, parking);
            END IF;
            EXECUTE format('ALTER TABLE %s SET SCHEMA %s', cl.log_table, there::regnamespace);
            IF other IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %s SET SCHEMA %s', other::regclass, cl.here::regnamespace);
                EXECUTE format('DROP SCHEMA %I', parking);
            END IF;
        END IF;
        IF cl.main_here IN (live_oid, candidate_oid) THEN
            UPDATE staging.changelog c SET main_table = k.oid
              FROM pg_class k
             WHERE c.name = cl.name AND k.relname = cl.main_name
               AND k.relnamespace = CASE cl.main_here WHEN live_oid THEN candidate_oid ELSE live_oid END
               AND k.relkind IN ('r', 'p', 'f');
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._swap_changelogs(oid, oid) IS
    'Internal (staging.swap_schemas): keeps the log tables and main tables of changelogs under their names.';

CREATE OR REPLACE FUNCTION staging.swap_schemas(live name, candidate name,
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
                  DETAIL = format('lock_timeout = %s, max_wait = %s', lock_timeout, max_wait),
                  HINT = 'Leave them out for the defaults (500ms and 30s).';
    END IF;
    IF max_difference_pct < 0 THEN
        RAISE EXCEPTION 'max_difference_pct must not be negative'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the largest difference in percent of the live row count a table may have, or NULL for no check.';
    END IF;
    IF max_difference_pct = 'NaN' THEN
        RAISE EXCEPTION 'max_difference_pct must be a number, not NaN'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the largest difference in percent to accept, or NULL not to compare.';
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

    PERFORM staging._progress_begin('swap_schemas');
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
        PERFORM staging._progress('swap_schemas',
            format('row counts of %I and %I differ by at most %s %%', live, candidate, max_difference_pct));
    END IF;

    -- Refuse early, before making anyone wait...
    PERFORM staging._assert_no_outside_dependents(live, candidate, live_oid, candidate_oid);
    PERFORM staging._swap_lock(live_oid, candidate_oid,
                               ceil(extract(epoch FROM lock_timeout) * 1000)::integer,
                               ceil(extract(epoch FROM max_wait) * 1000)::integer);
    PERFORM staging._progress('swap_schemas', format('locked schemas %I and %I and their relations', live, candidate));
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

    PERFORM staging._swap_changelogs(live_oid, candidate_oid);
    PERFORM staging._record_swap(live_oid, candidate_oid);
    PERFORM staging._progress_end('swap_schemas', format('swapped schemas %I and %I', live, candidate));
END
$$;
COMMENT ON FUNCTION staging.swap_schemas(name, name, numeric, interval, interval) IS
    'Exchanges the names of two schemas in one transaction (call again to swap back); waits for its locks '
    'at most lock_timeout at a time and max_wait in all (55P03); refuses when outside objects depend on '
    'the schemas (2BP01) or a table differs by more than max_difference_pct (22023).';
