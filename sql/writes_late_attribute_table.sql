-- An attribute table registered after some entities' writes were recorded
-- (a campaign scheduled first, the tier prices versioned later): its rows,
-- which add_attribute_table copies to every version row, stay through the
-- next layouts of those entities, whatever starts them (a write of the
-- attribute table, of the main table, delete_update).
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE SCHEMA wl;
SET search_path = wl, public;
CREATE TABLE item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO item VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT staging.enable_versioning('item');
SELECT staging.create_update('Late sale', '2036-05-01 00:00+00', '2036-05-02 00:00+00') AS sale \gset
SELECT staging.create_update('Late launch', '2036-06-01 00:00+00') AS launch \gset
SET staging.version = :sale;
UPDATE item SET sku = sku || ' (sale)';
RESET staging.version;
SET staging.version = :launch;
UPDATE item SET sku = sku || ' (new)' WHERE entity_id = 3;
RESET staging.version;

CREATE TABLE tier (value_id serial PRIMARY KEY,
                   entity_id bigint NOT NULL REFERENCES sequence_item,
                   qty int NOT NULL, price numeric, UNIQUE (entity_id, qty));
INSERT INTO tier (entity_id, qty, price) VALUES (1, 1, 10), (1, 5, 9), (2, 1, 20), (3, 1, 30);
SELECT staging.add_attribute_table('tier', 'item');

CREATE VIEW seen AS
SELECT i.entity_id, i.sku, t.qty, t.price
  FROM item i LEFT JOIN tier t USING (row_id) ORDER BY 1, 3;

-- a write of the attribute table at the sale: entity 1's other tier and
-- its rows at live and after the sale stay
SET staging.version = :sale;
UPDATE tier SET price = 8 WHERE qty = 1 AND row_id IN (SELECT row_id FROM item WHERE entity_id = 1);
SELECT * FROM seen;
RESET staging.version;
SELECT * FROM seen;
SET staging.version = '2036-05-03 00:00+00';
SELECT * FROM seen;
RESET staging.version;

-- a write of the main table at the sale: entity 2's tier stays
SET staging.version = :sale;
UPDATE item SET sku = 'b (sale, again)' WHERE entity_id = 2;
SELECT * FROM seen WHERE entity_id = 2;
RESET staging.version;
SELECT * FROM seen WHERE entity_id = 2;

-- the launch deleted: entity 3 lays out again, its tier stays
SELECT staging.delete_update(:launch);
SET staging.version = '2036-06-02 00:00+00';
SELECT * FROM seen WHERE entity_id = 3;
RESET staging.version;
SELECT * FROM seen WHERE entity_id = 3;

SELECT * FROM staging.verify('item');

DROP VIEW seen;
DELETE FROM staging.updates WHERE id IN (:sale, :launch);
SELECT staging.disable_versioning('item');
RESET search_path;
DROP SCHEMA wl CASCADE;
