-- The same versioned data (one version per entity, live version 5001)
-- twice: registered (the filter is added) and not registered (the query
-- writes the version predicate by hand).
-- The layout staging.enable_versioning gives a table (issue 3): primary key
-- row_id, btree indexes on the entity column, created_in and updated_in,
-- and the exclusion constraint against overlapping versions.
UPDATE staging.live_state SET version = 5001;
CREATE TABLE handwritten_1 (row_id bigint PRIMARY KEY, entity_id int NOT NULL, abalance int,
    filler char(84), created_in bigint NOT NULL, updated_in bigint NOT NULL,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (box(point(entity_id, created_in),
                            point(entity_id, updated_in::float8 - 0.5)) WITH &&));
CREATE INDEX ON handwritten_1 (entity_id);
CREATE INDEX ON handwritten_1 (created_in);
CREATE INDEX ON handwritten_1 (updated_in);
INSERT INTO handwritten_1 SELECT g, g, 0, '', 1, 9223372036854775807 FROM generate_series(1, 100000) g;

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
