-- State (see sql/install/README): the log of invalidations.  Comments and
-- privileges are in 91_schemas.sql.

-- Every change that caches must forget: one row per committed schema swap
-- (kind 'schema_swap') or version going live (kind 'go_live'), published
-- by NOTIFY staging_invalidation with the row as JSON.  NOTIFY is
-- delivered at commit, so listeners never hear of a change that could
-- still roll back; with staging.invalidate_after_replay = on it is sent
-- later, by staging.publish_invalidations(), once the standbys replayed
-- the commit (commit_lsn).
CREATE TABLE staging.invalidations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    valid_from timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    commit_lsn pg_lsn,
    published_at timestamptz,
    lagging    text[]
);
-- What staging.publish_invalidations() still has to look at.
CREATE INDEX invalidations_pending ON staging.invalidations (id)
    WHERE published_at IS NULL OR commit_lsn IS NULL;

