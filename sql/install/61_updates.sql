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

-- Move one version point of every versioned table from one version to
-- another: rows ending at "from" end at "to", rows starting at "from"
-- start at "to".  Refused (23P01) when an entity has another version
-- between the two, because the move would then cross it.  Uses the
-- (updated_in, created_in) index: the cost follows the rows moved.
CREATE OR REPLACE FUNCTION staging._move_version(from_version bigint, to_version bigint)
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
        PERFORM staging._run_as_owner(t.relid,
            format('UPDATE %s
                       SET created_in = CASE WHEN created_in = $1 THEN $2 ELSE created_in END,
                           updated_in = CASE WHEN updated_in = $1 THEN $2 ELSE updated_in END
                     WHERE updated_in = $1 OR %s', t.relid, staging._created_between('$1 - 1', '$1')),
            ARRAY[from_version, to_version]);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._move_version(bigint, bigint) IS
    'Moves the version rows starting or ending at one version to another, in every versioned table.';
REVOKE ALL ON FUNCTION staging._move_version(bigint, bigint) FROM PUBLIC;

-- A temporary update becomes permanent: its rollback rows go, and the rows
-- that ended at the end version last until the entity's next version.
CREATE OR REPLACE FUNCTION staging._drop_rollback(end_version bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT relid, entity_column FROM staging.versioned_table ORDER BY relid::oid LOOP
        PERFORM staging._run_as_owner(t.relid,
            format('DELETE FROM %s WHERE %s', t.relid, staging._created_between('$1 - 1', '$1')),
            ARRAY[end_version]);
        PERFORM staging._run_as_owner(t.relid,
            format('UPDATE %1$s r
                       SET updated_in = coalesce((SELECT min(n.created_in) FROM %1$s n
                                                   WHERE n.%2$I = r.%2$I AND n.created_in > $1),
                                                 staging.max_version())
                     WHERE r.updated_in = $1', t.relid, t.entity_column),
            ARRAY[end_version]);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._drop_rollback(bigint) IS
    'Removes the rollback rows of an end version and closes the gap they leave.';
REVOKE ALL ON FUNCTION staging._drop_rollback(bigint) FROM PUBLIC;

-- Copy a version row of a main table, with its attribute rows, as the
-- interval [created_in, updated_in); returns the copy's row_id.  Columns
-- filled by a sequence or identity (row_id, attribute value ids) get new
-- values.
CREATE OR REPLACE FUNCTION staging._copy_version_row(tbl regclass, source_row_id bigint,
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
    new_row_id := staging._run_as_owner(tbl,
        format('INSERT INTO %1$s (%2$s, created_in, updated_in)
                SELECT %2$s, $2, $3 FROM %1$s WHERE row_id = $1 RETURNING row_id', tbl, cols),
        ARRAY[source_row_id, new_created_in, new_updated_in]);
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl ORDER BY relid::oid LOOP
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
          FROM staging._copied_columns(a) WHERE attname <> 'row_id';
        PERFORM staging._run_as_owner(a,
            format('INSERT INTO %1$s (row_id%3$s) SELECT $2%3$s FROM %1$s WHERE row_id = $1',
                   a, cols, CASE WHEN cols IS NULL THEN '' ELSE ', ' || cols END),
            ARRAY[source_row_id, new_row_id]);
    END LOOP;
    RETURN new_row_id;
END
$$;
COMMENT ON FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint) IS
    'Copies a version row and its attribute rows to a new interval; returns the new row_id.';
REVOKE ALL ON FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint) FROM PUBLIC;

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

-- A permanent update becomes temporary: from its end version on, each
-- entity it changed shows again what it showed just before the start.
CREATE OR REPLACE FUNCTION staging._add_rollback(start_version bigint, end_version bigint)
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
                PERFORM staging._run_as_owner(t.relid,
                    format('UPDATE %s SET updated_in = $2 WHERE row_id = $1', t.relid),
                    ARRAY[r.own_row, end_version]);
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
REVOKE ALL ON FUNCTION staging._add_rollback(bigint, bigint) FROM PUBLIC;

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

-- reschedule_update, the move of an update u to the start version s and
-- end version e (NULL: permanent), in every versioned table.
CREATE OR REPLACE FUNCTION staging._reschedule_versions(u staging.updates, s bigint, e bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
BEGIN
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

END
$$;
COMMENT ON FUNCTION staging._reschedule_versions(staging.updates, bigint, bigint) IS
    'reschedule_update step: moves the version rows of an update to its new start and end versions.';
REVOKE ALL ON FUNCTION staging._reschedule_versions(staging.updates, bigint, bigint) FROM PUBLIC;

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
    LOCK TABLE staging.updates IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO u FROM staging.updates WHERE updates.id = reschedule_update.id;
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

    PERFORM staging._reschedule_versions(u, s, e);

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
REVOKE ALL ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.delete_update(id bigint) RETURNS void
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
REVOKE ALL ON FUNCTION staging.delete_update(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.advance(until timestamptz DEFAULT now()) RETURNS bigint
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
    -- Caches learn of it as of a swap (kind go_live, NOTIFY staging_invalidation).
    PERFORM staging._record_go_live(old_live, new_live);
    RETURN new_live;
END
$$;
COMMENT ON FUNCTION staging.advance(timestamptz) IS
    'Makes every update starting (or ending) at or before until live; returns the new live version.';
REVOKE ALL ON FUNCTION staging.advance(timestamptz) FROM PUBLIC;
