-------------------------------------------------------------------------------
-- Work on other owners' tables (src/run_as_owner.c)
-------------------------------------------------------------------------------

-- The campaign functions run as the extension's owner; every statement
-- they run that writes a user's table goes through this, so that the
-- owner's triggers, defaults, checks and index expressions run with the
-- rights of the table's owner and as a security-restricted operation (as
-- VACUUM and REFRESH MATERIALIZED VIEW run them), with search_path =
-- pg_catalog, pg_temp.
CREATE OR REPLACE FUNCTION staging._run_as_owner(tbl regclass, query text, params bigint[] DEFAULT '{}')
    RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_run_as_owner';
COMMENT ON FUNCTION staging._run_as_owner(regclass, text, bigint[]) IS
    'Runs one statement ($n: params[n]) as the owner of tbl in a security-restricted operation; '
    'returns the first column of its first row, or the number of rows it processed when it returns none.';
REVOKE ALL ON FUNCTION staging._run_as_owner(regclass, text, bigint[]) FROM PUBLIC;

-- The write model runs as the extension's owner, but sees the rows of
-- users' tables only as jsonb made by this, as the table's owner in a
-- security-restricted operation: to_jsonb calls the casts to json of the
-- column types, which are their owners' code.
CREATE OR REPLACE FUNCTION staging._owner_jsonb(tbl regclass, query text, params bigint[] DEFAULT '{}')
    RETURNS jsonb[]
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_owner_jsonb';
COMMENT ON FUNCTION staging._owner_jsonb(regclass, text, bigint[]) IS
    'Runs a query returning one jsonb column (pg_catalog.to_jsonb of rows of tbl; $n: params[n]) as the owner '
    'of tbl in a security-restricted operation; returns its values.';
REVOKE ALL ON FUNCTION staging._owner_jsonb(regclass, text, bigint[]) FROM PUBLIC;

-- clone_schema runs as its caller; what it runs on each table of the clone
-- (rows, keys, indexes, foreign keys, triggers) goes through this, as the
-- table's owner in a security-restricted operation, so that the owner's
-- defaults, checks and index expressions never run with the caller's
-- rights.  add_attribute_table and disable_versioning write rows through
-- it too.
-- PUBLIC may execute it: it checks that the caller has the privileges of
-- the table's owner.
CREATE OR REPLACE FUNCTION staging._run_as_clone_owner(tbl regclass, query text, search_path text)
    RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_run_as_clone_owner';
COMMENT ON FUNCTION staging._run_as_clone_owner(regclass, text, text) IS
    'Runs one statement as the owner of tbl in a security-restricted operation with the given search_path, '
    'for a caller with the privileges of that owner (staging.clone_schema, staging.add_attribute_table, staging.disable_versioning).';
