-- The access method of 24_state_table_am.sql.  The registry trigger
-- (21_registry.sql, src/registry.c) gives it to a table when the table is
-- registered and takes it back when it is unregistered, without
-- rewriting the table (staging and heap store rows alike).
COMMENT ON ACCESS METHOD staging IS
    'Heap, for versioned tables and attribute tables: refused to client sessions of non-superusers '
    'when the staging library was not loaded by shared_preload_libraries.';

-- For tables that lost their access method (or were versioned before it
-- existed): the one their registration calls for.  Checks that the caller
-- owns the table.
CREATE OR REPLACE FUNCTION staging._table_am_sync(tbl regclass) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_table_am_sync';
COMMENT ON FUNCTION staging._table_am_sync(regclass) IS
    'Gives a table the access method staging when it is versioned (main or attribute table), heap otherwise; '
    'for its owner.';

-- DROP EXTENSION staging: the tables go back to heap first, so that they
-- stay (CASCADE would drop them with the access method) and the access
-- method can be dropped.  The ProcessUtility hook does the same where
-- event triggers do not fire.
CREATE OR REPLACE FUNCTION staging._table_am_release() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_table_am_release';
COMMENT ON FUNCTION staging._table_am_release() IS
    'Event trigger: before DROP EXTENSION staging, every table using the access method staging goes back to heap.';
REVOKE ALL ON FUNCTION staging._table_am_release() FROM PUBLIC;
-- (Re)created on every install and upgrade: nothing refers to it.
DROP EVENT TRIGGER IF EXISTS staging_table_am_release;
CREATE EVENT TRIGGER staging_table_am_release ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION staging._table_am_release();
COMMENT ON EVENT TRIGGER staging_table_am_release IS
    'Before DROP EXTENSION staging: gives the tables using the access method staging back to heap.';
