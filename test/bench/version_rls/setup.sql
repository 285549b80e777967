-- The version filter vs an equivalent row-level-security policy, read by
-- a role that is not a superuser (superusers bypass row security).
-- The layout staging.enable_versioning gives a table (issue 3): primary key
-- row_id, btree indexes on the entity column, created_in and updated_in,
-- and the exclusion constraint against overlapping versions.
UPDATE staging.live_state SET version = 5001;
CREATE TABLE rls_1 (row_id bigint PRIMARY KEY, entity_id int NOT NULL, abalance int,
    filler char(84), created_in bigint NOT NULL, updated_in bigint NOT NULL,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (box(point(entity_id, created_in),
                            point(entity_id, updated_in::float8 - 0.5)) WITH &&));
CREATE INDEX ON rls_1 (entity_id);
CREATE INDEX ON rls_1 (created_in);
CREATE INDEX ON rls_1 (updated_in);
INSERT INTO rls_1 SELECT g, g, 0, '', 1, 9223372036854775807 FROM generate_series(1, 100000) g;
ALTER TABLE rls_1 ENABLE ROW LEVEL SECURITY;
CREATE POLICY at_session_version ON rls_1
    USING (created_in <= staging.current_version() AND updated_in > staging.current_version());

CREATE TABLE versioned_1 (row_id bigint PRIMARY KEY, entity_id int NOT NULL, abalance int,
    filler char(84), created_in bigint NOT NULL, updated_in bigint NOT NULL,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (box(point(entity_id, created_in),
                            point(entity_id, updated_in::float8 - 0.5)) WITH &&));
CREATE INDEX ON versioned_1 (entity_id);
CREATE INDEX ON versioned_1 (created_in);
CREATE INDEX ON versioned_1 (updated_in);
INSERT INTO versioned_1 SELECT g, g, 0, '', 1, 9223372036854775807 FROM generate_series(1, 100000) g;
CREATE TABLE sequence_versioned_1 (sequence_value int PRIMARY KEY);
INSERT INTO staging.versioned_table VALUES ('versioned_1', 'entity_id', 'sequence_versioned_1');

VACUUM ANALYZE;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_reader') THEN
        CREATE ROLE bench_reader;
    END IF;
END $$;
GRANT SELECT ON rls_1, versioned_1 TO bench_reader;
-- Every later connection to this database runs as bench_reader.
ALTER DATABASE bench SET role = 'bench_reader';
