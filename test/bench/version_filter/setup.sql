-- Point lookups by entity id: a plain table, and versioned tables with one
-- and with ten versions per entity (5 past, the live one, 4 future), each
-- with 100000 entities like pgbench -S at scale 1.  The live version is 5001.
-- versioned_10_indexed has the same rows as versioned_10 and an index on
-- (entity_id, updated_in, created_in), which the filter uses.
-- The layout staging.enable_versioning gives a table (issue 3): primary key
-- row_id, btree indexes on the entity column, created_in and updated_in,
-- and the exclusion constraint against overlapping versions.
UPDATE staging.live_state SET version = 5001;
CREATE TABLE accounts (entity_id int PRIMARY KEY, abalance int, filler char(84));
INSERT INTO accounts SELECT g, 0, '' FROM generate_series(1, 100000) g;

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

CREATE TABLE versioned_10 (row_id bigint PRIMARY KEY, entity_id int NOT NULL, abalance int,
    filler char(84), created_in bigint NOT NULL, updated_in bigint NOT NULL,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (box(point(entity_id, created_in),
                            point(entity_id, updated_in::float8 - 0.5)) WITH &&));
CREATE INDEX ON versioned_10 (entity_id);
CREATE INDEX ON versioned_10 (created_in);
CREATE INDEX ON versioned_10 (updated_in);
INSERT INTO versioned_10
SELECT g * 10 + k, g, k, '', 1 + 1000 * k,
       CASE WHEN k = 9 THEN 9223372036854775807 ELSE 1 + 1000 * (k + 1) END
  FROM generate_series(1, 100000) g, generate_series(0, 9) k;
CREATE TABLE sequence_versioned_10 (sequence_value int PRIMARY KEY);
INSERT INTO staging.versioned_table VALUES ('versioned_10', 'entity_id', 'sequence_versioned_10');

CREATE TABLE versioned_10_indexed (LIKE versioned_10 INCLUDING ALL);
INSERT INTO versioned_10_indexed SELECT * FROM versioned_10;
CREATE INDEX ON versioned_10_indexed (entity_id, updated_in, created_in);
CREATE TABLE sequence_versioned_10_indexed (sequence_value int PRIMARY KEY);
INSERT INTO staging.versioned_table VALUES ('versioned_10_indexed', 'entity_id', 'sequence_versioned_10_indexed');
