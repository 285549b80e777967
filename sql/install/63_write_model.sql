
-------------------------------------------------------------------------------
-- The write model: version rows computed from the record of writes
-------------------------------------------------------------------------------
--
-- Every write to an entity that has (or gets) a future is recorded per
-- field in staging.field_writes (see 62_state_field_writes.sql), and the
-- entity's rows from the live version on are computed from that record:
-- the value of a field at version v is the last write at or before v (by
-- position, then seq), leaving out the writes of temporary updates that
-- ended at or before v.  An entity without a record has no future and is
-- written in place (src/writes.c, the fast path); its first write at an
-- update's version records what it is at the live version first (the
-- base, position 0).  Rows before the live version are history and never
-- change; the live row keeps its row_id.
--
-- These functions run as the extension's owner: the write triggers call
-- them in C after switching to it, and reschedule_update and
-- delete_update are SECURITY DEFINER.  Every write to a user's table goes
-- through staging._run_as_owner.  No one else may execute them.

COMMENT ON TABLE staging.field_writes IS
    'The record of versioned writes: per entity and field, the version, owner (update or live) and value of each write.';

-- The columns of a main table a write sets or an entity's version rows
-- carry: not the version columns, not row_id, not the entity column, not
-- columns filled by a sequence, identity or generation.
CREATE OR REPLACE FUNCTION staging._main_fields(tbl regclass) RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(c.attname::text ORDER BY c.attnum), '{}')
      FROM staging._copied_columns(tbl) c, staging.versioned_table v
     WHERE v.relid = tbl
       AND c.attname NOT IN ('row_id', 'created_in', 'updated_in', v.entity_column)
$$;
COMMENT ON FUNCTION staging._main_fields(regclass) IS
    'The columns of a versioned main table that the write record keeps per field.';
REVOKE ALL ON FUNCTION staging._main_fields(regclass) FROM PUBLIC;

-- An attribute row (as jsonb) split into its key (jsonb text, the field
-- of the record) and its value columns (jsonb, the value).
CREATE OR REPLACE FUNCTION staging._attribute_split(a regclass, doc jsonb,
        OUT key text, OUT value jsonb)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    keys text[] := staging._attribute_key(a)::text[];
    cols text[];
BEGIN
    SELECT array_agg(c.attname::text) INTO cols
      FROM staging._copied_columns(a) c WHERE c.attname <> 'row_id';
    IF cardinality(keys) = 0 THEN
        keys := cols;
    END IF;
    SELECT coalesce(jsonb_object_agg(k, doc -> k), '{}')::text INTO key
      FROM unnest(keys) k;
    SELECT coalesce(jsonb_object_agg(c, doc -> c), '{}') INTO value
      FROM unnest(cols) c WHERE c <> ALL (keys);
END
$$;
COMMENT ON FUNCTION staging._attribute_split(regclass, jsonb) IS
    'Splits an attribute row into its key and its value columns, as the write record keeps them.';
REVOKE ALL ON FUNCTION staging._attribute_split(regclass, jsonb) FROM PUBLIC;

-- The base of an entity's attribute rows (position 0, a live write): the
-- rows of its version row at the live version (rid when the caller has
-- read it) in each attribute table that the record does not name for the
-- entity at all.  That is every attribute table at the entity's first
-- recorded write (staging._write_base), and later an attribute table
-- registered after it: add_attribute_table copied its rows to every
-- version row, and without a base the next layout of the entity would
-- remove them.  An attribute table the record names is left alone: its
-- rows at the live version may hold writes of an update.
CREATE OR REPLACE FUNCTION staging._attribute_base(tbl regclass, entity bigint, live bigint,
        rid bigint DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    a regclass;
    attr jsonb;
    s record;
BEGIN
    FOR a IN SELECT t.relid FROM staging.attribute_table t
              WHERE t.main_table = tbl
                AND NOT EXISTS (SELECT FROM staging.field_writes w
                                 WHERE w.main_table = tbl AND w.entity_id = entity
                                   AND w.attribute_table = t.relid)
              ORDER BY t.relid::oid LOOP
        IF rid IS NULL THEN
            rid := ((staging._owner_jsonb(tbl,
                        format('SELECT pg_catalog.to_jsonb(t.row_id) FROM %s t
                                 WHERE %I OPERATOR(pg_catalog.=) $1
                                   AND created_in OPERATOR(pg_catalog.<=) $2 AND updated_in OPERATOR(pg_catalog.>) $2',
                               tbl, (SELECT v.entity_column FROM staging.versioned_table v WHERE v.relid = tbl)),
                        ARRAY[entity, live]))[1])::text::bigint;
            EXIT WHEN rid IS NULL;
        END IF;
        FOR attr IN SELECT pg_catalog.unnest(staging._owner_jsonb(a,
                        format('SELECT pg_catalog.to_jsonb(x.*) FROM %s x WHERE row_id OPERATOR(pg_catalog.=) $1', a),
                        ARRAY[rid]))
        LOOP
            s := staging._attribute_split(a, attr);
            INSERT INTO staging.field_writes (main_table, entity_id, owner, position,
                                              attribute_table, field, value)
            VALUES (tbl, entity, 0, 0, a, s.key, s.value);
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._attribute_base(regclass, bigint, bigint, bigint) IS
    'Records the attribute rows of an entity at the live version as the base of the attribute tables the record does not name for it.';
REVOKE ALL ON FUNCTION staging._attribute_base(regclass, bigint, bigint, bigint) FROM PUBLIC;

-- The entity's base: what it is at the live version, recorded before its
-- first recorded write (position 0, a live write).
CREATE OR REPLACE FUNCTION staging._write_base(tbl regclass, entity bigint, live bigint)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    ent name := (SELECT v.entity_column FROM staging.versioned_table v WHERE v.relid = tbl);
    doc jsonb;
BEGIN
    -- (rows of users' tables are read as jsonb made by their owners, see
    -- staging._owner_jsonb)
    doc := (staging._owner_jsonb(tbl,
                format('SELECT pg_catalog.to_jsonb(t.*) FROM %s t
                         WHERE %I OPERATOR(pg_catalog.=) $1
                           AND created_in OPERATOR(pg_catalog.<=) $2 AND updated_in OPERATOR(pg_catalog.>) $2',
                       tbl, ent),
                ARRAY[entity, live]))[1];
    INSERT INTO staging.field_writes (main_table, entity_id, owner, position, field, value)
    VALUES (tbl, entity, 0, 0, '$exists', to_jsonb(doc IS NOT NULL));
    IF doc IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO staging.field_writes (main_table, entity_id, owner, position, field, value)
    SELECT tbl, entity, 0, 0, f, doc -> f FROM unnest(staging._main_fields(tbl)) f;
    PERFORM staging._attribute_base(tbl, entity, live, (doc ->> 'row_id')::bigint);
END
$$;
COMMENT ON FUNCTION staging._write_base(regclass, bigint, bigint) IS
    'Records what an entity is at the live version before its first recorded write.';
REVOKE ALL ON FUNCTION staging._write_base(regclass, bigint, bigint) FROM PUBLIC;

-- Two temporary updates that set fields of one entity may not overlap in
-- time: checked for update u (as scheduled now) and the entity.
CREATE OR REPLACE FUNCTION staging._check_overlap(tbl regclass, entity bigint, u bigint)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    mine staging.updates;
    other staging.updates;
BEGIN
    SELECT * INTO mine FROM staging.updates WHERE id = u;
    IF mine.rollback_id IS NULL THEN
        RETURN;
    END IF;
    SELECT o.* INTO other FROM staging.updates o
     WHERE o.id <> u AND o.rollback_id IS NOT NULL
       AND o.id < mine.rollback_id AND mine.id < o.rollback_id
       AND EXISTS (SELECT FROM staging.field_writes w
                    WHERE w.main_table = tbl AND w.entity_id = entity AND w.owner = o.id)
     ORDER BY o.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'temporary updates "%" (%) and "%" (%) would both change entity % of table % at the same time',
                mine.name, mine.id, other.name, other.id, entity, tbl
            USING ERRCODE = 'exclusion_violation',
                  HINT = 'Two temporary updates of one entity may not overlap: reschedule one of them.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._check_overlap(regclass, bigint, bigint) IS
    'Refuses (23P01) a temporary update overlapping another that changes the same entity.';
REVOKE ALL ON FUNCTION staging._check_overlap(regclass, bigint, bigint) FROM PUBLIC;

-- Record one write of fields (field -> value) of an entity at version v
-- (attribute fields when attr is given).  At the live version, a field
-- that a temporary update now live had set is that update's write (the
-- merchant correcting the sale price corrects the sale, and the correction
-- ends with it).
CREATE OR REPLACE FUNCTION staging._record(tbl regclass, entity bigint, v bigint, live bigint,
        attr regclass, fields text[], vals jsonb[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    running bigint[];
    i int;
    own bigint;
BEGIN
    IF v > live THEN
        PERFORM staging._check_overlap(tbl, entity, v);
        -- (the update's earlier writes of these fields are superseded)
        DELETE FROM staging.field_writes w
         WHERE w.main_table = tbl AND w.entity_id = entity AND w.owner = v
           AND w.attribute_table IS NOT DISTINCT FROM attr AND w.field = ANY (fields);
        INSERT INTO staging.field_writes (main_table, entity_id, owner, position,
                                          attribute_table, field, value)
        SELECT tbl, entity, v, v, attr, f.field, f.value
          FROM unnest(fields, vals) WITH ORDINALITY f(field, value, n) ORDER BY f.n;
        RETURN;
    END IF;
    SELECT array_agg(u.id ORDER BY u.id DESC) INTO running
      FROM staging.updates u WHERE u.id <= live AND u.rollback_id > live;
    FOR i IN 1 .. cardinality(fields) LOOP
        -- A live INSERT clears every attribute row; those a running
        -- temporary update set (but not all of them) are its own: the
        -- clear is recorded key by key then.
        IF attr IS NOT NULL AND fields[i] = '*' AND running IS NOT NULL
           AND NOT EXISTS (SELECT FROM staging.field_writes w
                            WHERE w.main_table = tbl AND w.entity_id = entity
                              AND w.owner = ANY (running) AND w.attribute_table = attr
                              AND w.field = '*')
           AND EXISTS (SELECT FROM staging.field_writes w
                        WHERE w.main_table = tbl AND w.entity_id = entity
                          AND w.owner = ANY (running) AND w.attribute_table = attr) THEN
            PERFORM staging._record(tbl, entity, v, live, attr, keys, array_fill(NULL::jsonb, ARRAY[cardinality(keys)]))
               FROM (SELECT array_agg(DISTINCT w.field) AS keys FROM staging.field_writes w
                      WHERE w.main_table = tbl AND w.entity_id = entity
                        AND w.attribute_table = attr AND w.field <> '*') k;
            CONTINUE;
        END IF;
        own := 0;
        IF running IS NOT NULL THEN
            SELECT w.owner INTO own FROM staging.field_writes w
             WHERE w.main_table = tbl AND w.entity_id = entity AND w.owner = ANY (running)
               AND w.attribute_table IS NOT DISTINCT FROM attr
               AND (w.field = fields[i] OR (attr IS NOT NULL AND w.field = '*'))
             ORDER BY w.owner DESC LIMIT 1;
            own := coalesce(own, 0);
        END IF;
        -- Superseded for every version from the live one on: the same
        -- owner's earlier writes of the field up to the live version
        -- (other owners' stay: they tell which fields an update set).
        DELETE FROM staging.field_writes w
         WHERE w.main_table = tbl AND w.entity_id = entity
           AND w.attribute_table IS NOT DISTINCT FROM attr AND w.field = fields[i]
           AND w.position <= live AND w.owner = own;
        INSERT INTO staging.field_writes (main_table, entity_id, owner, position,
                                          attribute_table, field, value)
        VALUES (tbl, entity, own, live, attr, fields[i], vals[i]);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._record(regclass, bigint, bigint, bigint, regclass, text[], jsonb[]) IS
    'Records the fields one write sets, with their owner and position.';
REVOKE ALL ON FUNCTION staging._record(regclass, bigint, bigint, bigint, regclass, text[], jsonb[]) FROM PUBLIC;

-- A write of a main table's row at version v, from its row trigger: kind
-- 'insert', 'update' (set_cols: the columns the statement sets) or
-- 'delete'; row the new row (the old one for a delete).  Returns false
-- when the entity has no record and v is the live version: a plain write
-- in place.  Otherwise records it (the base first) and returns true: the
-- entity's rows are then rebuilt by staging._rebuild at the end of the
-- statement.
CREATE OR REPLACE FUNCTION staging._write_main(tbl regclass, entity bigint, v bigint,
        kind text, row_doc jsonb, set_cols text[])
    RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    live bigint := staging.live_version();
    fields text[];
    vals jsonb[];
    ent name;
    present boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM staging.field_writes w
                    WHERE w.main_table = tbl AND w.entity_id = entity) THEN
        IF v = live THEN
            RETURN false;
        END IF;
        PERFORM staging._write_base(tbl, entity, live);
    END IF;
    IF kind = 'insert' THEN
        ent := (SELECT t.entity_column FROM staging.versioned_table t WHERE t.relid = tbl);
        EXECUTE format('SELECT EXISTS (SELECT FROM %s t
                         WHERE %I OPERATOR(pg_catalog.=) $1
                           AND created_in OPERATOR(pg_catalog.<=) $2 AND updated_in OPERATOR(pg_catalog.>) $2)',
                       tbl, ent)
           INTO present USING entity, v;
        IF present THEN
            RAISE EXCEPTION 'entity % of table % already exists at version %', entity, tbl, v
                USING ERRCODE = 'exclusion_violation',
                      HINT = 'Update the entity instead, or delete it first.';
        END IF;
        SELECT array_agg(f ORDER BY n), array_agg(row_doc -> f ORDER BY n) INTO fields, vals
          FROM unnest(staging._main_fields(tbl)) WITH ORDINALITY m(f, n);
        fields := '{$exists}'::text[] || coalesce(fields, '{}');
        vals := ARRAY['true'::jsonb] || coalesce(vals, '{}');
        PERFORM staging._record(tbl, entity, v, live, NULL, fields, vals);
        PERFORM staging._record(tbl, entity, v, live, a.relid, '{*}', ARRAY[NULL::jsonb])
           FROM staging.attribute_table a WHERE a.main_table = tbl;
    ELSIF kind = 'update' THEN
        SELECT array_agg(f ORDER BY n), array_agg(row_doc -> f ORDER BY n) INTO fields, vals
          FROM unnest(staging._main_fields(tbl)) WITH ORDINALITY m(f, n)
         WHERE f = ANY (set_cols);
        IF fields IS NOT NULL THEN
            PERFORM staging._record(tbl, entity, v, live, NULL, fields, vals);
        END IF;
    ELSE
        PERFORM staging._record(tbl, entity, v, live, NULL, '{$exists}', ARRAY['false'::jsonb]);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION staging._write_main(regclass, bigint, bigint, text, jsonb, text[]) IS
    'Records a write of a versioned main table''s row; false for a plain live write of an entity without a future.';
REVOKE ALL ON FUNCTION staging._write_main(regclass, bigint, bigint, text, jsonb, text[]) FROM PUBLIC;

-- A write of an attribute row at version v, from its row trigger: the
-- entity it belongs to (entity), kind 'insert', 'update' or 'delete', the
-- old and new rows.  Returns false for a plain live write (as
-- _write_main), else records it and returns true.
CREATE OR REPLACE FUNCTION staging._write_attribute(a regclass, entity bigint, v bigint,
        kind text, old_doc jsonb, new_doc jsonb)
    RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    live bigint := staging.live_version();
    tbl regclass := (SELECT t.main_table FROM staging.attribute_table t WHERE t.relid = a);
    old_key text;
    new_key text;
    new_value jsonb;
BEGIN
    IF NOT EXISTS (SELECT FROM staging.field_writes w
                    WHERE w.main_table = tbl AND w.entity_id = entity) THEN
        IF v = live THEN
            RETURN false;
        END IF;
        PERFORM staging._write_base(tbl, entity, live);
    ELSE
        PERFORM staging._attribute_base(tbl, entity, live);
    END IF;
    IF kind <> 'insert' THEN
        SELECT s.key INTO old_key FROM staging._attribute_split(a, old_doc) s;
    END IF;
    IF kind <> 'delete' THEN
        SELECT s.key, s.value INTO new_key, new_value FROM staging._attribute_split(a, new_doc) s;
    END IF;
    IF kind = 'delete' OR (kind = 'update' AND old_key <> new_key) THEN
        PERFORM staging._record(tbl, entity, v, live, a, ARRAY[old_key], ARRAY[NULL::jsonb]);
    END IF;
    IF kind <> 'delete' THEN
        PERFORM staging._record(tbl, entity, v, live, a, ARRAY[new_key], ARRAY[new_value]);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION staging._write_attribute(regclass, bigint, bigint, text, jsonb, jsonb) IS
    'Records a write of an attribute row; false for a plain live write of an entity without a future.';
REVOKE ALL ON FUNCTION staging._write_attribute(regclass, bigint, bigint, text, jsonb, jsonb) FROM PUBLIC;

-- What an entity is at version v by the record: {"row": its main fields
-- (null when it does not exist), "attrs": {attribute table oid: {key:
-- value columns}}}.
CREATE OR REPLACE FUNCTION staging._image(tbl regclass, entity bigint, v bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    w record;
    main jsonb := '{}';
    present boolean := false;
    attrs jsonb := '{}';
    cleared bigint[];
    cur regclass;
BEGIN
    -- '*' sorts before every key ('{...}'), so a table's clear comes first.
    FOR w IN SELECT DISTINCT ON (f.attribute_table, f.field)
                    f.attribute_table, f.field, f.value, f.position, f.seq
               FROM staging.field_writes f
              WHERE f.main_table = tbl AND f.entity_id = entity AND f.position <= v
                AND NOT EXISTS (SELECT FROM staging.updates u
                                 WHERE f.owner <> 0 AND u.id = f.owner AND u.rollback_id <= v)
              ORDER BY f.attribute_table, f.field, f.position DESC, f.seq DESC
    LOOP
        IF w.attribute_table IS NULL THEN
            IF w.field = '$exists' THEN
                present := w.value = 'true'::jsonb;
            ELSE
                main := main || jsonb_build_object(w.field, w.value);
            END IF;
            CONTINUE;
        END IF;
        IF cur IS DISTINCT FROM w.attribute_table THEN
            cur := w.attribute_table;
            cleared := NULL;
        END IF;
        IF w.field = '*' THEN
            cleared := ARRAY[w.position, w.seq];
        ELSIF w.value IS NOT NULL
              AND (cleared IS NULL OR ARRAY[w.position, w.seq] > cleared) THEN
            attrs := jsonb_set(CASE WHEN attrs ? cur::oid::text THEN attrs
                                    ELSE attrs || jsonb_build_object(cur::oid::text, '{}'::jsonb) END,
                               ARRAY[cur::oid::text, w.field], w.value);
        END IF;
    END LOOP;
    IF NOT present THEN
        RETURN jsonb_build_object('row', NULL, 'attrs', '{}'::jsonb);
    END IF;
    RETURN jsonb_build_object('row', main, 'attrs', attrs);
END
$$;
COMMENT ON FUNCTION staging._image(regclass, bigint, bigint) IS
    'What an entity is at a version according to the write record.';
REVOKE ALL ON FUNCTION staging._image(regclass, bigint, bigint) FROM PUBLIC;

-- Make the attribute rows of version row rid those of attrs (the "attrs"
-- of an image).
CREATE OR REPLACE FUNCTION staging._rebuild_attributes(tbl regclass, rid bigint, attrs jsonb)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    a regclass;
    want jsonb;
    have jsonb;
    doc jsonb;
    s record;
    k text;
    keys text[];
    cols text[];
    keycond text;
BEGIN
    FOR a IN SELECT t.relid FROM staging.attribute_table t WHERE t.main_table = tbl ORDER BY t.relid::oid LOOP
        want := coalesce(attrs -> (a::oid::text), '{}');
        have := '{}';
        FOR doc IN SELECT pg_catalog.unnest(staging._owner_jsonb(a,
                       format('SELECT pg_catalog.to_jsonb(x.*) FROM %s x WHERE row_id OPERATOR(pg_catalog.=) $1', a),
                       ARRAY[rid]))
        LOOP
            s := staging._attribute_split(a, doc);
            have := have || jsonb_build_object(s.key, s.value);
        END LOOP;
        IF have = want THEN
            CONTINUE;
        END IF;
        SELECT array_agg(c.attname::text) INTO cols
          FROM staging._copied_columns(a) c WHERE c.attname <> 'row_id';
        keys := staging._attribute_key(a)::text[];
        IF cardinality(keys) = 0 THEN
            keys := cols;
        END IF;
        SELECT string_agg(format('x.%I IS NOT DISTINCT FROM r.%I', c, c), ' AND ') INTO keycond
          FROM unnest(keys) c;
        -- Rows to go or to change first, then new ones (the key is unique).
        FOR k IN SELECT jsonb_object_keys(have) LOOP
            IF NOT want ? k THEN
                PERFORM staging._run_as_owner(a,
                    format('DELETE FROM %s x USING jsonb_populate_record(NULL::%s, %L::jsonb) r
                             WHERE x.row_id OPERATOR(pg_catalog.=) $1 AND %s',
                           a, a, k, keycond), ARRAY[rid]);
            ELSIF want -> k <> have -> k THEN
                PERFORM staging._run_as_owner(a,
                    format('UPDATE %s x SET %s
                              FROM jsonb_populate_record(NULL::%s, %L::jsonb) v,
                                   jsonb_populate_record(NULL::%s, %L::jsonb) r
                             WHERE x.row_id OPERATOR(pg_catalog.=) $1 AND %s',
                           a,
                           (SELECT string_agg(format('%I = v.%I', c, c), ', ')
                              FROM jsonb_object_keys(want -> k) c),
                           a, (want -> k)::text, a, k, keycond),
                    ARRAY[rid]);
            END IF;
        END LOOP;
        FOR k IN SELECT jsonb_object_keys(want) LOOP
            IF NOT have ? k THEN
                doc := k::jsonb || (want -> k);
                PERFORM staging._run_as_owner(a,
                    format('INSERT INTO %s (row_id, %s) SELECT $1, %s FROM jsonb_populate_record(NULL::%s, %L::jsonb) r',
                           a,
                           (SELECT string_agg(quote_ident(c), ', ') FROM jsonb_object_keys(doc) c),
                           (SELECT string_agg('r.' || quote_ident(c), ', ') FROM jsonb_object_keys(doc) c),
                           a, doc::text),
                    ARRAY[rid]);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._rebuild_attributes(regclass, bigint, jsonb) IS
    'Makes the attribute rows of one version row those an image gives.';
REVOKE ALL ON FUNCTION staging._rebuild_attributes(regclass, bigint, jsonb) FROM PUBLIC;

-- Lay out an entity's rows from the live version on as its record says.
-- The live row keeps its row_id and its start (and, after a DELETE at a
-- future version removed it, comes back as keep_row_id from
-- keep_created_in); rows of later versions are kept where they start
-- where they should, changed, dropped or added.  Rows ending at or before
-- the live version are history and stay as they are.
CREATE OR REPLACE FUNCTION staging._rebuild(tbl regclass, entity bigint,
        keep_row_id bigint DEFAULT NULL, keep_created_in bigint DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    live bigint := staging.live_version();
    ent name := (SELECT v.entity_column FROM staging.versioned_table v WHERE v.relid = tbl);
    fields text[] := staging._main_fields(tbl);
    b bigint;
    img jsonb;
    starts bigint[] := '{}';
    ends bigint[] := '{}';
    imgs jsonb[] := '{}';
    n int := 0;
    i int;
    r record;
    ids bigint[];
    have_start bigint[];
    have_end bigint[];
    have_doc jsonb[];
    live_row bigint;
    live_created bigint;
    target bigint[];
    cols text;
    vals text;
BEGIN
    -- The entity's rows from the live version on are locked first: a
    -- transaction writing the entity at another version (another row)
    -- has then committed, and the record read below holds its writes
    -- (under READ COMMITTED; a transaction snapshot gets 40001), so the
    -- layout never puts back values that miss them.  The overlap of
    -- temporary updates is checked again for the same reason.
    PERFORM staging._run_as_owner(tbl,
        format('SELECT row_id FROM %s WHERE %I OPERATOR(pg_catalog.=) $1
                  AND updated_in OPERATOR(pg_catalog.>) $2 FOR NO KEY UPDATE', tbl, ent),
        ARRAY[entity, live]);
    PERFORM staging._check_overlap(tbl, entity, o.owner)
       FROM (SELECT DISTINCT w.owner FROM staging.field_writes w
              WHERE w.main_table = tbl AND w.entity_id = entity AND w.owner > live) o;
    -- (an attribute table registered after the entity's first recorded
    -- write gets its base first, see _attribute_base)
    PERFORM staging._attribute_base(tbl, entity, live);
    -- The versions where the entity may change: the live one, the
    -- positions of later writes, the ends of the temporary updates that
    -- wrote it.
    FOR b IN SELECT p FROM (
                SELECT live AS p
                UNION SELECT w.position FROM staging.field_writes w
                       WHERE w.main_table = tbl AND w.entity_id = entity AND w.position > live
                UNION SELECT u.rollback_id FROM staging.updates u
                       WHERE u.rollback_id > live
                         AND u.id IN (SELECT w.owner FROM staging.field_writes w
                                       WHERE w.main_table = tbl AND w.entity_id = entity)) s
              ORDER BY p
    LOOP
        img := staging._image(tbl, entity, b);
        IF n > 0 AND imgs[n] = img THEN
            CONTINUE;
        END IF;
        IF n > 0 THEN
            ends[n] := b;
        END IF;
        n := n + 1;
        starts[n] := b;
        ends[n] := staging.max_version();
        imgs[n] := img;
    END LOOP;

    -- The rows there are now.
    FOR r IN SELECT (d.doc ->> 'row_id')::bigint AS row_id, (d.doc ->> 'created_in')::bigint AS created_in,
                    (d.doc ->> 'updated_in')::bigint AS updated_in, d.doc
               FROM unnest(staging._owner_jsonb(tbl,
                        format('SELECT pg_catalog.to_jsonb(t.*) FROM %s t
                                 WHERE %I OPERATOR(pg_catalog.=) $1 AND updated_in OPERATOR(pg_catalog.>) $2
                                 ORDER BY created_in', tbl, ent),
                        ARRAY[entity, live])) WITH ORDINALITY d(doc, n)
              ORDER BY d.n
    LOOP
        ids := ids || r.row_id;
        have_start := have_start || r.created_in;
        have_end := have_end || r.updated_in;
        have_doc := have_doc || r.doc;
        IF (keep_row_id IS NULL AND r.created_in <= live) OR r.row_id = keep_row_id THEN
            live_row := r.row_id;
            live_created := coalesce(keep_created_in, r.created_in);
        END IF;
    END LOOP;

    -- Which row each segment goes to: the live row for the first, the row
    -- starting there for the others (NULL: a new row).
    target := array_fill(NULL::bigint, ARRAY[greatest(n, 1)]);
    FOR i IN 1 .. n LOOP
        IF imgs[i] -> 'row' = 'null'::jsonb THEN
            CONTINUE;
        END IF;
        IF i = 1 THEN
            target[i] := live_row;
        ELSE
            FOR j IN 1 .. coalesce(cardinality(ids), 0) LOOP
                IF have_start[j] = starts[i] AND ids[j] IS DISTINCT FROM live_row THEN
                    target[i] := ids[j];
                END IF;
            END LOOP;
        END IF;
    END LOOP;

    -- 1. Rows no segment takes: gone (the live row ends at the live
    -- version when it began before it).
    FOR j IN 1 .. coalesce(cardinality(ids), 0) LOOP
        IF array_position(target, ids[j]) IS NULL THEN
            IF ids[j] = live_row AND live_created < live THEN
                PERFORM staging._run_as_owner(tbl,
                    format('UPDATE %s SET created_in = $3, updated_in = $2 WHERE row_id OPERATOR(pg_catalog.=) $1', tbl),
                    ARRAY[ids[j], live, live_created]);
            ELSE
                PERFORM staging._run_as_owner(tbl,
                    format('DELETE FROM %s WHERE row_id OPERATOR(pg_catalog.=) $1', tbl), ARRAY[ids[j]]);
            END IF;
        END IF;
    END LOOP;

    -- 2. Rows kept that end earlier or hold other values: changed; 3. new
    -- rows; 4. rows kept that end later.  In this order no two rows of
    -- the entity overlap on the way.
    FOR pass IN 2 .. 4 LOOP
        FOR i IN 1 .. n LOOP
            IF imgs[i] -> 'row' = 'null'::jsonb THEN
                CONTINUE;
            END IF;
            SELECT string_agg(quote_ident(f), ', '), string_agg('r.' || quote_ident(f), ', ')
              INTO cols, vals
              FROM jsonb_object_keys(imgs[i] -> 'row') f WHERE f = ANY (fields);
            IF target[i] IS NULL AND pass = 3 THEN
                IF i = 1 AND keep_row_id IS NOT NULL THEN
                    target[i] := staging._run_as_owner(tbl,
                        format('INSERT INTO %s (row_id, %I, created_in, updated_in%s)
                                SELECT $1, $2, $3, $4%s FROM jsonb_populate_record(NULL::%s, %L::jsonb) r
                                RETURNING row_id',
                               tbl, ent, CASE WHEN cols IS NULL THEN '' ELSE ', ' || cols END,
                               CASE WHEN vals IS NULL THEN '' ELSE ', ' || vals END,
                               tbl, (imgs[i] -> 'row')::text),
                        ARRAY[keep_row_id, entity, coalesce(keep_created_in, live), ends[i]]);
                ELSE
                    target[i] := staging._run_as_owner(tbl,
                        format('INSERT INTO %s (%I, created_in, updated_in%s)
                                SELECT $1, $2, $3%s FROM jsonb_populate_record(NULL::%s, %L::jsonb) r
                                RETURNING row_id',
                               tbl, ent, CASE WHEN cols IS NULL THEN '' ELSE ', ' || cols END,
                               CASE WHEN vals IS NULL THEN '' ELSE ', ' || vals END,
                               tbl, (imgs[i] -> 'row')::text),
                        ARRAY[entity, starts[i], ends[i]]);
                END IF;
                PERFORM staging._rebuild_attributes(tbl, target[i], imgs[i] -> 'attrs');
            ELSIF target[i] IS NOT NULL AND pass <> 3 THEN
                FOR j IN 1 .. coalesce(cardinality(ids), 0) LOOP
                    CONTINUE WHEN ids[j] <> target[i];
                    IF (pass = 2 AND have_end[j] >= ends[i]) OR (pass = 4 AND have_end[j] < ends[i]) THEN
                        IF have_end[j] <> ends[i]
                           OR (i = 1 AND have_start[j] <> live_created)
                           OR EXISTS (SELECT FROM jsonb_each(imgs[i] -> 'row') e
                                       WHERE e.key = ANY (fields)
                                         AND (have_doc[j] -> e.key) IS DISTINCT FROM e.value) THEN
                            PERFORM staging._run_as_owner(tbl,
                                format('UPDATE %s x SET created_in = $3, updated_in = $2%s
                                          FROM jsonb_populate_record(NULL::%s, %L::jsonb) r
                                         WHERE x.row_id OPERATOR(pg_catalog.=) $1',
                                       tbl,
                                       (SELECT coalesce(string_agg(format(', %I = r.%I', f, f), ''), '')
                                          FROM jsonb_object_keys(imgs[i] -> 'row') f WHERE f = ANY (fields)),
                                       tbl, (imgs[i] -> 'row')::text),
                                ARRAY[ids[j], ends[i], CASE WHEN i = 1 THEN live_created ELSE have_start[j] END]);
                        END IF;
                        PERFORM staging._rebuild_attributes(tbl, ids[j], imgs[i] -> 'attrs');
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
    END LOOP;

    -- The writes of temporary updates that ended are left out for good;
    -- an entity whose record holds nothing beyond the live version any
    -- more has no future: its record goes, and it is written in place.
    DELETE FROM staging.field_writes w
     WHERE w.main_table = tbl AND w.entity_id = entity
       AND w.owner IN (SELECT u.id FROM staging.updates u WHERE u.rollback_id <= live);
    IF NOT EXISTS (SELECT FROM staging.field_writes w
                    WHERE w.main_table = tbl AND w.entity_id = entity
                      AND (w.owner <> 0 OR w.position > live)) THEN
        DELETE FROM staging.field_writes w WHERE w.main_table = tbl AND w.entity_id = entity;
    END IF;
END
$$;
COMMENT ON FUNCTION staging._rebuild(regclass, bigint, bigint, bigint) IS
    'Lays out an entity''s version rows from the live version on as its write record says.';
REVOKE ALL ON FUNCTION staging._rebuild(regclass, bigint, bigint, bigint) FROM PUBLIC;

-- A table that stops being versioned (disable_versioning, DROP TABLE)
-- takes its write record with it.
CREATE OR REPLACE FUNCTION staging._forget_writes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'versioned_table' THEN
        DELETE FROM staging.field_writes w WHERE w.main_table::oid = OLD.relid::oid;
    ELSE
        DELETE FROM staging.field_writes w WHERE w.attribute_table::oid = OLD.relid::oid;
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION staging._forget_writes() IS
    'Trigger: removes the write record of a table that is no longer versioned.';
REVOKE ALL ON FUNCTION staging._forget_writes() FROM PUBLIC;
CREATE OR REPLACE TRIGGER forget_writes
    AFTER DELETE ON staging.versioned_table
    FOR EACH ROW EXECUTE FUNCTION staging._forget_writes();
CREATE OR REPLACE TRIGGER forget_writes
    AFTER DELETE ON staging.attribute_table
    FOR EACH ROW EXECUTE FUNCTION staging._forget_writes();
