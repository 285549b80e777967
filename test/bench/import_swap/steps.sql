-- The timed steps of one import of import_swap: :n products, 10 attribute
-- rows each, loaded into a copy of schema catalog, compared with it and
-- swapped in.  The versioned side (:versioned = 1) uses the extension's
-- functions, the plain side the same steps by hand.  Each statement is its
-- own transaction but the swap by hand (one transaction); \timing prints
-- the time of each, summed per step.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS catalog_new CASCADE;
RESET client_min_messages;
CHECKPOINT;
\timing on
\echo step clone
\if :versioned
SELECT staging.clone_schema('catalog', 'catalog_new');
\else
CREATE SCHEMA catalog_new;
CREATE TABLE catalog_new.products (LIKE catalog.products INCLUDING ALL);
CREATE TABLE catalog_new.products_varchar (LIKE catalog.products_varchar INCLUDING ALL);
ALTER TABLE catalog_new.products_varchar ADD FOREIGN KEY (entity_id)
    REFERENCES catalog_new.products ON DELETE CASCADE;
\endif
\echo step insert_products
INSERT INTO catalog_new.products (sku) SELECT 'sku-' || g FROM generate_series(1, :n) g;
\echo step insert_attributes
INSERT INTO catalog_new.products_varchar (attribute_id, :link, value)
SELECT a, p.:link, 'value ' || a || ' of ' || p.sku FROM catalog_new.products p, generate_series(71, 80) a;
\echo step compare
\if :versioned
SELECT * FROM staging.compare_schemas('catalog', 'catalog_new');
\else
SELECT 'products' AS table_name, (SELECT count(*) FROM catalog.products) AS live_rows,
       (SELECT count(*) FROM catalog_new.products) AS candidate_rows
UNION ALL
SELECT 'products_varchar', (SELECT count(*) FROM catalog.products_varchar),
       (SELECT count(*) FROM catalog_new.products_varchar);
\endif
\echo step swap
\if :versioned
SELECT staging.swap_schemas('catalog', 'catalog_new');
\else
BEGIN;
ALTER SCHEMA catalog RENAME TO catalog_old;
ALTER SCHEMA catalog_new RENAME TO catalog;
ALTER SCHEMA catalog_old RENAME TO catalog_new;
COMMIT;
\endif
\timing off
