-------------------------------------------------------------------------------
-- Restores by the database owner
-------------------------------------------------------------------------------

-- The state tables that pg_dump dumps (pg_extension_config_dump) belong to
-- the role that created the extension, a superuser.  A restore by the
-- database owner, who is not one (a superuser created the extension in
-- the new database, then pg_restore --no-owner ran as the owner), must
-- still load them, or the restored shop would serve an older catalog.
-- So the database owner (the role pg_database_owner) may insert into
-- them, and the restore guard below lets it do so only as a restore does:
--   - with COPY sent by the client (pg_restore, psql running a plain
--     dump): staging._restore_copy() names the table only then, never
--     for an INSERT (a dump made with --inserts is refused with a hint);
--   - into a table that is still empty (live_state: still the row CREATE
--     EXTENSION put there, version 1, and no update yet);
--   - the schedule and the live version (updates, live_state), which apply
--     to every versioned table, only when every registered versioned table
--     belongs to a role whose privileges it has (after a --no-owner
--     restore, itself);
--   - each row naming only tables whose owner's privileges it has (the
--     write record, the changelog registries), row by row.
-- Everyone else writes them as before: their owner (and its members,
-- superusers), pg_write_all_data, and roles an administrator granted
-- INSERT.  Other roles have no privilege on them.

-- What a restore needs: INSERT on the dumped state tables, SELECT on the
-- write record's sequence (for field_writes_seq_sync's condition), and
-- EXECUTE on the changelog trigger functions (81_changelog.sql).
GRANT INSERT ON staging.live_state, staging.updates, staging.field_writes,
                staging.changelog, staging.changelog_subscription TO pg_database_owner;
GRANT SELECT ON SEQUENCE staging.field_writes_seq TO pg_database_owner;

CREATE OR REPLACE FUNCTION staging._restore_copy() RETURNS regclass
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_restore_copy';
COMMENT ON FUNCTION staging._restore_copy() IS
    'The table a COPY FROM sent by the client is writing in this session right now (NULL otherwise).';
-- (PUBLIC keeps EXECUTE on it and on _state_writer: the guards call them
-- for every role that inserts into a state table.)

-- May the current role write this state table outside a restore?  Its
-- owner's privileges, pg_write_all_data, or INSERT granted by other means
-- than pg_database_owner (editors granted staging.updates).
CREATE OR REPLACE FUNCTION staging._state_writer(tbl regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_write_all_data', 'USAGE')
    OR EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) a
                WHERE a.privilege_type = 'INSERT'
                  AND a.grantee <> 'pg_database_owner'::pg_catalog.regrole
                  AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'USAGE')))
  FROM pg_catalog.pg_class c
 WHERE c.oid = tbl
$$;
COMMENT ON FUNCTION staging._state_writer(regclass) IS
    'Whether the current role may write a state table of the extension outside a restore.';

-- For the restore guard, as the extension's owner, during a COPY into the
-- table only: lock the table against other writers (and the registry of
-- versioned tables against new registrations, for the schedule and the
-- live version) until the transaction ends, and tell whether it already
-- holds data (live_state: a live version other than 1, or any update).
CREATE OR REPLACE FUNCTION staging._restore_target(tbl regclass) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    loaded boolean;
BEGIN
    IF staging._restore_copy() IS DISTINCT FROM tbl
       OR tbl NOT IN ('staging.live_state'::regclass, 'staging.updates'::regclass,
                      'staging.field_writes'::regclass, 'staging.changelog'::regclass,
                      'staging.changelog_subscription'::regclass) THEN
        RAISE EXCEPTION 'staging._restore_target(%) is for the restore guard of a COPY into that table', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);
    IF tbl IN ('staging.live_state'::regclass, 'staging.updates'::regclass) THEN
        LOCK TABLE staging.versioned_table IN SHARE MODE;
    END IF;
    IF tbl = 'staging.live_state'::regclass THEN
        -- (pg_dump dumps live_state before updates)
        RETURN EXISTS (SELECT FROM staging.live_state s WHERE s.version <> 1)
            OR EXISTS (SELECT FROM staging.updates);
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', tbl) INTO loaded;
    RETURN loaded;
END
$$;
COMMENT ON FUNCTION staging._restore_target(regclass) IS
    'Restore guard: locks a state table being restored by COPY and tells whether it already holds data.';
REVOKE ALL ON FUNCTION staging._restore_target(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staging._restore_target(regclass) TO pg_database_owner;

-- BEFORE INSERT, per statement, on each dumped state table.
CREATE OR REPLACE FUNCTION staging._restore_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tbl regclass := TG_RELID;
    foreign_table regclass;
    foreign_owner regrole;
BEGIN
    IF staging._state_writer(tbl) THEN
        RETURN NULL;
    END IF;
    IF staging._restore_copy() IS DISTINCT FROM tbl THEN
        RAISE EXCEPTION 'permission denied to insert into % outside a restore', tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The extension''s owner writes its state; the database owner may only restore it, '
                           'with COPY (as pg_restore does), into a database where it is still empty.',
                  HINT = 'Restore a dump made without --inserts or --column-inserts, or restore as a superuser.';
    END IF;
    IF staging._restore_target(tbl) THEN
        RAISE EXCEPTION 'cannot restore %: the database already has the extension''s state', tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The database owner may restore the state of the staging extension only into a '
                           'database where it is still empty (CREATE EXTENSION staging just ran).',
                  HINT = 'Restore into a new database (a superuser runs CREATE EXTENSION staging in it), '
                         'with pg_restore --no-owner --single-transaction --exit-on-error, or restore as a superuser.';
    END IF;
    IF tbl IN ('staging.live_state'::regclass, 'staging.updates'::regclass) THEN
        SELECT v.relid, c.relowner::regrole INTO foreign_table, foreign_owner
          FROM staging.versioned_table v JOIN pg_catalog.pg_class c ON c.oid = v.relid
         WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'cannot restore %: versioned table % belongs to role %', tbl, foreign_table, foreign_owner
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The schedule and the live version apply to every versioned table: the database owner '
                               'restores them only when it has the privileges of the owner of each.',
                      HINT = 'Restore with pg_restore --no-owner into a new database (its tables are then yours), '
                             'or restore as a superuser.';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION staging._restore_guard() IS
    'Statement trigger BEFORE INSERT on the dumped state tables: roles that may not write them otherwise '
    '(the database owner) may only restore them, with COPY, into a new database.';
REVOKE ALL ON FUNCTION staging._restore_guard() FROM PUBLIC;

-- BEFORE INSERT, per row, during a COPY (see the triggers' WHEN): each
-- restored row of the write record and the changelog registries may only
-- name tables whose owner's privileges the restoring role has.
CREATE OR REPLACE FUNCTION staging._restore_guard_row() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    named regclass[];
    rel regclass;
    owner oid;
BEGIN
    IF staging._state_writer(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'field_writes' THEN
        named := ARRAY[NEW.main_table, NEW.attribute_table];
    ELSIF TG_TABLE_NAME = 'changelog' THEN
        named := ARRAY[NEW.main_table, NEW.log_table];
    ELSE
        named := ARRAY[NEW.tbl];
    END IF;
    FOREACH rel IN ARRAY named
    LOOP
        CONTINUE WHEN rel IS NULL;
        SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid = rel;
        IF NOT FOUND OR NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'cannot restore a row of % naming table %: it belongs to role %',
                    TG_RELID::regclass, rel, owner::regrole
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Restore with pg_restore --no-owner into a new database (its tables are then yours), '
                             'or restore as a superuser.';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION staging._restore_guard_row() IS
    'Row trigger BEFORE INSERT during a COPY into field_writes, changelog or changelog_subscription: '
    'the database owner restores only rows naming tables whose owner''s privileges it has.';
REVOKE ALL ON FUNCTION staging._restore_guard_row() FROM PUBLIC;

CREATE OR REPLACE TRIGGER restore_guard
    BEFORE INSERT ON staging.live_state
    FOR EACH STATEMENT EXECUTE FUNCTION staging._restore_guard();
CREATE OR REPLACE TRIGGER restore_guard
    BEFORE INSERT ON staging.updates
    FOR EACH STATEMENT EXECUTE FUNCTION staging._restore_guard();
CREATE OR REPLACE TRIGGER restore_guard
    BEFORE INSERT ON staging.field_writes
    FOR EACH STATEMENT EXECUTE FUNCTION staging._restore_guard();
CREATE OR REPLACE TRIGGER restore_guard
    BEFORE INSERT ON staging.changelog
    FOR EACH STATEMENT EXECUTE FUNCTION staging._restore_guard();
CREATE OR REPLACE TRIGGER restore_guard
    BEFORE INSERT ON staging.changelog_subscription
    FOR EACH STATEMENT EXECUTE FUNCTION staging._restore_guard();
COMMENT ON TRIGGER restore_guard ON staging.live_state IS
    'Roles that may not write this table otherwise (the database owner) may only restore it, with COPY, while empty.';
COMMENT ON TRIGGER restore_guard ON staging.updates IS
    'Roles that may not write this table otherwise (the database owner) may only restore it, with COPY, while empty.';
COMMENT ON TRIGGER restore_guard ON staging.field_writes IS
    'Roles that may not write this table otherwise (the database owner) may only restore it, with COPY, while empty.';
COMMENT ON TRIGGER restore_guard ON staging.changelog IS
    'Roles that may not write this table otherwise (the database owner) may only restore it, with COPY, while empty.';
COMMENT ON TRIGGER restore_guard ON staging.changelog_subscription IS
    'Roles that may not write this table otherwise (the database owner) may only restore it, with COPY, while empty.';
CREATE OR REPLACE TRIGGER restore_guard_row
    BEFORE INSERT ON staging.field_writes
    FOR EACH ROW WHEN (staging._restore_copy() IS NOT NULL)
    EXECUTE FUNCTION staging._restore_guard_row();
CREATE OR REPLACE TRIGGER restore_guard_row
    BEFORE INSERT ON staging.changelog
    FOR EACH ROW WHEN (staging._restore_copy() IS NOT NULL)
    EXECUTE FUNCTION staging._restore_guard_row();
CREATE OR REPLACE TRIGGER restore_guard_row
    BEFORE INSERT ON staging.changelog_subscription
    FOR EACH ROW WHEN (staging._restore_copy() IS NOT NULL)
    EXECUTE FUNCTION staging._restore_guard_row();
COMMENT ON TRIGGER restore_guard_row ON staging.field_writes IS
    'During a COPY: the database owner restores only rows naming tables whose owner''s privileges it has.';
COMMENT ON TRIGGER restore_guard_row ON staging.changelog IS
    'During a COPY: the database owner restores only rows naming tables whose owner''s privileges it has.';
COMMENT ON TRIGGER restore_guard_row ON staging.changelog_subscription IS
    'During a COPY: the database owner restores only rows naming tables whose owner''s privileges it has.';

-- The sequence of the write record is not dumped: a restored row (any
-- insert with its own seq beyond the sequence) moves the sequence past
-- it, so that the writes after the restore come after the restored ones.
CREATE OR REPLACE FUNCTION staging._field_writes_seq_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_catalog.setval('staging.field_writes_seq', NEW.seq)
      FROM staging.field_writes_seq s
     WHERE NEW.seq > s.last_value OR NOT s.is_called;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION staging._field_writes_seq_sync() IS
    'Trigger: an insert into field_writes with a seq beyond field_writes_seq (a restore) moves the sequence past it.';
REVOKE ALL ON FUNCTION staging._field_writes_seq_sync() FROM PUBLIC;
CREATE OR REPLACE TRIGGER field_writes_seq_sync
    BEFORE INSERT ON staging.field_writes
    FOR EACH ROW
    WHEN (NEW.seq > COALESCE(pg_catalog.pg_sequence_last_value('staging.field_writes_seq'::pg_catalog.regclass), 0))
    EXECUTE FUNCTION staging._field_writes_seq_sync();
COMMENT ON TRIGGER field_writes_seq_sync ON staging.field_writes IS
    'A row with its own seq beyond field_writes_seq (a restore) moves the sequence past it.';
