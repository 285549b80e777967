-- Versioned writes of tables whose columns are named like the aliases of
-- the statements the write model runs (t, x, r, v): the first write of an
-- entity at an update's version records its live values, not a column's.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE SCHEMA wcn;
CREATE TABLE wcn.t (entity_id bigint PRIMARY KEY, t text, x int, r text, v text);
CREATE TABLE wcn.x (entity_id bigint REFERENCES wcn.t, x text, t text, r int, v text,
    UNIQUE (entity_id, x));
INSERT INTO wcn.t VALUES (1, 'one', 1, 'r1', 'v1'), (2, 'two', 2, 'r2', 'v2');
INSERT INTO wcn.x VALUES (1, 'color', 'red', 1, 'a'), (2, 'color', 'blue', 2, 'b');
SELECT staging.enable_versioning('wcn.t');
SELECT staging.add_attribute_table('wcn.x', 'wcn.t');
SELECT staging.create_update('wcn', '2047-01-01 00:00+00') AS u \gset

SET staging.version = :u;
UPDATE wcn.t SET t = 'one (sale)' WHERE entity_id = 1;
UPDATE wcn.x SET t = 'green'
 WHERE row_id = (SELECT row_id FROM wcn.t WHERE entity_id = 2);
INSERT INTO wcn.x (row_id, x, t, r, v)
SELECT row_id, 'size', 'L', 3, 'c' FROM wcn.t WHERE entity_id = 1;
SELECT t.entity_id, t.t, t.x, t.r, t.v, a.x AS key, a.t AS value
  FROM wcn.t t JOIN wcn.x a USING (row_id) ORDER BY 1, 6;
RESET staging.version;
-- The live rows are as they were.
SELECT t.entity_id, t.t, t.x, t.r, t.v, a.x AS key, a.t AS value, t.created_in = 1 AS first
  FROM wcn.t t JOIN wcn.x a USING (row_id) ORDER BY 1, 6;
-- A live edit flows into the update's version where the update did not
-- set the field.
UPDATE wcn.t SET x = 10 WHERE entity_id = 1;
SET staging.version = :u;
SELECT entity_id, t, x FROM wcn.t ORDER BY 1;
RESET staging.version;
SELECT * FROM staging.verify('wcn.t');

DROP SCHEMA wcn CASCADE;
DELETE FROM staging.updates;
