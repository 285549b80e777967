-- The same versioned data (one version per entity, live version 5001)
-- twice: registered (the filter is added) and not registered (the query
-- writes the version predicate by hand).
UPDATE staging.live_state SET version = 5001;
CREATE TABLE handwritten_1 (row_id bigint PRIMARY KEY, entity_id int NOT NULL, abalance int,
    filler char(84), created_in bigint NOT NULL, updated_in bigint NOT NULL);
INSERT INTO handwritten_1 SELECT g, g, 0, '', 1, 9223372036854775807 FROM generate_series(1, 100000) g;
CREATE UNIQUE INDEX ON handwritten_1 (entity_id, updated_in, created_in);

CREATE TABLE versioned_1 (LIKE handwritten_1 INCLUDING ALL);
INSERT INTO versioned_1 SELECT * FROM handwritten_1;
CREATE TABLE sequence_versioned_1 (sequence_value int PRIMARY KEY);
INSERT INTO staging.versioned_table VALUES ('versioned_1', 'entity_id', 'sequence_versioned_1');
