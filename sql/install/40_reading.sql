-------------------------------------------------------------------------------
-- Reading: the session version
-------------------------------------------------------------------------------

-- The GUC staging.version ('live', 'all', a version number or a timestamp
-- with time zone) is defined by the library.  The planner adds
--   created_in <= staging._version_filter_upper()
--   AND updated_in > staging._version_filter_lower()
-- to every scan of a versioned main table that has an index on (entity,
-- ..., created_in or updated_in), else staging._version_filter(created_in,
-- updated_in); the functions use the session version, resolved once per
-- execution (so cached plans follow later changes of the setting) after
-- checking that the session may read it.  (1.0 called them _read_upper,
-- _read_lower and _read_visible.)
CREATE OR REPLACE FUNCTION staging._version_filter_upper() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter_upper';
COMMENT ON FUNCTION staging._version_filter_upper() IS
    'Version filter: rows with created_in <= this value are visible (the session version, or the maximum for ''all'').';
CREATE OR REPLACE FUNCTION staging._version_filter_lower() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter_lower';
COMMENT ON FUNCTION staging._version_filter_lower() IS
    'Version filter: rows with updated_in > this value are visible (the session version, or the minimum for ''all'').';

CREATE OR REPLACE FUNCTION staging._version_filter(created_in bigint, updated_in bigint) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter';
COMMENT ON FUNCTION staging._version_filter(bigint, bigint) IS
    'Version filter in one call: created_in <= _version_filter_upper() AND updated_in > _version_filter_lower().';

-- The same, for tables the current user owns (an owner can read every
-- version anyway, by unregistering the table): no privilege check.
CREATE OR REPLACE FUNCTION staging._version_filter_upper_owned() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter_upper_owned';
COMMENT ON FUNCTION staging._version_filter_upper_owned() IS
    '_version_filter_upper() for a table the current user owns: no privilege check.';
CREATE OR REPLACE FUNCTION staging._version_filter_lower_owned() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter_lower_owned';
COMMENT ON FUNCTION staging._version_filter_lower_owned() IS
    '_version_filter_lower() for a table the current user owns: no privilege check.';
CREATE OR REPLACE FUNCTION staging._version_filter_owned(created_in bigint, updated_in bigint) RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_version_filter_owned';
COMMENT ON FUNCTION staging._version_filter_owned(bigint, bigint) IS
    '_version_filter() for a table the current user owns: no privilege check.';

-- The attribute filter: the planner adds staging._attribute_visible(main
-- table, row_id) to every scan of an attribute table, unless the query
-- joins it to its main table by row_id (then the main table's filter
-- decides) and no function that is not leakproof sees its rows before
-- that join.  It probes the main table's row_id index, once per row_id and
-- execution, at the version the session reads (checked like the version
-- filter's).
CREATE OR REPLACE FUNCTION staging._attribute_visible(main_table regclass, row_id bigint)
    RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_attribute_visible';
COMMENT ON FUNCTION staging._attribute_visible(regclass, bigint) IS
    'Attribute filter: true when the row of the versioned table with this row_id is visible at the session version (always at ''all'').';
CREATE OR REPLACE FUNCTION staging._attribute_visible_owned(main_table regclass, row_id bigint)
    RETURNS boolean
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_attribute_visible_owned';
COMMENT ON FUNCTION staging._attribute_visible_owned(regclass, bigint) IS
    '_attribute_visible() for a versioned table the current user owns: no privilege check.';

-- Visibility at a given version, the predicate the filters above apply at
-- the session version, for SQL that reads one version other than the
-- session's (the live one, in disable_versioning and changelogs).  The C
-- code uses the same function, so the rule is written once.
CREATE OR REPLACE FUNCTION staging._visible_at(created_in bigint, updated_in bigint, version bigint)
    RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_visible_at';
COMMENT ON FUNCTION staging._visible_at(bigint, bigint, bigint) IS
    'True when a version row [created_in, updated_in) is visible at the version: created_in <= version < updated_in.';

CREATE OR REPLACE FUNCTION staging.current_version() RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_current_version';
COMMENT ON FUNCTION staging.current_version() IS
    'The version this session reads now (staging.version resolved; NULL for ''all'').';

-- Each backend caches the live version; any change of staging.live_state
-- (staging.advance, a restore, by hand) makes every backend re-read it.
CREATE OR REPLACE FUNCTION staging._live_state_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_live_state_changed';
COMMENT ON FUNCTION staging._live_state_changed() IS
    'Trigger: tells every session that the live version changed.';
REVOKE ALL ON FUNCTION staging._live_state_changed() FROM PUBLIC;
CREATE OR REPLACE TRIGGER live_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staging.live_state
    FOR EACH STATEMENT EXECUTE FUNCTION staging._live_state_changed();
