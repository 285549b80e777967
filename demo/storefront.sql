-- The storefront demo: what a merchant sees, step by step.
-- Run it with tools/demo (a throwaway cluster with staging preloaded).
\pset footer off
\set QUIET on
\echo
\echo '== 1. A shop database with the staging extension (library preloaded)'
CREATE DATABASE shop;
\c -reuse-previous=on dbname=shop
\set QUIET on
CREATE EXTENSION staging;
SELECT extname AS extension, extversion AS version, staging.live_version() AS live_version
  FROM pg_extension WHERE extname = 'staging';

\echo '== 2. The catalog: products with EAV attributes, as Magento keeps them'
CREATE SCHEMA catalog;
SET search_path = catalog, public;
CREATE TABLE catalog_product_entity (
    entity_id  serial PRIMARY KEY,
    sku        text NOT NULL,
    type_id    text NOT NULL DEFAULT 'simple'
);
CREATE TABLE catalog_product_entity_decimal (   -- attribute 77: price
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
\echo '== 3. Versioning the catalog: each product row becomes one version of its entity'
\o /dev/null
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_decimal', 'catalog_product_entity');
\o
-- What the storefront shows, whatever version the session reads: prices
-- now hang off row_id, each version row has its own.
CREATE VIEW storefront AS
SELECT p.entity_id, p.sku, price.value AS price
  FROM catalog_product_entity p
  LEFT JOIN catalog_product_entity_decimal price
    ON price.row_id = p.row_id AND price.attribute_id = 77
 ORDER BY p.entity_id;
SELECT table_name, entity_column, sequence_table, attribute_tables, entities, rows
  FROM staging.versioned_tables;
SELECT entity_id, row_id, sku, created_in, updated_in = staging.max_version() AS open_ended
  FROM catalog_product_entity ORDER BY entity_id;
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');

\echo '== 4. The search indexer subscribes: it will learn exactly which products change'
CREATE TABLE public.search_index (entity_id int PRIMARY KEY, sku text, price numeric(12,2));
\o /dev/null
SELECT staging.create_changelog('search', 'catalog_product_entity');
SELECT staging.subscribe('search', 'catalog_product_entity_decimal', ARRAY['value']);
SELECT staging.add_consumer('search', 'search_indexer');
\o
-- The indexer's loop: take a batch, reindex it, finish it in the same
-- transaction (exactly once; a crash before COMMIT redelivers the batch).
CREATE FUNCTION public.reindex() RETURNS TABLE (batch bigint, reindexed int[])
LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
    ids int[];
BEGIN
    SELECT max(batch_id), array_agg(entity_id ORDER BY entity_id) INTO b, ids
      FROM staging.next_batch('search', 'search_indexer', 100);
    IF b IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO public.search_index
    SELECT s.entity_id, s.sku, s.price FROM catalog.storefront s
     WHERE s.entity_id = ANY (ids)
    ON CONFLICT (entity_id) DO UPDATE SET sku = excluded.sku, price = excluded.price;
    PERFORM staging.finish_batch('search', 'search_indexer', b);
    RETURN QUERY SELECT b, ids;
END $$;
-- A price "changed" to the same value is no change; tee-red, changed twice
-- in one transaction, is logged once.
BEGIN;
UPDATE catalog_product_entity_decimal SET value = 18.90 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'tee-red');
UPDATE catalog_product_entity_decimal SET value = 17.90 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'tee-red');
UPDATE catalog_product_entity_decimal SET value = 49.00 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'hoodie');
COMMIT;
SELECT changelog, consumer, pending_entities FROM staging.changelog_status;
SELECT * FROM public.reindex();

\echo '== 5. A campaign with an end: Black Friday, -30% on tees, from Friday 00:00 to Monday'
SELECT staging.create_update('Black Friday', '2100-11-26 00:00+00', '2100-11-29 00:00+00',
                             '-30% on tees') AS black_friday \gset
SELECT id, name, start_time, end_time, rollback_id FROM staging.updates;
-- The editor works at the campaign's version: what you see is what you edit.
SET staging.version = :black_friday;
UPDATE catalog_product_entity_decimal price SET value = round(value * 0.7, 2)
  FROM catalog_product_entity p
 WHERE price.row_id = p.row_id AND price.attribute_id = 77 AND p.sku LIKE 'tee-%';
SELECT * FROM storefront;
RESET staging.version;
-- Meanwhile, at the live version, the merchant renames a tee and raises the
-- hoodie's price.  The shop shows it at once; the campaign is still hidden.
UPDATE catalog_product_entity SET sku = 'tee-red-organic' WHERE sku = 'tee-red';
UPDATE catalog_product_entity_decimal SET value = 54.00 WHERE attribute_id = 77
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'hoodie');
SELECT * FROM storefront;
-- Writes at the future version are not for the indexer yet; the live edits are.
SELECT * FROM public.reindex();

\echo '-- What will change on Black Friday?  staging.diff answers, field by field'
SELECT * FROM staging.diff('catalog_product_entity', staging.live_version(), :black_friday);
SELECT name, status, start_time, end_time, table_name, entities FROM staging.update_overview;

\echo '== 6. Preview: the storefront role opens a signed link to Saturday'
CREATE ROLE storefront_app;
GRANT USAGE ON SCHEMA catalog TO storefront_app;
GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO storefront_app;
SET ROLE storefront_app;
SET staging.version = '2100-11-27 12:00+00';
DO $$
BEGIN
    PERFORM * FROM catalog.storefront;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'without a token: % (SQLSTATE %)', SQLERRM, SQLSTATE;
END $$;
RESET staging.version;
RESET ROLE;
-- An editor (here the superuser) signs a link valid for one hour ...
SELECT staging.sign_preview(staging.to_version('2100-11-27 12:00+00'), '1 hour') AS token \gset
SELECT left(:'token', 30) || '...' AS preview_token;
-- ... and the storefront opens it: this session reads that version only.
-- Orders are live side effects: the shop marks its orders table live-only.
CREATE TABLE public.orders (id serial PRIMARY KEY, sku text NOT NULL, price numeric(12,2));
\o /dev/null
SELECT staging.live_only('public.orders');
\o
GRANT SELECT, INSERT ON public.orders TO storefront_app;
GRANT USAGE ON SEQUENCE public.orders_id_seq TO storefront_app;
SET ROLE storefront_app;
SELECT staging.to_timestamp(staging.preview(:'token')) AS previewing;
SELECT * FROM storefront;
\echo '-- Previewing Saturday, the storefront cannot place an order'
DO $$
BEGIN
    INSERT INTO public.orders (sku, price)
    SELECT sku, price FROM catalog.storefront WHERE sku = 'tee-blue';
EXCEPTION WHEN read_only_sql_transaction THEN
    RAISE NOTICE 'order refused: % (SQLSTATE %)', SQLERRM, SQLSTATE;
END $$;
RESET staging.version;
\echo '-- Back at the live version, the order goes through (at the live price)'
INSERT INTO public.orders (sku, price)
SELECT sku, price FROM catalog.storefront WHERE sku = 'tee-blue' RETURNING *;
RESET ROLE;

\echo '== 7. Going live on time: the scheduler calls advance(); here we call it for Saturday'
-- (With staging.scheduler_databases = 'shop' the background worker does this
-- every staging.scheduler_naptime seconds, no one touching a button.)
SELECT staging.to_timestamp(staging.advance('2100-11-27 12:00+00')) AS live_since;
SELECT * FROM storefront;
-- The indexer learns exactly which products changed with the campaign.
SELECT * FROM public.reindex();
\echo '-- Monday: the campaign ends; regular prices are back, the edits made meanwhile stay'
SELECT staging.to_timestamp(staging.advance('2100-11-29 12:00+00')) AS live_since;
SELECT * FROM storefront;
SELECT * FROM public.reindex();
SELECT * FROM public.search_index ORDER BY entity_id;
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');

\echo '== 8. A full catalog import beside the live one: clone, import, compare, swap, swap back'
\o /dev/null
SELECT staging.clone_schema('catalog', 'catalog_import');
\o
-- The nightly import fills the copy while the shop keeps serving the live one.
INSERT INTO catalog_import.catalog_product_entity (entity_id, sku)
VALUES (1, 'tee-red-organic'), (2, 'tee-blue'), (3, 'hoodie'), (4, 'cap');
INSERT INTO catalog_import.catalog_product_entity_decimal (attribute_id, row_id, value)
SELECT 77, row_id, price
  FROM catalog_import.catalog_product_entity
  JOIN (VALUES (1, 21.90), (2, 21.90), (3, 59.00), (4, 12.00)) AS v(id, price) ON id = entity_id;
\echo '-- compare: row counts per table; long steps report progress as NOTICEs (here every step)'
SET staging.progress_interval = 0;
\set VERBOSITY terse
SELECT * FROM staging.compare_schemas('catalog', 'catalog_import');
\set VERBOSITY default
RESET staging.progress_interval;
-- A prepared statement of the storefront, prepared before the swap.
PREPARE shop_page AS SELECT sku, price FROM catalog.storefront;
\echo '-- swap: refused if a table differs by more than 50 %, or if a lock cannot be had'
\o /dev/null
SELECT staging.swap_schemas('catalog', 'catalog_import', max_difference_pct => 50);
\o
\echo '-- the same prepared statement after the swap: the import is live'
EXECUTE shop_page;
\echo '-- caches learn about it after the commit (LISTEN staging_invalidation)'
SELECT kind, detail FROM staging.invalidations ORDER BY id DESC LIMIT 1;
\echo '-- something is wrong with the import: swap back, the old catalog is live again'
\o /dev/null
SELECT staging.swap_schemas('catalog', 'catalog_import');
\o
EXECUTE shop_page;
