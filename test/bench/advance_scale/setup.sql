-- A catalog of 1M products in database bench, of 100k in bench_plain
-- (the extension is created there too): advance() over the same 100k
-- changed products must take about as long in both.  With the changelogs
-- installed, a changelog subscribes the catalog, so advance() logs the
-- 100k entities that change.
CREATE EXTENSION IF NOT EXISTS staging;
SELECT CASE WHEN current_database() = 'bench' THEN 1000000 ELSE 100000 END AS n \gset
CREATE TABLE products (entity_id bigint PRIMARY KEY, sku text, price numeric);
INSERT INTO products SELECT g, 'sku-' || g, g FROM generate_series(1, :n) g;
SELECT staging.enable_versioning('products');
SELECT to_regprocedure('staging.create_changelog(text,regclass)') IS NOT NULL AS changelogs \gset
\if :changelogs
SELECT staging.create_changelog('bench_products', 'products');
\endif
