-- State (see sql/install/README): the log of invalidations.  Comments and
-- privileges are in 91_schemas.sql.

-- Every change that caches must forget: one row per committed schema swap
-- (kind 'schema_swap'), published by NOTIFY staging_invalidation with the
-- row as JSON.  NOTIFY is delivered at commit, so listeners never hear of
-- a swap that could still roll back.
CREATE TABLE staging.invalidations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    valid_from timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);

