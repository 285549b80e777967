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
