-- 100k products twice: a plain table, and a versioned one (every row
-- created at the live version, so an UPDATE at the live version changes
-- it in place) with the write triggers.
CREATE TABLE plain_products (entity_id bigint PRIMARY KEY, sku text, price numeric, description text);
INSERT INTO plain_products SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 100000) g;
CREATE TABLE products (LIKE plain_products INCLUDING ALL);
INSERT INTO products SELECT * FROM plain_products;
SELECT staging.enable_versioning('products');
-- The same shape without the write triggers: what the table shape costs.
CREATE TABLE products_shape (LIKE products INCLUDING ALL);
SET staging.version = 'all';
INSERT INTO products_shape SELECT * FROM products;
RESET staging.version;
