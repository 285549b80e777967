-- The timed steps of one round of bulk_import: :link is the attribute
-- tables' link column (entity_id, row_id once versioned), :n the number of
-- products.  Each step is its own transaction; \timing prints its time.
\timing on
\echo step insert_products
INSERT INTO products (sku) SELECT 'sku-' || g FROM generate_series(1, :n) g;
\echo step insert_attributes
INSERT INTO products_varchar (attribute_id, :link, value)
SELECT a, p.:link, 'value ' || a || ' of ' || p.sku FROM products p, generate_series(71, 73) a;
\echo step update_attributes
UPDATE products_varchar SET value = value || '+';
\echo step update_products
UPDATE products SET has_options = true;
\echo step delete_products
DELETE FROM products;
\timing off
