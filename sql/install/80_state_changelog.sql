-- State (see sql/install/README): the registries of changelogs, their
-- consumers' positions and the batch ids.  Comments and privileges are in
-- 81_changelog.sql.

-- Registry: one row per changelog.
CREATE TABLE staging.changelog (
    name          text PRIMARY KEY
                  CHECK (name ~ '^[a-z_][a-z0-9_]*$' AND length(name) <= 50),
    main_table    regclass NOT NULL,
    entity_column name NOT NULL,
    log_table     regclass NOT NULL UNIQUE
);
SELECT pg_catalog.pg_extension_config_dump('staging.changelog', '');

-- Registry: the tables each changelog watches (regclass, kept by pg_dump).
CREATE TABLE staging.changelog_subscription (
    changelog text NOT NULL
              REFERENCES staging.changelog ON DELETE CASCADE ON UPDATE CASCADE,
    tbl       regclass NOT NULL,
    columns   name[],
    PRIMARY KEY (changelog, tbl)
);
SELECT pg_catalog.pg_extension_config_dump('staging.changelog_subscription', '');

-- Consumers and their position.  Everything visible in "finished" is done;
-- the current window holds the changes visible in window_end and not in
-- finished, read in (txid, version_id) order; done_* is how far the
-- consumer got in it, batch_* the batch it was given and has not finished
-- (the first batch_rows rows of the window after done_*, up to
-- batch_end_*).  Snapshots hold transaction ids of this cluster, so
-- consumers are not dumped: after a restore elsewhere, add them again and
-- reindex in full.
CREATE TABLE staging.changelog_consumer (
    changelog      text NOT NULL
                   REFERENCES staging.changelog ON DELETE CASCADE ON UPDATE CASCADE,
    consumer       text NOT NULL CHECK (consumer <> ''),
    finished       pg_snapshot NOT NULL,
    window_end     pg_snapshot,
    done_txid      xid8,
    done_id        bigint,
    batch_id       bigint,
    batch_end_txid xid8,
    batch_end_id   bigint,
    batch_rows     int,
    PRIMARY KEY (changelog, consumer)
);

-- A role sees and moves only the consumers of changelogs it may read.
ALTER TABLE staging.changelog_consumer ENABLE ROW LEVEL SECURITY;
CREATE POLICY readers_of_the_log ON staging.changelog_consumer
    USING (pg_catalog.has_table_privilege(
               (SELECT c.log_table FROM staging.changelog c WHERE c.name = changelog), 'SELECT'));

CREATE SEQUENCE staging.changelog_batch_seq;

