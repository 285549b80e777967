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

\echo '== 3. An indexer learns which products changed (changelog, next_batch / finish_batch)'
-- The search indexer watches products and their prices; a price "change"
-- to the same value is not a change, and tee-red changed twice but is
-- indexed once.
CREATE TABLE search_index (entity_id int PRIMARY KEY, sku text, price numeric(12,2));
SELECT staging.create_changelog('search', 'catalog_product_entity') AS changelog;
\o /dev/null
SELECT staging.subscribe('search', 'catalog_product_entity_decimal', ARRAY['value']);
SELECT staging.add_consumer('search', 'search_indexer');
\o
UPDATE catalog_product_entity_decimal SET value = 17.90 WHERE entity_id = 1 AND attribute_id = 77;
UPDATE catalog_product_entity_decimal SET value = 16.90 WHERE entity_id = 1 AND attribute_id = 77;
UPDATE catalog_product_entity_decimal SET value = 49.00 WHERE entity_id = 3 AND attribute_id = 77;
INSERT INTO catalog_product_entity (sku) VALUES ('cap');
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
    ON price.entity_id = p.entity_id AND price.attribute_id = 77
ON CONFLICT (entity_id) DO UPDATE SET sku = excluded.sku, price = excluded.price;
\o /dev/null
SELECT staging.finish_batch('search', 'search_indexer', (SELECT max(batch_id) FROM batch));
\o
COMMIT;
SELECT * FROM search_index ORDER BY entity_id;
SELECT changelog, consumer, pending_entities FROM staging.changelog_status;
