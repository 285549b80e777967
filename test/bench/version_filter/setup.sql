-- Point lookups by entity id: a plain table (baseline), and tables made
-- versioned by staging.enable_versioning (its index layout: primary key
-- row_id, the exclusion constraint, (entity_id, updated_in) and
-- (updated_in, created_in)) with one and with ten versions per entity
-- (5 past, the live one, 4 future; each entity's rows side by side), each
-- with 100000 entities like pgbench -S at scale 1.  The live version is 5001.
-- For version_cost: unregistered copies of versioned_1 (no filter) with
-- all four of its indexes, with the primary key and the entity index, and
-- with the entity index alone.
UPDATE staging.live_state SET version = 5001;
CREATE TABLE accounts (entity_id int PRIMARY KEY, abalance int, filler char(84));
INSERT INTO accounts SELECT g, 0, '' FROM generate_series(1, 100000) g;

CREATE TABLE versioned_1 (LIKE accounts INCLUDING ALL);
INSERT INTO versioned_1 SELECT * FROM accounts;
SELECT staging.enable_versioning('versioned_1');

CREATE TABLE versioned_10 (LIKE accounts INCLUDING ALL);
SELECT staging.enable_versioning('versioned_10');
SET staging.version = 'all';
INSERT INTO versioned_10 (entity_id, abalance, filler, created_in, updated_in)
SELECT g, k, '', 1 + 1000 * k,
       CASE WHEN k = 9 THEN 9223372036854775807 ELSE 1 + 1000 * (k + 1) END
  FROM generate_series(1, 100000) g, generate_series(0, 9) k ORDER BY g, k;
RESET staging.version;

SET staging.version = 'all';
CREATE TABLE copy_4_indexes (LIKE versioned_1 INCLUDING ALL);
INSERT INTO copy_4_indexes SELECT * FROM versioned_1;
CREATE TABLE copy_2_indexes AS SELECT * FROM versioned_1;
ALTER TABLE copy_2_indexes ADD PRIMARY KEY (row_id);
CREATE INDEX ON copy_2_indexes (entity_id, updated_in);
CREATE TABLE copy_1_index AS SELECT * FROM versioned_1;
CREATE INDEX ON copy_1_index (entity_id, updated_in);
RESET staging.version;
