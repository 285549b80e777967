-- State (see sql/install/README): the schedule of updates.

-- An update (campaign) starts at version id and, when temporary, ends at
-- version rollback_id.  Its changes are the version rows of versioned
-- tables that begin at id (and the rollback rows that begin at
-- rollback_id); no other bookkeeping is needed.  No two updates share a
-- start or end second, so a version point belongs to one update.
CREATE TABLE staging.updates (
    id          bigint PRIMARY KEY CHECK (id > 1),
    name        text NOT NULL,
    description text,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz,
    rollback_id bigint UNIQUE,
    CHECK (id = staging.to_version(start_time)),
    CHECK ((end_time IS NULL) = (rollback_id IS NULL)),
    CHECK (rollback_id = staging.to_version(end_time)),
    CHECK (rollback_id > id)
);
SELECT pg_catalog.pg_extension_config_dump('staging.updates', '');

