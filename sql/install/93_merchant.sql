-------------------------------------------------------------------------------
-- Merchant tools: what changes when (diff, update_overview), and previews
-- without live side effects (live-only tables)
-------------------------------------------------------------------------------

-- The key of an attribute table's rows within one version row: the other
-- columns of its first plain unique index on row_id (attribute_id,
-- store_id), as the write record keys them (63_write_model.sql); empty
-- when there is none.
CREATE OR REPLACE FUNCTION staging._attribute_key(tbl regclass) RETURNS name[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce((
        SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord)
          FROM (SELECT i.indexrelid, i.indkey, i.indnkeyatts
                  FROM pg_catalog.pg_index i
                 WHERE i.indrelid = tbl AND i.indisunique
                   AND i.indexprs IS NULL AND i.indpred IS NULL
                   AND (SELECT r.attnum FROM pg_catalog.pg_attribute r
                         WHERE r.attrelid = tbl AND r.attname = 'row_id') = ANY (i.indkey)
                 ORDER BY i.indexrelid
                 LIMIT 1) ix,
               LATERAL pg_catalog.unnest(ix.indkey::smallint[]) WITH ORDINALITY k(attnum, ord)
          JOIN pg_catalog.pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum
         WHERE a.attname <> 'row_id' AND k.ord <= ix.indnkeyatts), '{}')
$$;
COMMENT ON FUNCTION staging._attribute_key(regclass) IS
    'The key of an attribute table''s rows within a version row: the other columns of its first unique index on row_id.';

-- Reading a version needs the right to (42501 otherwise): the session
-- version is checked as the version filter checks it, and the owner of
-- the table reads every version of it.  The reads below would check it
-- too, but only once a row passes; this makes it certain.
CREATE OR REPLACE FUNCTION staging._check_read(tbl regclass) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                    WHERE c.oid = tbl AND pg_catalog.pg_has_role(c.relowner, 'USAGE')) THEN
        PERFORM staging.current_version();
    END IF;
END
$$;
COMMENT ON FUNCTION staging._check_read(regclass) IS
    'Raises 42501 unless the caller may read the table at the session version.';

-- One side of a diff: the state of some entities at one version, as rows
-- (entity, order, field, value) in four arrays, from their version rows
-- visible at that version (present: the entities, row_ids: those rows).
-- Reads at that version through the version filter, as the caller: 42501
-- when the caller may not read it.  Every read is a lookup by row_id: on
-- a small table the planner would rather scan it whole for a thousand
-- rows, which makes the cost follow the table; enable_seqscan = off keeps
-- it on the indexes.  Main columns are fields named after the column (all but the
-- entity column, row_id and the version columns), attribute rows fields
-- named <attribute table>:<key column>=<value>,... whose value is the
-- value column, or col=value, ... for several.
CREATE OR REPLACE FUNCTION staging._diff_side(tbl regclass, version bigint, present bigint[],
        row_ids bigint[], OUT e bigint[], OUT o integer[], OUT f text[], OUT v text[])
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'live'
    SET enable_seqscan = off
    AS $$
DECLARE
    ent name;
    cols text;
    a record;
    keyexpr text;
    valexpr text;
    vals name[];
    ae bigint[];
    ao integer[];
    af text[];
    av text[];
BEGIN
    SELECT t.entity_column INTO ent FROM staging.versioned_table t WHERE t.relid = tbl;
    PERFORM pg_catalog.set_config('staging.version', version::text, true);
    PERFORM staging._check_read(tbl);

    -- (as text, but never through a cast to text that the owner of a
    -- column's type wrote: diff runs with its caller's rights)
    SELECT pg_catalog.string_agg(pg_catalog.format('(%s, %L, %s)', c.attnum, c.attname,
                                                   staging._text_of(pg_catalog.format('m.%I', c.attname), c.atttypid)),
                                 ', ' ORDER BY c.attnum)
      INTO cols
      FROM pg_catalog.pg_attribute c
     WHERE c.attrelid = tbl AND c.attnum > 0 AND NOT c.attisdropped
       AND c.attname NOT IN ('row_id', 'created_in', 'updated_in', ent);
    IF cols IS NOT NULL THEN
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(m.%1$I::bigint), pg_catalog.array_agg(x.o),
                    pg_catalog.array_agg(x.f), pg_catalog.array_agg(x.v)
               FROM %2$s m CROSS JOIN LATERAL (VALUES %3$s) x(o, f, v)
              WHERE m.row_id = ANY ($1)', ent, tbl, cols)
            INTO e, o, f, v USING row_ids;
    END IF;
    e := coalesce(e, '{}');
    o := coalesce(o, '{}');
    f := coalesce(f, '{}');
    v := coalesce(v, '{}');

    -- Attribute rows of the visible version rows, by key.
    FOR a IN SELECT t.relid, c.relname, staging._attribute_key(t.relid) AS key
               FROM staging.attribute_table t
               JOIN pg_catalog.pg_class c ON c.oid = t.relid
              WHERE t.main_table = tbl
              ORDER BY c.relname, t.relid::oid LOOP
        -- (an attribute table has no version columns: its own columns
        -- named created_in or updated_in are values)
        SELECT pg_catalog.array_agg(c.attname ORDER BY c.attnum) INTO vals
          FROM staging._copied_columns(a.relid) c
         WHERE c.attname <> 'row_id'
           AND c.attname <> ALL (a.key);
        IF vals IS NULL THEN
            vals := '{}';
        END IF;
        IF pg_catalog.cardinality(a.key) = 0 THEN
            -- No key: a row is known by all its values, and is there or
            -- not ('present'; its values, NULL ones too, are in its name).
            a.key := vals;
            vals := '{}';
        END IF;
        SELECT pg_catalog.format('%L || %s', a.relname || ':',
                   pg_catalog.string_agg(pg_catalog.format('%L || coalesce(%s, ''NULL'')', o.k || '=',
                                                           staging._text_of(pg_catalog.format('x.%I', o.k), t.atttypid)),
                                         ' || '','' || ' ORDER BY o.n))
          INTO keyexpr
          FROM pg_catalog.unnest(a.key) WITH ORDINALITY o(k, n)
          JOIN pg_catalog.pg_attribute t ON t.attrelid = a.relid AND t.attname = o.k;
        IF pg_catalog.cardinality(vals) = 1 THEN
            SELECT staging._text_of(pg_catalog.format('x.%I', t.attname), t.atttypid) INTO valexpr
              FROM pg_catalog.pg_attribute t WHERE t.attrelid = a.relid AND t.attname = vals[1];
        ELSIF pg_catalog.cardinality(vals) = 0 THEN
            valexpr := '''present''::text';
        ELSE
            SELECT pg_catalog.string_agg(pg_catalog.format('%L || coalesce(%s, ''NULL'')', c || '=',
                                                           staging._text_of(pg_catalog.format('x.%I', c), t.atttypid)),
                                         ' || '', '' || ' ORDER BY o.n)
              INTO valexpr
              FROM pg_catalog.unnest(vals) WITH ORDINALITY o(c, n)
              JOIN pg_catalog.pg_attribute t ON t.attrelid = a.relid AND t.attname = o.c;
        END IF;
        EXECUTE pg_catalog.format(
            'SELECT pg_catalog.array_agg(r.e), pg_catalog.array_agg(100000),
                    pg_catalog.array_agg(%1$s), pg_catalog.array_agg(%2$s)
               FROM %3$s x JOIN ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) r(row_id, e) ON x.row_id = r.row_id
              WHERE x.row_id = ANY ($1)',
            keyexpr, valexpr, a.relid)
            INTO ae, ao, af, av USING row_ids, present;
        e := e || coalesce(ae, '{}');
        o := o || coalesce(ao, '{}');
        f := f || coalesce(af, '{}');
        v := v || coalesce(av, '{}');
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._diff_side(regclass, bigint, bigint[], bigint[]) IS
    'Helper of staging.diff: the fields of some entities visible at one version, read as the caller at that version.';

CREATE OR REPLACE FUNCTION staging.diff(tbl regclass, from_version bigint, to_version bigint)
    RETURNS TABLE(entity_id bigint, change text, field text, old_value text, new_value text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'live'
    AS $$
DECLARE
    ent name;
    lo bigint;
    hi bigint;
    lo_e bigint[];
    lo_r bigint[];
    hi_e bigint[];
    hi_r bigint[];
    a record;
    b record;
BEGIN
    IF tbl IS NULL OR from_version IS NULL OR to_version IS NULL THEN
        RAISE EXCEPTION 'staging.diff: table, from_version and to_version must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a versioned table and two versions, e.g. staging.live_version() and staging.to_version(''2100-11-26'').';
    END IF;
    IF least(from_version, to_version) < 1 OR greatest(from_version, to_version) >= staging.max_version() THEN
        RAISE EXCEPTION 'staging.diff: version % is out of range',
                CASE WHEN from_version < 1 OR from_version >= staging.max_version()
                     THEN from_version ELSE to_version END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A version is 1 or more and less than staging.max_version(): UNIX epoch seconds, see staging.to_version(timestamptz).';
    END IF;
    SELECT t.entity_column INTO ent FROM staging.versioned_table t WHERE t.relid = tbl;
    IF NOT FOUND THEN
        IF staging.versioned_kind(tbl) = 'attribute' THEN
            RAISE EXCEPTION 'cannot diff %: it is an attribute table', tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = pg_catalog.format('Diff its main table %s: its rows are listed there as fields %s:<key>.',
                                  (SELECT t.main_table FROM staging.attribute_table t WHERE t.relid = tbl),
                                  (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl));
        END IF;
        RAISE EXCEPTION 'cannot diff %: it is not a versioned table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only tables made versioned with staging.enable_versioning have versions to compare.';
    END IF;
    lo := least(from_version, to_version);
    hi := greatest(from_version, to_version);

    -- The entities whose visible row may differ: a row visible at lo that
    -- ends in (lo, hi], or a row visible at hi that starts in (lo, hi].
    -- Both are index ranges of (updated_in, created_in): the cost follows
    -- the rows that change, not the table.  They are also all the rows of
    -- these entities visible at lo and at hi (rows do not overlap: an
    -- entity's row at hi starts after its row at lo ended, and the other
    -- way round).  Each read runs at its version, as the caller, so a
    -- version the caller may not read fails here (42501).
    PERFORM pg_catalog.set_config('staging.version', lo::text, true);
    PERFORM staging._check_read(tbl);
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(%1$I::bigint), pg_catalog.array_agg(row_id) FROM %2$s
          WHERE updated_in > $1 AND updated_in <= $2', ent, tbl)
        INTO lo_e, lo_r USING lo, hi;
    PERFORM pg_catalog.set_config('staging.version', hi::text, true);
    PERFORM staging._check_read(tbl);
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(%1$I::bigint), pg_catalog.array_agg(row_id) FROM %2$s WHERE %3$s',
        ent, tbl, staging._created_between('$1', '$2'))
        INTO hi_e, hi_r USING lo, hi;
    lo_e := coalesce(lo_e, '{}');
    lo_r := coalesce(lo_r, '{}');
    hi_e := coalesce(hi_e, '{}');
    hi_r := coalesce(hi_r, '{}');

    -- Their fields at each version, compared as text (NULL-aware).
    IF from_version = lo THEN
        a := staging._diff_side(tbl, lo, lo_e, lo_r);
        b := staging._diff_side(tbl, hi, hi_e, hi_r);
    ELSE
        a := staging._diff_side(tbl, hi, hi_e, hi_r);
        b := staging._diff_side(tbl, lo, lo_e, lo_r);
    END IF;
    RETURN QUERY
    WITH fa AS (SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest(a.e), pg_catalog.unnest(a.o), pg_catalog.unnest(a.f), pg_catalog.unnest(a.v)) x(e, o, f, v)),
         fb AS (SELECT DISTINCT * FROM ROWS FROM (pg_catalog.unnest(b.e), pg_catalog.unnest(b.o), pg_catalog.unnest(b.f), pg_catalog.unnest(b.v)) x(e, o, f, v)),
         pa AS (SELECT DISTINCT x AS e FROM pg_catalog.unnest(CASE WHEN from_version = lo THEN lo_e ELSE hi_e END) x),
         pb AS (SELECT DISTINCT x AS e FROM pg_catalog.unnest(CASE WHEN from_version = lo THEN hi_e ELSE lo_e END) x),
         d AS (SELECT coalesce(fa.e, fb.e) AS e, coalesce(fa.o, fb.o) AS o,
                      coalesce(fa.f, fb.f) AS f, fa.v AS ov, fb.v AS nv,
                      fa.e IS NULL OR fb.e IS NULL AS one_side
                 FROM fa FULL JOIN fb ON fa.e = fb.e AND fa.f = fb.f)
    SELECT d.e,
           CASE WHEN pa.e IS NULL THEN 'added' WHEN pb.e IS NULL THEN 'removed' ELSE 'changed' END,
           d.f, d.ov, d.nv
      FROM d
      LEFT JOIN pa ON pa.e = d.e
      LEFT JOIN pb ON pb.e = d.e
     WHERE d.one_side OR d.ov IS DISTINCT FROM d.nv
     ORDER BY d.e, d.o, d.f;
END
$$;
COMMENT ON FUNCTION staging.diff(regclass, bigint, bigint) IS
    'What a reader sees change in a versioned table from one version to another: per entity added, removed or changed, '
    'each changed field (main column, or attribute row as <attribute table>:<key>) with its old and new value.  '
    'Needs the right to read both versions.';
-- For everyone: it reads as the caller, at each version with the
-- caller's rights.
GRANT EXECUTE ON FUNCTION staging.diff(regclass, bigint, bigint) TO PUBLIC;

-- The entities an update changes in one versioned table: those with a
-- version row starting at its start (or, for a temporary update, at its
-- end), or ending there (entities it deletes).  Read at those versions as
-- the caller: NULL when the caller may not read the table at them.
CREATE OR REPLACE FUNCTION staging._update_entities(tbl regclass, update_id bigint, rollback_id bigint)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'live'
    AS $$
DECLARE
    ent name;
    point bigint;
    ids bigint[];
    part bigint[];
BEGIN
    SELECT t.entity_column INTO ent FROM staging.versioned_table t WHERE t.relid = tbl;
    IF NOT FOUND OR update_id IS NULL THEN
        RETURN NULL;
    END IF;
    ids := '{}';
    BEGIN
        FOREACH point IN ARRAY ARRAY[update_id, rollback_id] LOOP
            CONTINUE WHEN point IS NULL;
            PERFORM pg_catalog.set_config('staging.version', point::text, true);
            PERFORM staging._check_read(tbl);
            EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(%1$I::bigint) FROM %2$s WHERE %3$s',
                                      ent, tbl, staging._created_between('$1 - 1', '$1'))
                INTO part USING point;
            ids := ids || coalesce(part, '{}');
            PERFORM pg_catalog.set_config('staging.version', (point - 1)::text, true);
            PERFORM staging._check_read(tbl);
            EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(%1$I::bigint) FROM %2$s WHERE updated_in = $1',
                                      ent, tbl)
                INTO part USING point;
            ids := ids || coalesce(part, '{}');
        END LOOP;
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN NULL;
    END;
    RETURN (SELECT pg_catalog.count(DISTINCT x) FROM pg_catalog.unnest(ids) x);
END
$$;
COMMENT ON FUNCTION staging._update_entities(regclass, bigint, bigint) IS
    'Helper of staging.update_overview: the number of entities of a versioned table an update changes; '
    'NULL when the caller may not read the table at its versions.';

CREATE OR REPLACE VIEW staging.update_overview AS
SELECT u.id,
       u.name,
       CASE WHEN u.id > l.version THEN 'scheduled'
            WHEN u.rollback_id IS NOT NULL AND u.rollback_id <= l.version THEN 'ended'
            WHEN u.rollback_id IS NOT NULL THEN 'live'
            WHEN EXISTS (SELECT FROM staging.updates n
                          WHERE n.rollback_id IS NULL AND n.id > u.id AND n.id <= l.version) THEN 'history'
            ELSE 'live' END AS status,
       u.start_time,
       u.end_time,
       t.relid AS table_name,
       staging._update_entities(t.relid, u.id, u.rollback_id) AS entities
  FROM staging.updates u
  CROSS JOIN (SELECT staging.live_version() AS version) l
  LEFT JOIN staging.versioned_table t ON true
 ORDER BY u.id, t.relid::text;
COMMENT ON VIEW staging.update_overview IS
    'Each update with its status (scheduled, live, ended, history), start, end, and per versioned table '
    'the number of entities it changes (NULL where the reader may not read the table at its versions).';
-- Like staging.updates: the schedule may be confidential; grant SELECT to
-- the roles that edit campaigns.
REVOKE ALL ON staging.update_overview FROM PUBLIC;

-- Live-only tables (src/merchant.c): the statement trigger staging_live_only
-- is the mark, so pg_dump, clone_schema (which copies triggers) and DROP
-- TABLE keep it in step with the table without a registry.
CREATE OR REPLACE FUNCTION staging._live_only_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_live_only_guard';
COMMENT ON FUNCTION staging._live_only_guard() IS
    'Statement trigger of a live-only table: refuses writes (25006) while the session reads a version other than the live one.';
-- Table owners need EXECUTE to create the trigger (staging.live_only runs
-- as its caller); called otherwise, it refuses.
GRANT EXECUTE ON FUNCTION staging._live_only_guard() TO PUBLIC;

-- A statement trigger of a table does not fire for a statement that names
-- one of its partitions (or inheritance children), nor theirs for one
-- that names the table: the mark goes on the table and every table that
-- inherits from it, and only the topmost one is marked or unmarked.
CREATE OR REPLACE FUNCTION staging.live_only(tbl regclass, enabled boolean DEFAULT true) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
    main regclass;
    parent regclass;
    ext name;
    tables regclass[];
    t regclass;
BEGIN
    IF tbl IS NULL OR enabled IS NULL THEN
        RAISE EXCEPTION 'staging.live_only: table and enabled must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'staging.live_only(''orders'') marks a table, staging.live_only(''orders'', false) unmarks it.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class r WHERE r.oid = tbl) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid
            USING ERRCODE = 'undefined_table',
                  HINT = 'Pass the name of an existing table.';
    END IF;
    SELECT i.inhparent::regclass INTO parent
      FROM pg_catalog.pg_inherits i WHERE i.inhrelid = tbl
     ORDER BY i.inhseqno LIMIT 1;
    IF FOUND THEN
        WITH RECURSIVE up(relid, depth) AS (
            SELECT parent::oid, 0
            UNION ALL
            SELECT i.inhparent, up.depth + 1
              FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.relid
             WHERE i.inhseqno = 1)
        SELECT up.relid::regclass INTO t FROM up ORDER BY up.depth DESC LIMIT 1;
        RAISE EXCEPTION 'cannot mark or unmark % live-only on its own: it is a partition or child of %', tbl, parent
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A statement that writes to a table through its parent does not fire the table''s own mark.',
                  HINT = pg_catalog.format('Call staging.live_only on %s: the tables that inherit from it are marked with it.', t);
    END IF;
    WITH RECURSIVE tree(relid, depth) AS (
        SELECT tbl::oid, 0
        UNION ALL
        SELECT i.inhrelid, tree.depth + 1
          FROM pg_catalog.pg_inherits i JOIN tree ON i.inhparent = tree.relid)
    SELECT pg_catalog.array_agg(tree.relid::regclass ORDER BY tree.depth, tree.relid) INTO tables
      FROM tree;
    FOREACH t IN ARRAY tables LOOP
        SELECT r.relkind, r.relowner INTO c FROM pg_catalog.pg_class r WHERE r.oid = t;
        IF NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') THEN
            IF t = tbl THEN
                RAISE EXCEPTION 'must be owner of table % to mark it live-only', t
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'Ask its owner to call staging.live_only.';
            END IF;
            RAISE EXCEPTION 'must be owner of table % to mark % live-only: it inherits from it', t, tbl
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The partitions and inheritance children of a live-only table are marked with it.',
                      HINT = pg_catalog.format('Give %s to the owner of %s (ALTER TABLE ... OWNER TO), or call it as a role that may act as both owners.', t, tbl);
        END IF;
        IF c.relkind NOT IN ('r', 'p') THEN
            IF t = tbl THEN
                RAISE EXCEPTION 'cannot mark % live-only: it is not a table', t
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Mark the tables it writes to.';
            END IF;
            RAISE EXCEPTION 'cannot mark % live-only: % inherits from it and is not a table', tbl, t
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'The partitions and inheritance children of a live-only table are marked with it.',
                      HINT = pg_catalog.format('Detach %s first.', t);
        END IF;
        IF staging.versioned_kind(t) IS NOT NULL THEN
            RAISE EXCEPTION 'cannot mark % live-only: it is a versioned table', t
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Writes to versioned tables go to the version the session reads; mark the tables whose writes are live side effects (orders, quotes).';
        END IF;
        SELECT x.extname INTO ext
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = t
           AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e';
        IF FOUND THEN
            RAISE EXCEPTION 'cannot mark % live-only: it belongs to extension %', t, ext
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Mark the tables of your application whose writes are live side effects (orders, quotes); an extension''s tables are written by its functions.';
        END IF;
        SELECT v.relid INTO main FROM staging.versioned_table v WHERE v.sequence_table = t;
        IF FOUND THEN
            RAISE EXCEPTION 'cannot mark % live-only: it is the sequence table of versioned table %', t, main
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Entities created at a future version take their ids from it.';
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_trigger g
                    WHERE g.tgrelid = t AND g.tgname = 'staging_live_only'
                      AND g.tgfoid <> 'staging._live_only_guard()'::pg_catalog.regprocedure) THEN
            RAISE EXCEPTION 'cannot mark or unmark % live-only: it has a trigger of its own named staging_live_only', t
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'The mark is a trigger of that name calling staging._live_only_guard().',
                      HINT = pg_catalog.format('Rename that trigger: ALTER TRIGGER staging_live_only ON %s RENAME TO ...', t);
        END IF;
    END LOOP;
    FOREACH t IN ARRAY tables LOOP
        IF enabled THEN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger g
                            WHERE g.tgrelid = t AND g.tgname = 'staging_live_only') THEN
                EXECUTE pg_catalog.format(
                    'CREATE TRIGGER staging_live_only
                         BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s
                         FOR EACH STATEMENT EXECUTE FUNCTION staging._live_only_guard()', t);
            END IF;
        ELSIF EXISTS (SELECT FROM pg_catalog.pg_trigger g
                       WHERE g.tgrelid = t AND g.tgname = 'staging_live_only') THEN
            EXECUTE pg_catalog.format('DROP TRIGGER staging_live_only ON %s', t);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging.live_only(regclass, boolean) IS
    'Marks a non-versioned table live-only (orders, quotes), with its partitions and inheritance children: their writes '
    'are refused with 25006 while the session reads a version other than the live one; with enabled = false, unmarks '
    'them.  Only the tables'' owner.';
-- For everyone: it checks that the caller owns the table.
GRANT EXECUTE ON FUNCTION staging.live_only(regclass, boolean) TO PUBLIC;

CREATE OR REPLACE VIEW staging.live_only_tables AS
SELECT t.tgrelid::regclass AS table_name,
       c.relowner::regrole AS owner,
       t.tgenabled IN ('O', 'A') AS enforced
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname = 'staging_live_only'
   AND t.tgfoid = 'staging._live_only_guard()'::pg_catalog.regprocedure;
COMMENT ON VIEW staging.live_only_tables IS
    'Each live-only table (staging.live_only), its owner, and whether its trigger is enabled.';
GRANT SELECT ON staging.live_only_tables TO PUBLIC;
