-- Untimed: fresh working copies of the pristine catalog (constraints as
-- Magento has them) and no copies left from the baseline.
SET client_min_messages = warning;
DROP TABLE IF EXISTS copy_entity, copy_int, copy_decimal, copy_varchar;
DROP TABLE IF EXISTS catalog_product_entity_int, catalog_product_entity_decimal,
    catalog_product_entity_varchar, catalog_product_entity, sequence_catalog_product_entity;
CREATE TABLE catalog_product_entity (LIKE pristine_entity INCLUDING ALL);
INSERT INTO catalog_product_entity SELECT * FROM pristine_entity;
CREATE TABLE catalog_product_entity_int (
    value_id int PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL,
    entity_id int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE, value int,
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO catalog_product_entity_int SELECT * FROM pristine_int;
CREATE TABLE catalog_product_entity_decimal (
    value_id int PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL,
    entity_id int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE, value numeric(12,4),
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO catalog_product_entity_decimal SELECT * FROM pristine_decimal;
CREATE TABLE catalog_product_entity_varchar (
    value_id int PRIMARY KEY, attribute_id int NOT NULL, store_id int NOT NULL,
    entity_id int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE, value text,
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO catalog_product_entity_varchar SELECT * FROM pristine_varchar;
VACUUM ANALYZE catalog_product_entity, catalog_product_entity_int,
    catalog_product_entity_decimal, catalog_product_entity_varchar;
CHECKPOINT;
