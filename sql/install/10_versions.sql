-------------------------------------------------------------------------------
-- Versions
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION staging.max_version() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9223372036854775807;
COMMENT ON FUNCTION staging.max_version() IS
    'The open end of every version interval (9223372036854775807).';

-- The open end, staging.max_version(), is 'infinity' both ways ('-infinity'
-- has no version: an error).
CREATE OR REPLACE FUNCTION staging.to_version(ts timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN ts = 'infinity'::timestamptz THEN 9223372036854775807
                ELSE floor(extract(epoch FROM ts))::bigint END;
COMMENT ON FUNCTION staging.to_version(timestamptz) IS
    'The version (UNIX epoch seconds) of a point in time; staging.max_version() for ''infinity''.';

CREATE OR REPLACE FUNCTION staging.to_timestamp(version bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN version = 9223372036854775807 THEN 'infinity'::timestamptz
                ELSE pg_catalog.to_timestamp(version::double precision) END;
COMMENT ON FUNCTION staging.to_timestamp(bigint) IS
    'The point in time at which a version starts; ''infinity'' for staging.max_version(), the open end.';

-- The live version, from the backend's cache of staging.live_state (the one
-- reader of the live version, shared with the C code); the cache is
-- invalidated whenever the row changes (see _live_state_changed).  It is
-- the default of created_in in versioned tables: replaced, never dropped.
CREATE OR REPLACE FUNCTION staging.live_version() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_live_version_sql';
COMMENT ON FUNCTION staging.live_version() IS
    'The live version: the start of the most recent update that went live, 1 before any did.';

