-- Changelogs of versioned tables: attribute rows are mapped through row_id
-- to their entity, rows at a future version are logged when it goes live.
CREATE SCHEMA clv;
SET search_path = clv, public;
\set SHOW_CONTEXT never

-- Versioned tables built by hand, registered as staging.enable_versioning
-- and staging.add_attribute_table register them.
CREATE TABLE sequence_item (sequence_value bigint PRIMARY KEY);
CREATE TABLE item (
    row_id     bigint PRIMARY KEY,
    entity_id  bigint NOT NULL,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL,
    name       text
);
CREATE INDEX ON item (created_in);
CREATE INDEX ON item (updated_in);
CREATE TABLE item_int (
    value_id     serial PRIMARY KEY,
    row_id       bigint NOT NULL REFERENCES item ON DELETE CASCADE,
    attribute_id int NOT NULL,
    value        int
);
INSERT INTO staging.versioned_table VALUES ('item', 'entity_id', 'sequence_item');
INSERT INTO staging.attribute_table VALUES ('item_int', 'item', 'entity_id');
SELECT staging.versioned_kind('item'), staging.versioned_kind('item_int');

-- Live version 1: rows [1, max) are live; entity 3 also has a row from 1000.
INSERT INTO item VALUES
    (1, 1, 1, staging.max_version(), 'one'),
    (2, 2, 1, staging.max_version(), 'two'),
    (3, 3, 1, 1000, 'three'),
    (4, 3, 1000, staging.max_version(), 'three from 1000');
INSERT INTO item_int (row_id, attribute_id, value)
SELECT r, a, 0 FROM generate_series(1, 4) r, generate_series(1, 3) a;

SELECT staging.create_changelog('item_idx', 'item');
SELECT staging.subscribe('item_idx', 'item_int', ARRAY['value']);
SELECT staging.add_consumer('item_idx', 'idx');

-- Attribute rows log the entity of their main row, once per transaction.
UPDATE item_int SET value = 1 WHERE row_id IN (1, 3);
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;

-- Writes at a future version are not logged (row 4 starts at 1000) ...
UPDATE item_int SET value = 2 WHERE row_id = 4;
UPDATE item SET name = 'three, renamed from 1000' WHERE row_id = 4;
INSERT INTO item VALUES (5, 5, 1000, staging.max_version(), 'five from 1000');
-- ... nor is ending a live row in the future (it still shows the same),
-- nor a column the attribute subscription does not list.
UPDATE item SET updated_in = 2000 WHERE row_id = 2;
UPDATE item_int SET attribute_id = attribute_id WHERE row_id = 1;
SELECT count(*) AS logged FROM staging.next_batch('item_idx', 'idx');

-- A live row of a main table: a real change is logged.
UPDATE item SET name = 'uno' WHERE row_id = 1;
UPDATE item SET name = 'uno' WHERE row_id = 1;
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;

-- An attribute row moved to another main row logs both entities.
UPDATE item_int SET row_id = 2 WHERE row_id = 1 AND attribute_id = 1;
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;

-- Deleting a live main row logs it once (its attribute rows cascade).
DELETE FROM item WHERE row_id = 2;
SELECT entity_id, count(*) FROM clv.item_idx_cl
 WHERE txid = (SELECT max(txid) FROM clv.item_idx_cl) GROUP BY 1;
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;

-- Version 1000 goes live: staging.advance calls _changelog_advance, which
-- logs entity 3 (row 3 ends, row 4 starts) and 5 (row 5 starts).
UPDATE staging.live_state SET version = 1000;
SELECT staging._changelog_advance(1, 1000);
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;
-- Now row 4 is live: its changes are logged at once; row 3 is history.
UPDATE item_int SET value = 3 WHERE row_id = 4;
UPDATE item_int SET value = 3 WHERE row_id = 3;
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');
-- Nothing else went live between 1000 and 1500.
SELECT staging._changelog_advance(1000, 1500);

-- TRUNCATE of an attribute table logs the entities of its live main rows
-- (entity 1 through row 1, entity 3 through row 4; row 3 is history).
SELECT staging.finish_batch('item_idx', 'idx', batch_id) FROM staging.next_batch('item_idx', 'idx') LIMIT 1;
TRUNCATE item_int;
SELECT entity_id FROM staging.next_batch('item_idx', 'idx');

-- A relation table of a versioned catalog logs its entity column; a table
-- with neither the entity column nor a row_id link is refused.
CREATE TABLE item_link (entity_id bigint, linked_id bigint);
CREATE TABLE unlinked (row_id bigint, x int);
SELECT staging.subscribe('item_idx', 'item_link');
SELECT staging.subscribe('item_idx', 'unlinked');

-- A table subscribed before it was versioned: its trigger follows the
-- registration (ending the live row at the live version is a change even
-- though only updated_in, which is not in the column list, changed).
CREATE TABLE sequence_gadget (sequence_value bigint PRIMARY KEY);
CREATE TABLE gadget (row_id bigint PRIMARY KEY, entity_id bigint NOT NULL,
                     created_in bigint NOT NULL, updated_in bigint NOT NULL, name text);
INSERT INTO gadget VALUES (1, 1, 1, staging.max_version(), 'g');
SELECT staging.create_changelog('gadget_idx', 'gadget');
SELECT staging.subscribe('gadget_idx', 'gadget', ARRAY['name']);
SELECT staging.add_consumer('gadget_idx', 'idx');
INSERT INTO staging.versioned_table VALUES ('gadget', 'entity_id', 'sequence_gadget');
UPDATE gadget SET updated_in = 1500 WHERE row_id = 1;   -- still live at 1000
UPDATE gadget SET name = 'g2' WHERE row_id = 1;
UPDATE gadget SET updated_in = 1000 WHERE row_id = 1;   -- gone at 1000
SELECT entity_id, count(*) FROM gadget_idx_cl GROUP BY 1;
SELECT staging.drop_changelog('gadget_idx');
DELETE FROM staging.versioned_table WHERE relid = 'gadget'::regclass;

-- The same through staging.enable_versioning and add_attribute_table: a
-- catalog subscribed before it was versioned keeps logging, attribute rows
-- now by row_id.
CREATE TABLE shoe (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE shoe_int (value_id serial PRIMARY KEY,
                       entity_id bigint NOT NULL REFERENCES shoe, size int);
INSERT INTO shoe VALUES (1, 'runner'), (2, 'boot');
INSERT INTO shoe_int (entity_id, size) VALUES (1, 42), (2, 44);
SELECT staging.create_changelog('shoe_idx', 'shoe');
SELECT staging.subscribe('shoe_idx', 'shoe_int', ARRAY['size']);
SELECT staging.add_consumer('shoe_idx', 'idx');
SELECT staging.enable_versioning('shoe');
SELECT staging.add_attribute_table('shoe_int', 'shoe');
SELECT count(*) AS logged_by_versioning FROM staging.next_batch('shoe_idx', 'idx');
UPDATE shoe_int SET size = 45 WHERE row_id = (SELECT row_id FROM shoe WHERE sku = 'boot');
UPDATE shoe SET sku = 'runner' WHERE entity_id = 1;   -- no change
SELECT entity_id FROM staging.next_batch('shoe_idx', 'idx');
SELECT staging.drop_changelog('shoe_idx');
SELECT staging.disable_versioning('shoe');
DROP TABLE shoe_int, shoe;

-- Magento's integer ids: the attribute table keeps its integer row_id and
-- its rows are still mapped to their entity.
CREATE TABLE boot (entity_id int PRIMARY KEY, sku text);
CREATE TABLE boot_int (value_id serial PRIMARY KEY,
                       entity_id int NOT NULL REFERENCES boot, size int);
INSERT INTO boot VALUES (7, 'chelsea'), (8, 'hiking');
INSERT INTO boot_int (entity_id, size) VALUES (7, 41), (8, 43);
SELECT staging.enable_versioning('boot');
SELECT staging.add_attribute_table('boot_int', 'boot');
SELECT format_type(atttypid, atttypmod) AS boot_int_row_id
  FROM pg_attribute WHERE attrelid = 'boot_int'::regclass AND attname = 'row_id';
SELECT staging.create_changelog('boot_idx', 'boot');
SELECT staging.subscribe('boot_idx', 'boot_int', ARRAY['size']);
SELECT staging.add_consumer('boot_idx', 'idx');
UPDATE boot_int SET size = 42 WHERE row_id = (SELECT row_id FROM boot WHERE sku = 'hiking');
SELECT entity_id FROM staging.next_batch('boot_idx', 'idx');
SELECT staging.drop_changelog('boot_idx');
SELECT staging.disable_versioning('boot');
DROP TABLE boot_int, boot;

UPDATE staging.live_state SET version = 1;
SELECT staging.drop_changelog('item_idx');
DELETE FROM staging.versioned_table WHERE relid = 'item'::regclass;
DROP SCHEMA clv CASCADE;
