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
    sequence_table regclass NOT NULL
);
COMMENT ON TABLE staging.versioned_table IS
    'Registry: each versioned main table, its entity column and sequence table.';
SELECT pg_catalog.pg_extension_config_dump('staging.versioned_table', '');

CREATE TABLE staging.attribute_table (
    relid         regclass PRIMARY KEY,
    main_table    regclass NOT NULL
                  REFERENCES staging.versioned_table ON DELETE CASCADE,
    entity_column name NOT NULL
);
COMMENT ON TABLE staging.attribute_table IS
    'Registry: each attribute table linked by row_id to a versioned main table, '
    'with the name its entity column had before.';
COMMENT ON COLUMN staging.attribute_table.entity_column IS
    'The column that referred to the main table''s entity before versioning.';
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

-------------------------------------------------------------------------------
-- Reading: the session version
-------------------------------------------------------------------------------

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

-- Move one version point of every versioned table from one version to
-- another: rows ending at "from" end at "to", rows starting at "from"
-- start at "to".  Refused (23P01) when an entity has another version
-- between the two, because the move would then cross it.  Uses the
-- created_in and updated_in indexes: the cost follows the rows moved.
CREATE FUNCTION staging._move_version(from_version bigint, to_version bigint)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
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
                            OR (created_in = $1 AND updated_in <= $2) LIMIT 1',
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
                         WHERE created_in = $1 OR updated_in = $1', t.relid)
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
    AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT relid, entity_column FROM staging.versioned_table ORDER BY relid::oid LOOP
        EXECUTE format('DELETE FROM %s WHERE created_in = $1', t.relid) USING end_version;
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
                          WHERE created_in = $1 OR updated_in = $1) e
                   LEFT JOIN %1$s b ON b.%2$I = e.entity AND b.updated_in = $1
                   LEFT JOIN %1$s v ON v.%2$I = e.entity AND v.created_in = $1
                  ORDER BY e.entity', t.relid, t.entity_column)
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

-------------------------------------------------------------------------------
-- Staging schemas and the atomic swap
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------

-- Internal functions are not for applications.
REVOKE ALL ON FUNCTION staging._assert_preloaded() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._registry_changed() FROM PUBLIC;
GRANT USAGE ON SCHEMA staging TO PUBLIC;
GRANT SELECT ON staging.live_state, staging.versioned_table,
    staging.attribute_table TO PUBLIC;

-- Campaigns change data in every versioned table, and their schedule may
-- be confidential: editors get these by GRANT from the DBA.
REVOKE ALL ON FUNCTION staging._schedule_versions(text, timestamptz, timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._move_version(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._drop_rollback(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._add_rollback(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._copied_columns(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.reschedule_update(bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.delete_update(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.advance(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._enable_versioned_writes(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._disable_versioned_writes(regclass) FROM PUBLIC;
