-- A version going live logs, in a subscription with a column list, only
-- the entities whose listed columns changed with it (as live writes do):
-- the main row's columns or existence, or the attribute rows' columns.
-- A subscription without a list logs every entity with a version row that
-- starts or ends.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE SCHEMA clc;
CREATE TABLE clc.item (entity_id bigint PRIMARY KEY, sku text, price numeric, note text);
CREATE TABLE clc.item_tag (id serial PRIMARY KEY, entity_id bigint REFERENCES clc.item,
    k text, v text);
INSERT INTO clc.item SELECT g, 's' || g, g, NULL FROM generate_series(1, 8) g;
INSERT INTO clc.item_tag (entity_id, k, v) SELECT g, 'color', 'c' || g FROM generate_series(1, 8) g;
SELECT staging.enable_versioning('clc.item');
SELECT staging.add_attribute_table('clc.item_tag', 'clc.item');
-- all: the main table, every column; sku: the main table's sku and note
-- (sku listed twice); tag: the attribute table's v.
SELECT staging.create_changelog('clc_all', 'clc.item');
SELECT staging.create_changelog('clc_sku', 'clc.item');
SELECT staging.subscribe('clc_sku', 'clc.item', ARRAY['sku', 'note', 'sku']);
SELECT staging.create_changelog('clc_tag', 'clc.item');
SELECT staging.unsubscribe('clc_tag', 'clc.item');
SELECT staging.subscribe('clc_tag', 'clc.item_tag', ARRAY['v']);

SELECT staging.create_update('clc sale', '2046-01-01 00:00+00', '2046-01-08 00:00+00') AS u \gset
SET staging.version = :u;
UPDATE clc.item SET price = 0 WHERE entity_id = 1;           -- another column
UPDATE clc.item SET sku = 's2' WHERE entity_id = 2;          -- the same value
UPDATE clc.item SET note = NULL WHERE entity_id = 3;         -- NULL to NULL
UPDATE clc.item SET note = 'new' WHERE entity_id = 4;        -- NULL to a value
UPDATE clc.item_tag SET k = 'colour'
  WHERE row_id = (SELECT row_id FROM clc.item WHERE entity_id = 5); -- another column
UPDATE clc.item_tag SET v = 'red'
  WHERE row_id = (SELECT row_id FROM clc.item WHERE entity_id = 6); -- the listed one
INSERT INTO clc.item (entity_id, sku, price) VALUES (9, 's9', 9);  -- appears
DELETE FROM clc.item WHERE entity_id = 8;                    -- disappears
RESET staging.version;
SELECT count(*) FROM clc.clc_all_cl;

-- The sale starts.
SELECT staging.advance('2046-01-01 00:00+00') = :u AS live;
SELECT 'clc_all' AS changelog, array_agg(entity_id ORDER BY entity_id) FROM clc.clc_all_cl
UNION ALL
SELECT 'clc_sku', array_agg(entity_id ORDER BY entity_id) FROM clc.clc_sku_cl
UNION ALL
SELECT 'clc_tag', array_agg(entity_id ORDER BY entity_id) FROM clc.clc_tag_cl;
TRUNCATE clc.clc_all_cl, clc.clc_sku_cl, clc.clc_tag_cl;

-- The sale ends: the same entities change back.
SELECT staging.advance('2046-01-08 00:00+00') = staging.to_version('2046-01-08 00:00+00') AS ended;
SELECT 'clc_all' AS changelog, array_agg(entity_id ORDER BY entity_id) FROM clc.clc_all_cl
UNION ALL
SELECT 'clc_sku', array_agg(entity_id ORDER BY entity_id) FROM clc.clc_sku_cl
UNION ALL
SELECT 'clc_tag', array_agg(entity_id ORDER BY entity_id) FROM clc.clc_tag_cl;

DROP SCHEMA clc CASCADE;
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
