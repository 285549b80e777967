
-- Versioned writes: row triggers in C (src/writes.c) place every INSERT,
-- UPDATE and DELETE of a versioned table at the session version.
CREATE OR REPLACE FUNCTION staging._main_write_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_main_write_before';
COMMENT ON FUNCTION staging._main_write_before() IS
    'Trigger: places a write of a versioned main table at the session version.';
CREATE OR REPLACE FUNCTION staging._main_write_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_main_write_after';
COMMENT ON FUNCTION staging._main_write_after() IS
    'Trigger: keeps the history of a versioned write, adds rollback rows, merges edits into later versions.';
CREATE OR REPLACE FUNCTION staging._attribute_write_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_attribute_write_before';
COMMENT ON FUNCTION staging._attribute_write_before() IS
    'Trigger: makes a write of an attribute table land in the version row of the session version.';
CREATE OR REPLACE FUNCTION staging._attribute_write_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_attribute_write_after';
COMMENT ON FUNCTION staging._attribute_write_after() IS
    'Not used since 1.1 (the write model lays out later versions); kept for installations upgraded from 1.0.';
CREATE OR REPLACE FUNCTION staging._write_statement_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_write_statement_before';
COMMENT ON FUNCTION staging._write_statement_before() IS
    'Statement trigger: refuses a write statement at a history version (25006) or at a version where no update starts (55000), also when it matches no row.';
CREATE OR REPLACE FUNCTION staging._write_statement_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_write_statement_after';
COMMENT ON FUNCTION staging._write_statement_after() IS
    'Statement trigger: lays out the version rows of the entities the statement wrote from their write record.';

-- Install the write triggers on a registered main table and its attribute
-- tables (again: CREATE OR REPLACE).  The AFTER DELETE trigger's name
-- sorts before the foreign keys' "RI_ConstraintTrigger_..." so that it
-- copies the attribute rows before the cascade removes them.
CREATE OR REPLACE FUNCTION staging._enable_versioned_writes(tbl regclass) RETURNS void
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
    EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_statement BEFORE INSERT OR UPDATE OR DELETE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_before()', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_after AFTER UPDATE ON %s
                    FOR EACH ROW WHEN (OLD.created_in <> NEW.created_in
                                       OR NEW.updated_in <> 9223372036854775807)
                    EXECUTE FUNCTION staging._main_write_after()', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER "A_staging_keep_history" AFTER DELETE ON %s
                    FOR EACH ROW EXECUTE FUNCTION staging._main_write_after()', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_rebuild AFTER INSERT OR UPDATE OR DELETE ON %s
                    FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_after()', tbl);
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH ROW EXECUTE FUNCTION staging._attribute_write_before()', a);
        EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_statement BEFORE INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_before()', a);
        IF EXISTS (SELECT FROM pg_catalog.pg_trigger
                    WHERE tgrelid = a AND tgname = 'staging_write_after') THEN
            EXECUTE format('DROP TRIGGER staging_write_after ON %s', a);  -- 1.0's
        END IF;
        EXECUTE format('CREATE OR REPLACE TRIGGER staging_write_rebuild AFTER INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_after()', a);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._enable_versioned_writes(regclass) IS
    'Installs the versioned-write triggers on a main table and its attribute tables.';

-- The names of the triggers that make writes of a versioned main table
-- ('main': staging_register_entity from _add_version_columns and those of
-- _enable_versioned_writes) or of an attribute table ('attribute')
-- versioned: what verify expects and what users' triggers may not be named.
CREATE OR REPLACE FUNCTION staging._write_trigger_names(kind text) RETURNS name[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE kind
        WHEN 'main' THEN ARRAY['staging_register_entity', 'staging_write', 'staging_write_statement',
                               'staging_write_after', 'A_staging_keep_history', 'staging_write_rebuild']::name[]
        WHEN 'attribute' THEN ARRAY['staging_write', 'staging_write_statement', 'staging_write_rebuild']::name[]
    END;
COMMENT ON FUNCTION staging._write_trigger_names(text) IS
    'The names of the versioned-write triggers of a main table (''main'') or an attribute table (''attribute'').';

-- The versioned-write triggers of an attribute table go: disable_versioning
-- of its main table, or its main table dropped while it stays.
CREATE OR REPLACE FUNCTION staging._drop_attribute_write_triggers(a regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t name;
BEGIN
    FOREACH t IN ARRAY staging._write_trigger_names('attribute') LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', t, a);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._drop_attribute_write_triggers(regclass) IS
    'Removes the versioned-write triggers from an attribute table.';

-- The reverse, for disable_versioning: afterwards writes go to the rows
-- as given.
CREATE OR REPLACE FUNCTION staging._disable_versioned_writes(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    a regclass;
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write_after ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write_statement ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS "A_staging_keep_history" ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS staging_write_rebuild ON %s', tbl);
    FOR a IN SELECT relid FROM staging.attribute_table WHERE main_table = tbl LOOP
        PERFORM staging._drop_attribute_write_triggers(a);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._disable_versioned_writes(regclass) IS
    'Removes the versioned-write triggers from a main table and its attribute tables.';

