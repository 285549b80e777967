-- Merchant tools: staging.diff, staging.update_overview, live-only tables.
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE SCHEMA mt;
SET search_path = mt, public;
CREATE TABLE product (
    entity_id bigint PRIMARY KEY,
    sku       text NOT NULL,
    price     numeric(12,2),
    note      text
);
CREATE TABLE product_decimal (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    bigint NOT NULL REFERENCES product ON DELETE CASCADE,
    value        numeric(12,2),
    UNIQUE (entity_id, attribute_id, store_id)
);
CREATE TABLE product_gallery (          -- no key on row_id: rows known by their values
    entity_id bigint NOT NULL REFERENCES product ON DELETE CASCADE,
    image     text
);
INSERT INTO product SELECT e, 'sku-' || e, 10 * e FROM generate_series(1, 5) e;
INSERT INTO product_decimal (attribute_id, entity_id, value)
SELECT 77, e, e FROM generate_series(1, 5) e;
INSERT INTO product_gallery VALUES (1, 'a.jpg');
\o /dev/null
SELECT staging.enable_versioning('product');
SELECT staging.add_attribute_table('product_decimal', 'product');
SELECT staging.add_attribute_table('product_gallery', 'product');
\o
CREATE TABLE plain (id int);

-- Black Friday (temporary) changes 1 and 2, deletes 3, adds 6; New Year
-- (permanent, later) changes 4.
SELECT staging.create_update('Black Friday', '2100-11-26 00:00+00', '2100-11-29 00:00+00') AS bf \gset
SELECT staging.create_update('New Year', '2101-01-01 00:00+00') AS ny \gset
SET staging.version = :bf;
UPDATE product SET price = 7 WHERE entity_id = 1;
UPDATE product_decimal d SET value = 0.5 FROM product p
 WHERE d.row_id = p.row_id AND p.entity_id = 2;
INSERT INTO product_decimal (attribute_id, store_id, row_id, value)
SELECT 77, 1, row_id, 1.5 FROM product WHERE entity_id = 2;
INSERT INTO product_gallery SELECT row_id, 'b.jpg' FROM product WHERE entity_id = 1;
DELETE FROM product WHERE entity_id = 3;
INSERT INTO product (entity_id, sku, price) VALUES (6, 'sku-6', 60);
SET staging.version = :ny;
UPDATE product SET note = 'new', sku = 'SKU-4' WHERE entity_id = 4;
RESET staging.version;

-- What changes on Black Friday: per entity, each changed field.
SELECT * FROM staging.diff('product', staging.live_version(), :bf);
-- The other way round: old and new swap, added and removed too.
SELECT * FROM staging.diff('product', :bf, staging.live_version());
-- After the end, Black Friday is gone: only New Year's change is left.
SELECT * FROM staging.diff('product', staging.live_version(), :ny);
SELECT * FROM staging.diff('product', :bf, :ny);
-- The same version, and a temporary update seen from before to after its
-- end (without New Year): no difference.
SELECT count(*) FROM staging.diff('product', :bf, :bf);
SELECT count(*) FROM staging.diff('product', 1, staging.to_version('2100-12-01 00:00+00'));
-- The session version is restored, also after an error.
SELECT current_setting('staging.version');
BEGIN;
SET LOCAL staging.version = :bf;
SELECT count(*) FROM staging.diff('product', 1, :ny);
SELECT current_setting('staging.version') = :'bf' AS restored;
SELECT count(*) FROM product;
ROLLBACK;

-- Bad input.
\set VERBOSITY default
SELECT * FROM staging.diff(NULL, 1, 2);
SELECT * FROM staging.diff('product', NULL, 2);
SELECT * FROM staging.diff('product', 1, NULL);
SELECT * FROM staging.diff('product', 0, 2);
SELECT * FROM staging.diff('product', 1, staging.max_version());
SELECT * FROM staging.diff('product', -5, 2);
SELECT * FROM staging.diff('plain', 1, 2);
SELECT * FROM staging.diff('product_decimal', 1, 2);
SELECT * FROM staging.diff('no_such_table', 1, 2);
\set VERBOSITY terse

-- update_overview: status, times, entities per versioned table.
SELECT name, status, start_time, end_time, table_name, entities FROM staging.update_overview;

-- A storefront without preview rights: no diff of the future, no overview.
CREATE ROLE regress_mt_shop;
GRANT USAGE ON SCHEMA mt TO regress_mt_shop;
GRANT SELECT ON ALL TABLES IN SCHEMA mt TO regress_mt_shop;
SET ROLE regress_mt_shop;
SELECT * FROM staging.diff('product', staging.live_version(), :bf);
SELECT * FROM staging.diff('product', :bf, 1);
SELECT * FROM staging.diff('product', 1, :ny);
SELECT * FROM staging.update_overview;
SELECT staging._update_entities('product', :bf, NULL) AS direct_call;
-- The past and the live version are for everyone.
SELECT count(*) FROM staging.diff('product', 1, 1);
RESET ROLE;
-- With SELECT on the overview but no preview rights: the counts of
-- scheduled updates stay hidden (NULL).
GRANT SELECT ON staging.update_overview TO regress_mt_shop;
SET ROLE regress_mt_shop;
SELECT name, status, table_name, entities FROM staging.update_overview;
RESET ROLE;
-- With a preview token for Black Friday: that version only.
SELECT staging.sign_preview(:bf) AS token \gset
SET ROLE regress_mt_shop;
SELECT staging.preview(:'token') = :bf AS previewing;
SELECT count(*) AS changes FROM staging.diff('product', 1, :bf);
SELECT * FROM staging.diff('product', 1, :ny);
SELECT sku AS still_previewing FROM product WHERE entity_id = 6;   -- exists at Black Friday only
RESET staging.version;
RESET ROLE;
REVOKE SELECT ON staging.update_overview FROM regress_mt_shop;

-- Live-only tables: orders may not be written while previewing.
CREATE TABLE orders (id int PRIMARY KEY, sku text);
CREATE TABLE quotes (id int);
SELECT staging.live_only('orders');
SELECT staging.live_only('orders');      -- again: nothing changes
SELECT * FROM staging.live_only_tables;
-- A disabled trigger shows: the table is not protected then.
ALTER TABLE orders DISABLE TRIGGER staging_live_only;
SELECT table_name, enforced FROM staging.live_only_tables;
ALTER TABLE orders ENABLE TRIGGER staging_live_only;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON orders TO regress_mt_shop;
INSERT INTO orders VALUES (1, 'sku-1');
SET staging.version = :bf;
\set VERBOSITY default
INSERT INTO orders VALUES (2, 'sku-2');
\set VERBOSITY terse
UPDATE orders SET sku = 'x';
DELETE FROM orders;
INSERT INTO orders VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET sku = 'y';
COPY orders FROM stdin;
3	sku-3
\.
MERGE INTO orders o USING (VALUES (1)) v(id) ON o.id = v.id WHEN MATCHED THEN UPDATE SET sku = 'z';
MERGE INTO orders o USING (VALUES (9)) v(id) ON o.id = v.id WHEN NOT MATCHED THEN INSERT VALUES (9, 'z');
TRUNCATE orders;
-- 'all' and a version before now (after the live one) are not live either.
SET staging.version = 'all';
INSERT INTO orders VALUES (2, 'sku-2');
SET staging.version = 1000;
INSERT INTO orders VALUES (2, 'sku-2');
-- Reading is fine; other tables are not concerned.
SELECT * FROM orders;
INSERT INTO quotes VALUES (1);
-- A storefront previewing Saturday cannot place an order.
RESET staging.version;
SELECT staging.sign_preview(staging.to_version('2100-11-27 12:00+00')) AS token \gset
SET ROLE regress_mt_shop;
SELECT staging.preview(:'token') IS NOT NULL AS previewing;
INSERT INTO orders VALUES (2, 'sku-2');
-- A function of the owner does not help.
RESET staging.version;
RESET ROLE;
CREATE FUNCTION place_order(int) RETURNS void LANGUAGE sql SECURITY DEFINER
    AS 'INSERT INTO mt.orders VALUES ($1, ''via function'')';
GRANT EXECUTE ON FUNCTION place_order(int) TO regress_mt_shop;
SET ROLE regress_mt_shop;
SELECT staging.preview(:'token') IS NOT NULL AS previewing;
SELECT place_order(2);
-- At live: every kind of write passes.
RESET staging.version;
SELECT place_order(2);
INSERT INTO orders VALUES (3, 'sku-3');
UPDATE orders SET sku = 'upd' WHERE id = 3;
MERGE INTO orders o USING (VALUES (3)) v(id) ON o.id = v.id WHEN MATCHED THEN DELETE;
COPY orders FROM stdin;
4	sku-4
\.
DELETE FROM orders WHERE id = 4;
SELECT * FROM orders ORDER BY id;
-- Only the owner marks and unmarks, and any owner may.
SELECT staging.live_only('orders', false);
SELECT staging.live_only('quotes');
RESET ROLE;
GRANT CREATE ON SCHEMA mt TO regress_mt_shop;
SET ROLE regress_mt_shop;
CREATE TABLE mt.carts (id int);
SELECT staging.live_only('mt.carts');
SET staging.version = 1000;
INSERT INTO mt.carts VALUES (1);
RESET staging.version;
SELECT staging.live_only('mt.carts', false);
DROP TABLE mt.carts;
RESET ROLE;
-- A pinned version equal to the live version reads live: allowed.
SELECT set_config('staging.version', staging.live_version()::text, false) IS NOT NULL AS pinned;
INSERT INTO orders VALUES (5, 'pinned');
RESET staging.version;
-- A transaction-local preview ends with the transaction.
BEGIN;
SELECT staging.preview(:'token', true) IS NOT NULL AS previewing;
INSERT INTO orders VALUES (6, 'x');
ROLLBACK;
INSERT INTO orders VALUES (6, 'after');
TRUNCATE orders;
-- Unmarking restores writes in previews.
SELECT staging.live_only('orders', false);
SELECT staging.live_only('orders', false);   -- again: nothing changes
SELECT * FROM staging.live_only_tables;
SET staging.version = :bf;
INSERT INTO orders VALUES (7, 'unmarked');
RESET staging.version;
SELECT * FROM orders;

-- Bad input for live_only.
\set VERBOSITY default
SELECT staging.live_only(NULL);
SELECT staging.live_only('orders', NULL);
SELECT staging.live_only('product');
SELECT staging.live_only('product_decimal');
SELECT staging.live_only('sequence_product');
CREATE VIEW orders_view AS SELECT * FROM orders;
SELECT staging.live_only('orders_view');
SELECT staging.live_only('no_such_table');
-- The extension's own tables are written by its functions.
SELECT staging.live_only('staging.updates');
SELECT staging.live_only('staging.live_state');
SELECT count(*) FROM staging.live_only_tables;
\set VERBOSITY terse
-- The guard is a statement trigger only.
CREATE TRIGGER wrong BEFORE INSERT ON quotes FOR EACH ROW EXECUTE FUNCTION staging._live_only_guard();
INSERT INTO quotes VALUES (2);
DROP TRIGGER wrong ON quotes;
-- A trigger of the table's own that has the mark's name is neither taken
-- for the mark nor dropped by unmarking.
CREATE FUNCTION quotes_audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER staging_live_only AFTER INSERT ON quotes FOR EACH STATEMENT EXECUTE FUNCTION quotes_audit();
\set VERBOSITY default
SELECT staging.live_only('quotes');
SELECT staging.live_only('quotes', false);
\set VERBOSITY terse
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'quotes'::regclass AND tgname = 'staging_live_only';
SELECT count(*) FROM staging.live_only_tables;
DROP TRIGGER staging_live_only ON quotes;
DROP FUNCTION quotes_audit();
-- The trigger is the mark: clone_schema copies it with the table.
CREATE SCHEMA mt_shop;
CREATE TABLE mt_shop.carts (id int);
SELECT staging.live_only('mt_shop.carts');
SELECT staging.clone_schema('mt_shop', 'mt_shop_import') IS NOT NULL AS cloned;
SELECT * FROM staging.live_only_tables ORDER BY table_name::text;
SET staging.version = :bf;
INSERT INTO mt_shop_import.carts VALUES (1);
RESET staging.version;
DROP SCHEMA mt_shop, mt_shop_import CASCADE;
-- DROP TABLE forgets the mark.
SELECT staging.live_only('quotes');
SELECT table_name FROM staging.live_only_tables;
DROP TABLE quotes;
SELECT count(*) FROM staging.live_only_tables;
-- A live-only table is not made versioned (or an attribute table): its
-- mark would refuse the writes of updates at their start; unmark it first.
CREATE TABLE carts (entity_id bigint PRIMARY KEY, total numeric);
CREATE TABLE cart_items (entity_id bigint NOT NULL REFERENCES sequence_product, sku text);
SELECT staging.live_only('carts');
SELECT staging.live_only('cart_items');
\set VERBOSITY default
SELECT staging.enable_versioning('carts');
SELECT staging.add_attribute_table('cart_items', 'product');
\set VERBOSITY terse
SELECT staging.versioned_kind('carts') AS carts, staging.versioned_kind('cart_items') AS cart_items;
SELECT table_name FROM staging.live_only_tables ORDER BY table_name::text;
SELECT staging.live_only('carts', false);
SELECT staging.enable_versioning('carts');
SELECT staging.create_update('Cart sale', '2100-12-24 00:00+00') AS cart_sale \gset
SET staging.version = :cart_sale;
INSERT INTO carts VALUES (1, 10);
RESET staging.version;
SELECT staging.delete_update(:cart_sale);
DROP TABLE carts, sequence_carts, cart_items;
-- A partitioned table: its partitions are marked with it, so a write
-- straight into a partition is refused too (a statement trigger of the
-- partitioned table does not fire for it); unmarking unmarks them.
CREATE TABLE payments (id int, region int) PARTITION BY LIST (region);
CREATE TABLE payments_eu PARTITION OF payments FOR VALUES IN (1) PARTITION BY LIST (id);
CREATE TABLE payments_eu_1 PARTITION OF payments_eu FOR VALUES IN (1);
CREATE TABLE payments_us PARTITION OF payments FOR VALUES IN (2);
SELECT staging.live_only('payments');
SELECT table_name FROM staging.live_only_tables ORDER BY table_name::text;
SET staging.version = :bf;
INSERT INTO payments VALUES (1, 1);
INSERT INTO payments_eu_1 VALUES (1, 1);
INSERT INTO payments_us VALUES (1, 2);
RESET staging.version;
INSERT INTO payments_us VALUES (1, 2);
-- A partition is marked and unmarked with its partitioned table only (a
-- write through the partitioned table does not fire its trigger).
\set VERBOSITY default
SELECT staging.live_only('payments_eu_1', false);
\set VERBOSITY terse
SELECT staging.live_only('payments_us');
-- A partition of another owner stops its owner, and nothing is marked.
SELECT staging.live_only('payments', false);
CREATE ROLE regress_mt_clerk;
GRANT USAGE ON SCHEMA mt TO regress_mt_clerk;
ALTER TABLE payments OWNER TO regress_mt_clerk;
ALTER TABLE payments_eu OWNER TO regress_mt_clerk;
ALTER TABLE payments_eu_1 OWNER TO regress_mt_clerk;
ALTER TABLE payments_us OWNER TO regress_mt_shop;
SET ROLE regress_mt_clerk;
\set VERBOSITY default
SELECT staging.live_only('payments');
\set VERBOSITY terse
RESET ROLE;
SELECT count(*) FROM staging.live_only_tables;
ALTER TABLE payments_us OWNER TO regress_mt_clerk;
SET ROLE regress_mt_clerk;
SELECT staging.live_only('payments');
RESET ROLE;
-- A partition created later is marked once live_only is called again.
CREATE TABLE payments_ap PARTITION OF payments FOR VALUES IN (3);
SELECT staging.live_only('payments');
SELECT table_name FROM staging.live_only_tables ORDER BY table_name::text;
SELECT staging.live_only('payments', false);
SELECT count(*) FROM staging.live_only_tables;
DROP TABLE payments;
DROP OWNED BY regress_mt_clerk;
DROP ROLE regress_mt_clerk;

-- Going live: the statuses follow the live version, and history is for
-- everyone to diff.
SELECT staging.advance('2100-11-27 12:00+00') = :bf AS bf_live;
SELECT name, status, table_name, entities FROM staging.update_overview;
SELECT staging.advance('2101-01-01 00:00+00') = :ny AS ny_live;
SELECT name, status, table_name, entities FROM staging.update_overview;
SELECT staging.create_update('Spring', '2101-03-01 00:00+00') AS spring \gset
SET staging.version = :spring;
UPDATE product SET price = 1 WHERE entity_id = 5;
RESET staging.version;
SELECT staging.advance('2101-03-01 00:00+00') = :spring AS spring_live;
SELECT name, status, table_name, entities FROM staging.update_overview;
SET ROLE regress_mt_shop;
SELECT * FROM staging.diff('product', 1, :bf);
SELECT count(*) AS since_bf FROM staging.diff('product', :bf, staging.live_version());
RESET ROLE;

-- An attribute table whose unique key on row_id holds all its columns
-- (a product's categories): a row is there or not, its value 'present'.
CREATE TABLE product_category (
    entity_id   bigint NOT NULL REFERENCES sequence_product,
    category_id int NOT NULL,
    UNIQUE (entity_id, category_id)
);
\o /dev/null
SELECT staging.add_attribute_table('product_category', 'product');
\o
INSERT INTO product_category SELECT row_id, 10 FROM product WHERE entity_id = 5;
SELECT staging.create_update('Summer', '2101-06-01 00:00+00') AS summer \gset
SET staging.version = :summer;
INSERT INTO product_category SELECT row_id, 20 FROM product WHERE entity_id = 5;
DELETE FROM product_category WHERE category_id = 10;
RESET staging.version;
SELECT * FROM staging.diff('product', staging.live_version(), :summer);
-- So is a row of an attribute table without a key (named by its values):
-- one added with a NULL value shows, as 'present', and so does one removed.
SET staging.version = :summer;
INSERT INTO product_gallery SELECT row_id, NULL FROM product WHERE entity_id = 5;
RESET staging.version;
SELECT * FROM staging.diff('product', staging.live_version(), :summer) WHERE field LIKE 'product_gallery:%';
SELECT * FROM staging.diff('product', :summer, staging.live_version()) WHERE field LIKE 'product_gallery:%';

-- An attribute table's own columns named created_in or updated_in are
-- values like any other (only the main table has version columns).
CREATE TABLE product_review (
    entity_id  bigint NOT NULL REFERENCES sequence_product,
    store_id   int NOT NULL,
    created_in date,
    updated_in date,
    UNIQUE (entity_id, store_id)
);
\o /dev/null
SELECT staging.add_attribute_table('product_review', 'product');
\o
INSERT INTO product_review SELECT row_id, 0, '2100-01-01', NULL FROM product WHERE entity_id = 5;
SET staging.version = :summer;
UPDATE product_review SET created_in = '2101-05-01', updated_in = '2101-05-02';
RESET staging.version;
SELECT * FROM staging.diff('product', staging.live_version(), :summer) WHERE field LIKE 'product_review:%';

-- Clean up: this database's live version goes back to the beginning for
-- the tests that follow.
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
DROP SCHEMA mt CASCADE;
DROP OWNED BY regress_mt_shop;
DROP ROLE regress_mt_shop;
