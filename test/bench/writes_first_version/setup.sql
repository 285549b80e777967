-- 50k products with 10 EAV attribute rows each, twice: a plain main table
-- (the baseline updates only its main row), and a versioned one.
CREATE TABLE plain_products (entity_id bigint PRIMARY KEY, sku text, price numeric, description text);
INSERT INTO plain_products SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 50000) g;
CREATE TABLE plain_products_varchar (
    value_id bigserial PRIMARY KEY,
    entity_id bigint NOT NULL REFERENCES plain_products ON DELETE CASCADE,
    attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0, value text,
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO plain_products_varchar (entity_id, attribute_id, value)
SELECT g, a, 'value ' || a FROM generate_series(1, 50000) g, generate_series(1, 10) a;
CREATE TABLE products (LIKE plain_products INCLUDING ALL);
INSERT INTO products SELECT * FROM plain_products;
CREATE TABLE products_varchar (LIKE plain_products_varchar INCLUDING ALL);
INSERT INTO products_varchar SELECT * FROM plain_products_varchar;
ALTER TABLE products_varchar ADD FOREIGN KEY (entity_id) REFERENCES products ON DELETE CASCADE;
SELECT staging.enable_versioning('products');
SELECT staging.add_attribute_table('products_varchar', 'products');
