-------------------------------------------------------------------------------
-- Updates (campaigns) and writing
-------------------------------------------------------------------------------

COMMENT ON TABLE staging.updates IS
    'Scheduled updates (campaigns): id is the version at which the update starts, '
    'rollback_id the version at which a temporary update ends.';
-- No privileges for PUBLIC: the schedule may be confidential.

-- The start and end versions of a schedule, checked: start in the future
-- (after now() and after the live version), end after start, and neither
-- taken by another update (except the one being rescheduled).
CREATE OR REPLACE FUNCTION staging._schedule_versions(update_name text, start_time timestamptz,
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
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the time at which the update goes live, after now().';
    END IF;
    IF NOT pg_catalog.isfinite(start_time) THEN
        RAISE EXCEPTION 'start time % of update "%" is not a point in time', start_time, update_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose a finite start time in the future.';
    END IF;
    IF NOT pg_catalog.isfinite(end_time) THEN
        RAISE EXCEPTION 'end time % of update "%" is not a point in time', end_time, update_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose a finite end time, or NULL for a permanent update.';
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
REVOKE ALL ON FUNCTION staging._schedule_versions(text, timestamptz, timestamptz, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.create_update(name text, start_time timestamptz,
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
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the update, e.g. staging.create_update(''Black Friday'', start_time, end_time).';
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
-- Campaigns change data in every versioned table, and their schedule may
-- be confidential: editors get these by GRANT from the DBA.
REVOKE ALL ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text) FROM PUBLIC;

-- The condition lo < created_in <= hi (lo, hi: SQL expressions such as
-- $1), written for the index on (updated_in, created_in) that versioned
-- tables have for version ranges: rows that last forever are one range of
-- it, the others end after lo.  Either way only rows of versions after lo
-- are read, never the whole table.
CREATE OR REPLACE FUNCTION staging._created_between(lo text, hi text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT pg_catalog.format(
    '((updated_in = 9223372036854775807 AND created_in > %1$s AND created_in <= %2$s)'
    ' OR (updated_in > %1$s AND updated_in < 9223372036854775807'
    '     AND created_in > %1$s AND created_in <= %2$s))', lo, hi)
$$;
COMMENT ON FUNCTION staging._created_between(text, text) IS
    'SQL text of lo < created_in <= hi that the (updated_in, created_in) index of a versioned table answers.';

-- The columns a copy of a row carries over: not dropped, not generated,
-- not filled by a sequence or identity.
CREATE OR REPLACE FUNCTION staging._copied_columns(tbl regclass)
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

-- reschedule_update, for an update that already went live: only its end
-- can change, and not into the past.  Returns the new end version.
CREATE OR REPLACE FUNCTION staging._reschedule_running(u staging.updates, start_time timestamptz,
        end_time timestamptz, live bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    e bigint;
BEGIN
    IF NOT pg_catalog.isfinite(start_time) OR staging.to_version(start_time) IS DISTINCT FROM u.id THEN
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
    IF NOT pg_catalog.isfinite(end_time) THEN
        RAISE EXCEPTION 'end time % of update "%" is not a point in time', end_time, u.name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Choose a finite end time, or NULL for a permanent update.';
    END IF;
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
    RETURN e;
END
$$;
COMMENT ON FUNCTION staging._reschedule_running(staging.updates, timestamptz, timestamptz, bigint) IS
    'reschedule_update step: checks the new end time of an update that went live; returns its end version.';
REVOKE ALL ON FUNCTION staging._reschedule_running(staging.updates, timestamptz, timestamptz, bigint) FROM PUBLIC;

-- An update's changes follow its schedule: its writes move from version
-- old_id to new_id (the update's id after reschedule_update changed it;
-- the same for an end-only change), the overlap rule is checked again and
-- every entity it wrote is laid out again from the write record.
CREATE OR REPLACE FUNCTION staging._move_writes(old_id bigint, new_id bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    e record;
BEGIN
    UPDATE staging.field_writes
       SET owner = new_id,
           position = CASE WHEN position = old_id THEN new_id ELSE position END
     WHERE owner = old_id;
    FOR e IN SELECT DISTINCT w.main_table, w.entity_id FROM staging.field_writes w
              WHERE w.owner = new_id ORDER BY 1, 2 LOOP
        PERFORM staging._check_overlap(e.main_table, e.entity_id, new_id);
    END LOOP;
    FOR e IN SELECT DISTINCT w.main_table, w.entity_id FROM staging.field_writes w
              WHERE w.owner = new_id ORDER BY 1, 2 LOOP
        PERFORM staging._rebuild(e.main_table, e.entity_id);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._move_writes(bigint, bigint) IS
    'reschedule_update step: moves an update''s writes to its new id and lays out the entities it wrote again.';
REVOKE ALL ON FUNCTION staging._move_writes(bigint, bigint) FROM PUBLIC;

-- Move an update, with every change it makes, to a new start and end.
CREATE OR REPLACE FUNCTION staging.reschedule_update(id bigint, start_time timestamptz,
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
    IF reschedule_update.id IS NULL THEN
        RAISE EXCEPTION 'staging.reschedule_update: the id of the update must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the id of an update (its start version) from staging.updates.';
    END IF;
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    -- (FOR UPDATE waits for the transactions writing at the update, which
    -- share-lock its row: their writes are then seen and moved)
    SELECT * INTO u FROM staging.updates WHERE updates.id = reschedule_update.id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'update % does not exist', reschedule_update.id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'See the table staging.updates.';
    END IF;
    live := staging.live_version();
    IF u.id <= live THEN
        s := u.id;
        e := staging._reschedule_running(u, start_time, end_time, live);
    ELSE
        SELECT v.start_version, v.end_version INTO s, e
          FROM staging._schedule_versions(u.name, start_time, end_time, u.id) v;
    END IF;

    UPDATE staging.updates
       SET id = s, start_time = staging.to_timestamp(s),
           end_time = staging.to_timestamp(e), rollback_id = e
     WHERE updates.id = u.id;
    PERFORM staging._move_writes(u.id, s);
    RETURN s;
END
$$;
COMMENT ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) IS
    'Moves an update and every change it makes to a new start (and end) time; '
    'once it went live only its end can change.  Returns the new id.';
REVOKE ALL ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.delete_update(id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    u staging.updates;
    e record;
    tbls regclass[];
    entities bigint[];
BEGIN
    IF delete_update.id IS NULL THEN
        RAISE EXCEPTION 'staging.delete_update: the id of the update must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the id of an update (its start version) from staging.updates.';
    END IF;
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    -- (FOR UPDATE waits for the transactions writing at the update, which
    -- share-lock its row: their writes are then seen and removed)
    SELECT * INTO u FROM staging.updates WHERE updates.id = delete_update.id FOR UPDATE;
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
    -- Its writes go, and every entity it wrote is laid out again without
    -- them: values it merged into later versions go with it.
    FOR e IN SELECT DISTINCT w.main_table, w.entity_id FROM staging.field_writes w
              WHERE w.owner = u.id ORDER BY 1, 2 LOOP
        tbls := tbls || e.main_table;
        entities := entities || e.entity_id;
    END LOOP;
    DELETE FROM staging.field_writes w WHERE w.owner = u.id;
    DELETE FROM staging.updates WHERE updates.id = u.id;
    FOR i IN 1 .. coalesce(cardinality(entities), 0) LOOP
        PERFORM staging._rebuild(tbls[i], entities[i]);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging.delete_update(bigint) IS
    'Removes a future update and every change it makes.';
REVOKE ALL ON FUNCTION staging.delete_update(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.advance(until timestamptz DEFAULT now()) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    old_live bigint;
    new_live bigint;
BEGIN
    IF until IS NULL OR NOT pg_catalog.isfinite(until) THEN
        RAISE EXCEPTION 'advance() needs a point in time, not %', coalesce(until::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the time up to which updates go live, e.g. now() (the default).';
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
    -- Caches learn of it as of a swap (kind go_live, NOTIFY staging_invalidation).
    PERFORM staging._record_go_live(old_live, new_live);
    RETURN new_live;
END
$$;
COMMENT ON FUNCTION staging.advance(timestamptz) IS
    'Makes every update starting (or ending) at or before until live; returns the new live version.';
REVOKE ALL ON FUNCTION staging.advance(timestamptz) FROM PUBLIC;
