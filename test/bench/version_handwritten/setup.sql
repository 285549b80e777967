-- The same versioned data (one version per entity, live version 5001)
-- twice: made versioned by staging.enable_versioning (the filter is added),
-- and a copy with the same columns, constraints and indexes that is not
-- registered (the query writes the version predicate by hand).
UPDATE staging.live_state SET version = 5001;
CREATE TABLE versioned_1 (entity_id int PRIMARY KEY, abalance int, filler char(84));
INSERT INTO versioned_1 SELECT g, 0, '' FROM generate_series(1, 100000) g;
SELECT staging.enable_versioning('versioned_1');
CREATE TABLE handwritten_1 (LIKE versioned_1 INCLUDING ALL);
SET staging.version = 'all';
INSERT INTO handwritten_1 SELECT * FROM versioned_1;
RESET staging.version;
