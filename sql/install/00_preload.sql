--
-- Preload check.  A session that loaded the library late would read
-- versioned tables without the version filter, so refuse to install
-- unless the library came from shared_preload_libraries.
--
CREATE OR REPLACE FUNCTION staging._assert_preloaded() RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_assert_preloaded';
SELECT staging._assert_preloaded();
COMMENT ON FUNCTION staging._assert_preloaded() IS
    'Raises an error unless the staging library was loaded by shared_preload_libraries.';
REVOKE ALL ON FUNCTION staging._assert_preloaded() FROM PUBLIC;


-- CREATE EXTENSION creates the schema (staging.control); everyone may use
-- what it grants.
GRANT USAGE ON SCHEMA staging TO PUBLIC;

