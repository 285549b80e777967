-- A catalog of 1M products in database bench, of 100k in bench_plain
-- (the extension is created there too), each with a price attribute row,
-- and one scheduled update that changes 1,000 products spread over the
-- catalog (the name and the price).  staging.diff between the live
-- version and the update must cost about the same in both: its cost
-- follows the changed entities, not the table.
CREATE EXTENSION IF NOT EXISTS staging;
SELECT CASE WHEN current_database() = 'bench' THEN 1000000 ELSE 100000 END AS n \gset
CREATE TABLE products (entity_id bigint PRIMARY KEY, sku text, name text);
CREATE TABLE products_decimal (
    value_id     bigserial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    bigint NOT NULL REFERENCES products,
    value        numeric,
    UNIQUE (entity_id, attribute_id, store_id)
);
INSERT INTO products SELECT g, 'sku-' || g, 'Product ' || g FROM generate_series(1, :n) g;
INSERT INTO products_decimal (attribute_id, entity_id, value) SELECT 77, g, g FROM generate_series(1, :n) g;
SELECT staging.enable_versioning('products');
SELECT staging.add_attribute_table('products_decimal', 'products');
-- The update's version rows, laid out set-based (triggers off) as the
-- versioned writes would: every (n/1000)th product gets a new name and price.
SELECT staging.create_update('bench', '2100-01-01 00:00+00') AS s \gset
SET staging.version = 'all';
SET session_replication_role = replica;
UPDATE products SET updated_in = :s
 WHERE entity_id % (:n / 1000) = 0 AND updated_in = 9223372036854775807;
INSERT INTO products (entity_id, created_in, sku, name)
SELECT entity_id, :s, sku, name || ' (new)' FROM products WHERE updated_in = :s;
INSERT INTO products_decimal (attribute_id, store_id, row_id, value)
SELECT d.attribute_id, d.store_id, n.row_id, d.value - 1
  FROM products n
  JOIN products o ON o.entity_id = n.entity_id AND o.updated_in = :s
  JOIN products_decimal d ON d.row_id = o.row_id
 WHERE n.created_in = :s;
RESET session_replication_role;
RESET staging.version;
VACUUM ANALYZE products;
VACUUM ANALYZE products_decimal;
