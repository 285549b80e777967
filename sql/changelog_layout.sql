-- Laying out an entity's future rows again (delete_update,
-- reschedule_update) deletes and rewrites version rows that the live
-- version does not show, and their attribute rows with them: nothing a
-- reader of the live version sees changes, so no changelog logs the
-- entity.  Deleting a live row with its attribute rows still logs it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE SCHEMA cll;
CREATE TABLE cll.item (entity_id bigint PRIMARY KEY, price int);
CREATE TABLE cll.item_attr (id serial PRIMARY KEY, entity_id bigint NOT NULL REFERENCES cll.item,
    attribute_id int NOT NULL, value int, UNIQUE (entity_id, attribute_id));
INSERT INTO cll.item VALUES (1, 10), (2, 20), (3, 30);
INSERT INTO cll.item_attr (entity_id, attribute_id, value) VALUES (1, 1, 11), (2, 1, 21), (3, 1, 31);
SELECT staging.enable_versioning('cll.item');
SELECT staging.add_attribute_table('cll.item_attr', 'cll.item');
-- every column of both tables; the attribute table's value only
SELECT staging.create_changelog('cll_all', 'cll.item');
SELECT staging.subscribe('cll_all', 'cll.item_attr');
SELECT staging.create_changelog('cll_attr', 'cll.item');
SELECT staging.unsubscribe('cll_attr', 'cll.item');
SELECT staging.subscribe('cll_attr', 'cll.item_attr', ARRAY['value']);

-- A write at a future update, then the update deleted: nothing logged.
SELECT staging.create_update('cll a', '2051-03-01 00:00+00') AS u \gset
SET staging.version = :u;
UPDATE cll.item SET price = 11 WHERE entity_id = 1;
RESET staging.version;
SELECT staging.delete_update(:u);
SELECT 'cll_all' AS changelog, count(*) FROM cll.cll_all_cl
UNION ALL
SELECT 'cll_attr', count(*) FROM cll.cll_attr_cl;

-- A write at a future update, then the update moved: nothing logged.
SELECT staging.create_update('cll b', '2051-03-02 00:00+00', '2051-03-04 00:00+00') AS u \gset
SET staging.version = :u;
UPDATE cll.item SET price = 22 WHERE entity_id = 2;
RESET staging.version;
SELECT staging.reschedule_update(:u, '2051-03-03 00:00+00', '2051-03-05 00:00+00') AS u \gset
SELECT 'cll_all' AS changelog, count(*) FROM cll.cll_all_cl
UNION ALL
SELECT 'cll_attr', count(*) FROM cll.cll_attr_cl;
SELECT staging.delete_update(:u);
SELECT 'cll_all' AS changelog, count(*) FROM cll.cll_all_cl
UNION ALL
SELECT 'cll_attr', count(*) FROM cll.cll_attr_cl;

-- A live row deleted with its attribute rows (it began at the live
-- version: the row goes, its attribute rows by the cascade): logged, also
-- by the subscription of the attribute table alone.
DELETE FROM cll.item WHERE entity_id = 3;
SELECT 'cll_all' AS changelog, array_agg(entity_id) FROM cll.cll_all_cl
UNION ALL
SELECT 'cll_attr', array_agg(entity_id) FROM cll.cll_attr_cl;

SELECT staging.drop_changelog('cll_all');
SELECT staging.drop_changelog('cll_attr');
DROP SCHEMA cll CASCADE;
