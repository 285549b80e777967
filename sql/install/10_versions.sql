-------------------------------------------------------------------------------
-- Versions
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION staging.max_version() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9223372036854775807;
COMMENT ON FUNCTION staging.max_version() IS
    'The open end of every version interval (9223372036854775807).';

-- The error of staging.to_version('-infinity'), which has no version: a
-- bad argument (22023) with a hint, not the cast's own error.  Only that
-- branch calls it, so to_version itself stays an inlinable SQL function.
CREATE OR REPLACE FUNCTION staging._no_version(ts timestamptz) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'timestamp % has no version', ts
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Versions start at 1 (1970-01-01 00:00:01+00); pass a finite timestamp, or ''infinity'' for staging.max_version().';
END
$$;
COMMENT ON FUNCTION staging._no_version(timestamptz) IS
    'The error of staging.to_version() for a timestamp without a version (''-infinity'').';

-- The open end, staging.max_version(), is 'infinity' both ways ('-infinity'
-- has no version: an error).
CREATE OR REPLACE FUNCTION staging.to_version(ts timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN ts = 'infinity'::timestamptz THEN 9223372036854775807
                WHEN ts = '-infinity'::timestamptz THEN staging._no_version(ts)
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

