-- The version filter vs an equivalent row-level-security policy, read by
-- a role that is not a superuser (superusers bypass row security).
-- Both tables are made versioned by staging.enable_versioning (the same
-- columns, constraints and indexes); rls_1 is then unregistered and gets
-- the policy instead.
UPDATE staging.live_state SET version = 5001;
CREATE TABLE versioned_1 (entity_id int PRIMARY KEY, abalance int, filler char(84));
INSERT INTO versioned_1 SELECT g, 0, '' FROM generate_series(1, 100000) g;
SELECT staging.enable_versioning('versioned_1');
CREATE TABLE rls_1 (LIKE versioned_1 INCLUDING ALL);
SET staging.version = 'all';
INSERT INTO rls_1 SELECT * FROM versioned_1;
RESET staging.version;
ALTER TABLE rls_1 ENABLE ROW LEVEL SECURITY;
CREATE POLICY at_session_version ON rls_1
    USING (created_in <= staging.current_version() AND updated_in > staging.current_version());

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
