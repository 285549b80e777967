-- compare_schemas on a versioned catalog: counts what shoppers see at the
-- session version (version rows of other versions, and their attribute
-- rows, are not counted twice), and leaves changelog log tables out.
SET timezone = 'UTC';
CREATE SCHEMA scv;
CREATE TABLE scv.product (entity_id int PRIMARY KEY, sku text NOT NULL);
CREATE TABLE scv.product_decimal (
    value_id serial PRIMARY KEY, attribute_id int NOT NULL,
    entity_id int NOT NULL REFERENCES scv.product ON DELETE CASCADE,
    value numeric, UNIQUE (entity_id, attribute_id));
INSERT INTO scv.product VALUES (1, 'tee'), (2, 'cap');
INSERT INTO scv.product_decimal (attribute_id, entity_id, value) VALUES (77, 1, 10), (77, 2, 5);
SELECT staging.enable_versioning('scv.product') IS NOT NULL AS versioned;
SELECT staging.add_attribute_table('scv.product_decimal', 'scv.product') IS NOT NULL AS attached;
SELECT staging.create_changelog('scv_idx', 'scv.product');
-- A campaign adds a version row of the tee, with a copy of its price.
SELECT staging.create_update('Sale', '2035-11-23 00:00+00', '2035-11-26 00:00+00') AS sale \gset
SET staging.version = :sale;
UPDATE scv.product_decimal d SET value = 8 FROM scv.product p
 WHERE d.row_id = p.row_id AND p.sku = 'tee';
RESET staging.version;
SET staging.version = 'all';
SELECT count(*) AS all_product_rows FROM scv.product;
SELECT count(*) AS all_price_rows FROM scv.product_decimal;
RESET staging.version;
SELECT staging.clone_schema('scv', 'scv_import');
INSERT INTO scv_import.product (entity_id, sku) VALUES (1, 'tee'), (2, 'cap');
INSERT INTO scv_import.product_decimal (attribute_id, row_id, value)
SELECT 77, row_id, 10 FROM scv_import.product;
-- Live: two products with two prices on both sides; the log table is not listed.
SELECT * FROM staging.compare_schemas('scv', 'scv_import');
-- At the campaign's version the same.
SET staging.version = :sale;
SELECT * FROM staging.compare_schemas('scv', 'scv_import');
RESET staging.version;

-- Clean up: the live version and updates back to the beginning.
SELECT staging.drop_changelog('scv_idx');
DELETE FROM staging.updates;
SET client_min_messages = warning;
DROP SCHEMA scv, scv_import CASCADE;
