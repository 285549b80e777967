-- Untimed: fresh working copies of the pristine catalog (keys and foreign
-- keys as Magento has them, added after the load) and no copies left from
-- the baseline.
SET client_min_messages = warning;
DROP TABLE IF EXISTS copy_entity, copy_int, copy_decimal, copy_varchar;
DROP TABLE IF EXISTS catalog_product_entity_int, catalog_product_entity_decimal,
    catalog_product_entity_varchar, catalog_product_entity, sequence_catalog_product_entity;
CREATE TABLE catalog_product_entity AS SELECT * FROM pristine_entity;
ALTER TABLE catalog_product_entity ADD PRIMARY KEY (entity_id);
CREATE TABLE catalog_product_entity_int AS SELECT * FROM pristine_int;
CREATE TABLE catalog_product_entity_decimal AS SELECT * FROM pristine_decimal;
CREATE TABLE catalog_product_entity_varchar AS SELECT * FROM pristine_varchar;
ALTER TABLE catalog_product_entity_int ADD PRIMARY KEY (value_id),
    ADD UNIQUE (entity_id, attribute_id, store_id),
    ADD FOREIGN KEY (entity_id) REFERENCES catalog_product_entity ON DELETE CASCADE;
ALTER TABLE catalog_product_entity_decimal ADD PRIMARY KEY (value_id),
    ADD UNIQUE (entity_id, attribute_id, store_id),
    ADD FOREIGN KEY (entity_id) REFERENCES catalog_product_entity ON DELETE CASCADE;
ALTER TABLE catalog_product_entity_varchar ADD PRIMARY KEY (value_id),
    ADD UNIQUE (entity_id, attribute_id, store_id),
    ADD FOREIGN KEY (entity_id) REFERENCES catalog_product_entity ON DELETE CASCADE;
VACUUM ANALYZE catalog_product_entity, catalog_product_entity_int,
    catalog_product_entity_decimal, catalog_product_entity_varchar;
CHECKPOINT;
