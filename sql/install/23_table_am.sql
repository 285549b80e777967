-------------------------------------------------------------------------------
-- Fail closed without the preload: the access method "staging"
-- (src/table_am.c)
-------------------------------------------------------------------------------

-- Versioned main tables and attribute tables use the access method
-- "staging" (24_state_table_am.sql).  Its handler is heap's, so the tables
-- are heap tables on disk; PostgreSQL calls it whenever a backend opens
-- such a table for the first time, and without
-- shared_preload_libraries = 'staging' it refuses every client session
-- but a superuser's (55000), instead of letting it read every version.
CREATE OR REPLACE FUNCTION staging._table_am_handler(internal) RETURNS table_am_handler
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_table_am_handler';
COMMENT ON FUNCTION staging._table_am_handler(internal) IS
    'Handler of the table access method staging: heap, refused to client sessions of non-superusers '
    'when the library was not loaded by shared_preload_libraries.';
