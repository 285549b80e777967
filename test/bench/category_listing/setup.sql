-- A Magento category listing: 20 products of a category with 4 EAV
-- attribute values each (status, visibility: int; price: decimal; name:
-- varchar), joined by row_id to the versioned product table, vs the same
-- catalog in plain tables joined by entity_id.  20000 products in 1000
-- categories of 20.  Every product has a live version; every tenth also
-- a future one (a campaign price), so the versioned catalog holds future
-- attribute rows that the listing must not show.
UPDATE staging.live_state SET version = 5001;
CREATE FUNCTION make_catalog(prefix text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (entity_id int PRIMARY KEY, sku text NOT NULL)', prefix || '_product');
    EXECUTE format('INSERT INTO %I SELECT g, ''sku-'' || g FROM generate_series(1, 20000) g', prefix || '_product');
    EXECUTE format('CREATE TABLE %I (category_id int, product_id int REFERENCES %I, position int, PRIMARY KEY (category_id, product_id))',
                   prefix || '_category_product', prefix || '_product');
    EXECUTE format('INSERT INTO %I SELECT (g - 1) / 20 + 1, g, g %% 20 FROM generate_series(1, 20000) g',
                   prefix || '_category_product');
    EXECUTE format('CREATE TABLE %I (value_id serial, attribute_id int, store_id int, entity_id int NOT NULL REFERENCES %I, value int, UNIQUE (entity_id, attribute_id, store_id))',
                   prefix || '_product_int', prefix || '_product');
    EXECUTE format('INSERT INTO %I (attribute_id, store_id, entity_id, value) SELECT a, 0, g, 1 FROM generate_series(1, 20000) g, (VALUES (97), (99)) v(a)',
                   prefix || '_product_int');
    EXECUTE format('CREATE TABLE %I (value_id serial, attribute_id int, store_id int, entity_id int NOT NULL REFERENCES %I, value numeric(20,6), UNIQUE (entity_id, attribute_id, store_id))',
                   prefix || '_product_decimal', prefix || '_product');
    EXECUTE format('INSERT INTO %I (attribute_id, store_id, entity_id, value) SELECT 77, 0, g, g %% 100 + 0.99 FROM generate_series(1, 20000) g',
                   prefix || '_product_decimal');
    EXECUTE format('CREATE TABLE %I (value_id serial, attribute_id int, store_id int, entity_id int NOT NULL REFERENCES %I, value varchar(255), UNIQUE (entity_id, attribute_id, store_id))',
                   prefix || '_product_varchar', prefix || '_product');
    EXECUTE format('INSERT INTO %I (attribute_id, store_id, entity_id, value) SELECT 73, 0, g, ''Product '' || g FROM generate_series(1, 20000) g',
                   prefix || '_product_varchar');
END $$;
SELECT make_catalog('plain');
SELECT make_catalog('staged');
SELECT staging.enable_versioning('staged_product');
SELECT staging.add_attribute_table('staged_product_int', 'staged_product');
SELECT staging.add_attribute_table('staged_product_decimal', 'staged_product');
SELECT staging.add_attribute_table('staged_product_varchar', 'staged_product');
-- A campaign from version 6001 on: every tenth product's price drops.
INSERT INTO staging.updates (id, name, start_time) VALUES (6001, 'sale', staging.to_timestamp(6001));
SET staging.version = 6001;
UPDATE staged_product_decimal d SET value = d.value / 2
  FROM staged_product p WHERE d.row_id = p.row_id AND p.entity_id % 10 = 0;
RESET staging.version;
VACUUM ANALYZE;
-- For versioned_plain_attributes: copies of the three attribute tables,
-- same rows and indexes, not registered, so never filtered: the listing
-- on them measures what the attribute filter costs the listing (nothing,
-- when it is left out because the listing joins by row_id).
SET staging.version = 'all';
CREATE TABLE copy_product_int (LIKE staged_product_int INCLUDING INDEXES);
INSERT INTO copy_product_int SELECT * FROM staged_product_int;
CREATE TABLE copy_product_decimal (LIKE staged_product_decimal INCLUDING INDEXES);
INSERT INTO copy_product_decimal SELECT * FROM staged_product_decimal;
CREATE TABLE copy_product_varchar (LIKE staged_product_varchar INCLUDING INDEXES);
INSERT INTO copy_product_varchar SELECT * FROM staged_product_varchar;
RESET staging.version;
VACUUM ANALYZE;
