-- The storefront demo: what a merchant sees, step by step.
-- Run it with tools/demo (a throwaway cluster with staging preloaded).
\pset footer off
\echo
\echo '== 1. A shop database with the staging extension'
CREATE DATABASE shop;
\c -reuse-previous=on dbname=shop
\set QUIET on
CREATE EXTENSION staging;
SELECT extname AS extension, extversion AS version,
       staging.live_version() AS live_version,
       staging.to_timestamp(staging.live_version()) AS live_since
  FROM pg_extension WHERE extname = 'staging';

\echo '== 2. The catalog: products with EAV attributes, as Magento keeps them'
CREATE TABLE catalog_product_entity (
    entity_id  serial PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    type_id    text NOT NULL DEFAULT 'simple'
);
CREATE TABLE catalog_product_entity_decimal (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE,
    value        numeric(12,2),
    UNIQUE (entity_id, attribute_id, store_id)
);
INSERT INTO catalog_product_entity (sku) VALUES ('tee-red'), ('tee-blue'), ('hoodie');
INSERT INTO catalog_product_entity_decimal (attribute_id, entity_id, value)
VALUES (77, 1, 19.90), (77, 2, 19.90), (77, 3, 49.00);
SELECT p.entity_id, p.sku, price.value AS price
  FROM catalog_product_entity p
  JOIN catalog_product_entity_decimal price
    ON price.entity_id = p.entity_id AND price.attribute_id = 77
 ORDER BY p.entity_id;

\echo '== 3. Versioning the catalog: each product row becomes one version of its entity'
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_decimal', 'catalog_product_entity');
SELECT table_name, entity_column, sequence_table, attribute_tables, entities, rows
  FROM staging.versioned_tables;
-- Every existing row is version [1, max); prices now hang off row_id.
SELECT p.entity_id, p.row_id, p.sku, p.created_in, p.updated_in = staging.max_version() AS open_ended,
       price.value AS price
  FROM catalog_product_entity p
  JOIN catalog_product_entity_decimal price
    ON price.row_id = p.row_id AND price.attribute_id = 77
 ORDER BY p.entity_id;
-- Every entity id is in the sequence table; the invariants hold.
SELECT sequence_value FROM sequence_catalog_product_entity ORDER BY 1;
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');
\echo '== 4. A full catalog import beside the live one: clone, compare, swap in, swap back'
CREATE SCHEMA catalog;
CREATE TABLE catalog.product (
    entity_id serial PRIMARY KEY,
    sku       text NOT NULL UNIQUE,
    price     numeric(12,2) NOT NULL CHECK (price >= 0)
);
INSERT INTO catalog.product (sku, price) VALUES ('tee-red', 19.90), ('tee-blue', 19.90), ('hoodie', 49.00);
-- The storefront's query, prepared once (it will follow the swap).
PREPARE storefront AS SELECT sku, price FROM catalog.product ORDER BY sku;
\echo '-- an empty copy of the live catalog, same tables, keys, sequences'
SELECT staging.clone_schema('catalog', 'catalog_import') AS done \gset
\echo '-- the nightly import fills it while the shop keeps serving the live one'
INSERT INTO catalog_import.product (sku, price)
VALUES ('tee-red', 17.90), ('tee-blue', 17.90), ('hoodie', 45.00), ('cap', 12.00);
SELECT * FROM staging.compare_schemas('catalog', 'catalog_import');
\echo '-- the shop before the swap'
EXECUTE storefront;
\echo '-- swap: refused if a table differs by more than 50 %, or if a lock cannot be had'
SELECT staging.swap_schemas('catalog', 'catalog_import', max_difference_pct => 50) AS done \gset
\echo '-- the same prepared statement after the swap: the import is live'
EXECUTE storefront;
\echo '-- caches learn about it (also by LISTEN staging_invalidation)'
SELECT kind, detail FROM staging.invalidations ORDER BY id DESC LIMIT 1;
\echo '-- something is wrong with the import: swap back, the old catalog is live again'
SELECT staging.swap_schemas('catalog', 'catalog_import') AS done \gset
EXECUTE storefront;

\echo '== 5. Reading at a version: a scheduled banner, previewed through a signed token'
-- A versioned table shaped by hand (row_id, created_in, updated_in) and
-- registered: every query on it sees the rows valid at staging.version.
CREATE TABLE cms_block (
    row_id     bigint PRIMARY KEY,
    block_id   int NOT NULL,
    content    text NOT NULL,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL
);
CREATE TABLE sequence_cms_block (sequence_value int PRIMARY KEY);
INSERT INTO cms_block VALUES
    (1, 1, 'Welcome!', 1, staging.to_version('2100-11-27 00:00+00')),
    (2, 1, 'Black Friday: -30% on tees', staging.to_version('2100-11-27 00:00+00'),
        staging.to_version('2100-11-30 00:00+00')),
    (3, 1, 'Welcome!', staging.to_version('2100-11-30 00:00+00'), staging.max_version());
INSERT INTO staging.versioned_table VALUES ('cms_block', 'block_id', 'sequence_cms_block');
SELECT staging.current_version() AS reading_version, content AS banner_now FROM cms_block;
-- An editor (here the superuser) reads any moment: the Friday sale.
SET staging.version = '2100-11-28 12:00+00';
SELECT staging.to_timestamp(staging.current_version()) AS reading_at, content AS banner FROM cms_block;
RESET staging.version;
-- The storefront's role may not read the future by itself ...
CREATE ROLE storefront;
GRANT SELECT ON cms_block TO storefront;
SET ROLE storefront;
SET staging.version = '2100-11-28 12:00+00';
DO $$
BEGIN
    PERFORM content FROM cms_block;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'storefront without a token: % (SQLSTATE %)', SQLERRM, SQLSTATE;
END $$;
RESET staging.version;
RESET ROLE;
-- ... but an editor signs a preview link for one hour, and the storefront
-- opens it: this session now reads that version, and only that one.
SELECT staging.sign_preview(staging.to_version('2100-11-28 12:00+00'), '1 hour') AS token \gset
SELECT left(:'token', 40) || '...' AS preview_token;
SET ROLE storefront;
SELECT staging.to_timestamp(staging.preview(:'token')) AS previewing;
SELECT content AS banner_in_preview FROM cms_block;
RESET staging.version;
SELECT content AS banner_after_preview FROM cms_block;
RESET ROLE;

\echo '== 6. An indexer learns which products changed (changelog, next_batch / finish_batch)'
-- The search indexer watches products and their prices.  Prices are an
-- attribute table now: a price row's entity is found through row_id.  A
-- price "change" to the same value is no change, and tee-red, changed
-- twice, is indexed once.
CREATE TABLE search_index (entity_id int PRIMARY KEY, sku text, price numeric(12,2));
SELECT staging.create_changelog('search', 'catalog_product_entity') AS changelog;
\o /dev/null
SELECT staging.subscribe('search', 'catalog_product_entity_decimal', ARRAY['value']);
SELECT staging.add_consumer('search', 'search_indexer');
\o
UPDATE catalog_product_entity_decimal SET value = 17.90 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'tee-red');
UPDATE catalog_product_entity_decimal SET value = 16.90 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'tee-red');
UPDATE catalog_product_entity_decimal SET value = 49.00 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'hoodie');
UPDATE catalog_product_entity SET type_id = 'configurable' WHERE sku = 'tee-blue';
SELECT changelog, consumer, pending_entities FROM staging.changelog_status;
-- The indexer's loop: take a batch, reindex it, finish it in the same
-- transaction (exactly once; a crash before COMMIT redelivers the batch).
BEGIN;
CREATE TEMP TABLE batch ON COMMIT DROP AS
    SELECT * FROM staging.next_batch('search', 'search_indexer', 100);
SELECT batch_id, entity_id AS changed_entity FROM batch ORDER BY entity_id;
INSERT INTO search_index
SELECT p.entity_id, p.sku, price.value
  FROM batch b
  JOIN catalog_product_entity p ON p.entity_id = b.entity_id
  LEFT JOIN catalog_product_entity_decimal price
    ON price.row_id = p.row_id AND price.attribute_id = 77
ON CONFLICT (entity_id) DO UPDATE SET sku = excluded.sku, price = excluded.price;
\o /dev/null
SELECT staging.finish_batch('search', 'search_indexer', (SELECT max(batch_id) FROM batch));
\o
COMMIT;
SELECT * FROM search_index ORDER BY entity_id;
SELECT changelog, consumer, pending_entities FROM staging.changelog_status;

\echo '== 7. A campaign with an end: Black Friday prices on tees, and an edit made meanwhile survives both'
SELECT staging.create_update('Black Friday', '2100-11-27 00:00+00', '2100-11-30 00:00+00',
                             '-30% on tees') AS black_friday \gset
-- The editor works at the campaign's version: the tees' prices drop.
SET staging.version = :black_friday;
UPDATE catalog_product_entity_decimal price SET value = 13.90
  FROM catalog_product_entity p
 WHERE price.row_id = p.row_id AND price.attribute_id = 77 AND p.sku LIKE 'tee-%';
RESET staging.version;
-- Meanwhile, at the live version, the merchant renames a tee's SKU.
UPDATE catalog_product_entity SET sku = 'tee-red-organic' WHERE sku = 'tee-red';
CREATE FUNCTION pg_temp.shop(version text)
RETURNS TABLE (entity_id int, sku text, price numeric) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('staging.version', version, true);
    RETURN QUERY SELECT p.entity_id, p.sku, d.value
      FROM catalog_product_entity p
      JOIN catalog_product_entity_decimal d ON d.row_id = p.row_id AND d.attribute_id = 77
     ORDER BY p.entity_id;
END $$;
SELECT * FROM pg_temp.shop('live');
-- Black Friday goes live (the scheduler would do this on time) ...
SELECT staging.to_timestamp(staging.advance('2100-11-27 00:00+00')) AS live_since;
SELECT * FROM pg_temp.shop('live');
-- ... and ends: the regular prices are back, the new SKU stays.
SELECT staging.to_timestamp(staging.advance('2100-11-30 00:00+00')) AS live_since;
SELECT * FROM pg_temp.shop('live');
