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

-- The GUC staging.version ('live', 'all', a version number or a timestamp
-- with time zone) is defined by the library.  The planner adds
--   created_in <= staging._read_upper() AND updated_in > staging._read_lower()
-- to every scan of a versioned main table that has an index on (entity,
-- ..., created_in or updated_in), else staging._read_visible(created_in,
-- updated_in); the functions use the session version, resolved once per
-- execution (so cached plans follow later changes of the setting) after
-- checking that the session may read it.
CREATE FUNCTION staging._read_upper() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_upper';
COMMENT ON FUNCTION staging._read_upper() IS
    'Version filter: rows with created_in <= this value are visible (the session version, or the maximum for ''all'').';
CREATE FUNCTION staging._read_lower() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_lower';
COMMENT ON FUNCTION staging._read_lower() IS
    'Version filter: rows with updated_in > this value are visible (the session version, or the minimum for ''all'').';

CREATE FUNCTION staging._read_visible(created_in bigint, updated_in bigint) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_read_visible';
COMMENT ON FUNCTION staging._read_visible(bigint, bigint) IS
    'Version filter in one call: created_in <= _read_upper() AND updated_in > _read_lower().';

CREATE FUNCTION staging.current_version() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_current_version';
COMMENT ON FUNCTION staging.current_version() IS
    'The version this session reads now (staging.version resolved; NULL for ''all'').';

-- Each backend caches the live version; any change of staging.live_state
-- (staging.advance, a restore, by hand) makes every backend re-read it.
CREATE FUNCTION staging._live_state_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_live_state_changed';
COMMENT ON FUNCTION staging._live_state_changed() IS
    'Trigger: tells every session that the live version changed.';
CREATE TRIGGER live_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staging.live_state
    FOR EACH STATEMENT EXECUTE FUNCTION staging._live_state_changed();

-- Previews.  The secret that signs preview tokens: readable only by the
-- extension's owner (row security without policies also keeps members of
-- pg_read_all_data out).  It is not dumped: a restored database gets a new
-- one, which invalidates tokens signed before, like a rotation.
CREATE TABLE staging.preview_secret (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    rotated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE staging.preview_secret ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE staging.preview_secret IS
    'The secret that signs preview tokens; readable only by the extension owner.';

CREATE FUNCTION staging._random_secret() RETURNS bytea
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_random_secret';
COMMENT ON FUNCTION staging._random_secret() IS
    'A new random preview secret (32 bytes from the strong random source).';
INSERT INTO staging.preview_secret (secret) VALUES (staging._random_secret());

CREATE FUNCTION staging.rotate_preview_secret() RETURNS timestamptz
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
INSERT INTO staging.preview_secret (singleton, secret, rotated_at)
VALUES (true, staging._random_secret(), pg_catalog.now())
ON CONFLICT (singleton) DO UPDATE
   SET secret = excluded.secret, rotated_at = excluded.rotated_at
RETURNING rotated_at
$$;
COMMENT ON FUNCTION staging.rotate_preview_secret() IS
    'Replaces the preview secret: every token signed before stops working.';

CREATE FUNCTION staging.sign_preview(version bigint, valid_for interval DEFAULT '1 hour')
    RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_sign_preview';
COMMENT ON FUNCTION staging.sign_preview(bigint, interval) IS
    'A token (HMAC-SHA256 signed) that lets any session read that version until now() + valid_for. '
    'Roles that may execute it may also read every version themselves.';

CREATE FUNCTION staging.preview(token text) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text) IS
    'Checks a preview token and lets this session read its version (like SET staging.version); returns the version.';
CREATE FUNCTION staging.preview(token text, is_local boolean) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text, boolean) IS
    'staging.preview(token) that, with is_local, lasts only until the end of the transaction (like SET LOCAL).';

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
-- Reading: previews are privileged; the secret is the owner's alone.
REVOKE ALL ON FUNCTION staging._live_state_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging._random_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.rotate_preview_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION staging.sign_preview(bigint, interval) FROM PUBLIC;
REVOKE ALL ON staging.preview_secret FROM PUBLIC;
GRANT USAGE ON SCHEMA staging TO PUBLIC;
GRANT SELECT ON staging.live_state, staging.versioned_table,
    staging.attribute_table TO PUBLIC;
