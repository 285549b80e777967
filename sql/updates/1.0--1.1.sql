-- The part of the upgrade from 1.0 to 1.1 that replaying the code files of
-- sql/install cannot do (see sql/install/README): objects that 1.1 removes
-- or renames, changes of tables, and objects CREATE OR REPLACE cannot
-- change (result types, OUT parameters, parameter names and defaults, view
-- columns).  Every code file of sql/install follows it in
-- staging--1.0--1.1.sql.

-- The version filter functions are named after what they are:
-- _read_upper, _read_lower and _read_visible (and their _owned variants)
-- became _version_filter_upper, _version_filter_lower and _version_filter.
-- Only plans refer to them (the planner adds them to queries), and plans
-- are invalidated by the DROP.
DROP FUNCTION staging._read_upper();
DROP FUNCTION staging._read_lower();
DROP FUNCTION staging._read_visible(bigint, bigint);
DROP FUNCTION staging._read_upper_owned();
DROP FUNCTION staging._read_lower_owned();
DROP FUNCTION staging._read_visible_owned(bigint, bigint);

-- staging.live_version() becomes a C function reading the backend's cache:
-- CREATE OR REPLACE in 10_versions.sql changes its language in place (it
-- cannot be dropped: it is the default of created_in in versioned tables).

-- Write statements at a history version, or at a version where no update
-- starts, are refused as a whole by a statement trigger (also when they
-- match no row): put it on the tables versioned under 1.0.
CREATE FUNCTION staging._write_statement_before() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_write_statement_before';
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT relid FROM staging.versioned_table
             UNION ALL SELECT relid FROM staging.attribute_table LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER staging_write_statement BEFORE INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_before()', t);
    END LOOP;
END
$$;

-- The write model: writes to entities with a future are recorded per
-- field (staging.field_writes) and their version rows laid out from that
-- record at the end of each statement (trigger staging_write_rebuild);
-- the row-by-row merges of 1.0 (the AFTER trigger of attribute tables,
-- the version-moving functions of reschedule_update and delete_update)
-- are gone.  Updates scheduled under 1.0 keep the rows they have.
CREATE SEQUENCE staging.field_writes_seq;
CREATE TABLE staging.field_writes (
    seq bigint NOT NULL DEFAULT pg_catalog.nextval('staging.field_writes_seq') PRIMARY KEY,
    main_table regclass NOT NULL,
    entity_id bigint NOT NULL,
    owner bigint NOT NULL,
    position bigint NOT NULL,
    attribute_table regclass,
    field text NOT NULL,
    value jsonb
);
CREATE INDEX field_writes_entity ON staging.field_writes (main_table, entity_id);
CREATE INDEX field_writes_owner ON staging.field_writes (owner) WHERE owner <> 0;
SELECT pg_catalog.pg_extension_config_dump('staging.field_writes', '');
CREATE FUNCTION staging._write_statement_after() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_write_statement_after';
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT relid FROM staging.versioned_table
             UNION ALL SELECT relid FROM staging.attribute_table LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER staging_write_rebuild AFTER INSERT OR UPDATE OR DELETE ON %s
                        FOR EACH STATEMENT EXECUTE FUNCTION staging._write_statement_after()', t);
    END LOOP;
    FOR t IN SELECT relid FROM staging.attribute_table LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS staging_write_after ON %s', t);
    END LOOP;
END
$$;
DROP FUNCTION staging._move_version(bigint, bigint);
DROP FUNCTION staging._drop_rollback(bigint);
DROP FUNCTION staging._add_rollback(bigint, bigint);
DROP FUNCTION staging._copy_version_row(regclass, bigint, bigint, bigint);

-- staging.invalidations carries the commit LSN of each invalidation and
-- when (and with which standbys lagging) it was published; the rows of
-- 1.0 were published at their commit.
ALTER TABLE staging.invalidations
    ADD COLUMN commit_lsn pg_lsn,
    ADD COLUMN published_at timestamptz,
    ADD COLUMN lagging text[];
UPDATE staging.invalidations SET published_at = created_at;
CREATE INDEX invalidations_pending ON staging.invalidations (id)
    WHERE published_at IS NULL OR commit_lsn IS NULL;

-- Changelog triggers fire in logical replication apply workers too (1.1
-- creates them ENABLE ALWAYS).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgrelid::regclass AS tbl, tg.tgname
               FROM pg_catalog.pg_trigger tg
               JOIN pg_catalog.pg_proc p ON p.oid = tg.tgfoid
              WHERE p.pronamespace = 'staging'::regnamespace
                AND p.proname IN ('_changelog_trigger', '_changelog_truncate') LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.tgname);
    END LOOP;
END
$$;

-- Versioned tables fail closed when the library is not preloaded: they use
-- the table access method staging (sql/install/23_table_am.sql to
-- 25_table_am.sql).  The tables versioned under 1.0 get it without being
-- rewritten (its rows are stored as heap's).
CREATE FUNCTION staging._table_am_handler(internal) RETURNS table_am_handler
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_table_am_handler';
CREATE ACCESS METHOD staging TYPE TABLE HANDLER staging._table_am_handler;
CREATE FUNCTION staging._table_am_sync(tbl regclass) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_table_am_sync';
SELECT staging._table_am_sync(relid)
  FROM (SELECT relid FROM staging.versioned_table
        UNION ALL SELECT relid FROM staging.attribute_table) t;
