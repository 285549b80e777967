-- Scheduled updates (campaigns): create_update, reschedule_update,
-- delete_update and advance, on a small catalog written at the updates'
-- versions.
SET timezone = 'UTC';
CREATE SCHEMA upd;
SET search_path = upd, public;
-- Every row of every version: this test lays out and inspects version rows.
SET staging.version = 'all';
CREATE TABLE sequence_product (sequence_value bigint PRIMARY KEY);
CREATE TABLE product (
    row_id     bigserial PRIMARY KEY,
    entity_id  bigint NOT NULL REFERENCES sequence_product,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL,
    sku        text NOT NULL,
    price      numeric(12,2),
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (int8range(entity_id, entity_id, '[]') WITH =,
                        int8range(created_in, updated_in) WITH &&)
        DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX ON product (entity_id);
CREATE INDEX ON product (created_in);
CREATE INDEX ON product (updated_in);
CREATE TABLE product_varchar (
    value_id     serial PRIMARY KEY,
    row_id       bigint NOT NULL REFERENCES product ON DELETE CASCADE,
    attribute_id int NOT NULL,
    value        text,
    UNIQUE (row_id, attribute_id)
);
INSERT INTO staging.versioned_table VALUES ('product', 'entity_id', 'sequence_product');
INSERT INTO staging.attribute_table VALUES ('product_varchar', 'product', 'entity_id');
SELECT staging._enable_versioned_writes('product');
INSERT INTO sequence_product VALUES (1), (2), (3);
INSERT INTO product (entity_id, created_in, updated_in, sku, price)
SELECT e, 1, staging.max_version(), 'sku-' || e, 10 * e FROM generate_series(1, 3) e;
INSERT INTO product_varchar (row_id, attribute_id, value)
SELECT row_id, 73, 'Product ' || entity_id FROM product;

-- The timeline of each entity, versions as times (max = the open end).
CREATE VIEW timeline AS
SELECT p.entity_id,
       CASE WHEN p.created_in = 1 THEN 'beginning'
            ELSE to_char(staging.to_timestamp(p.created_in), 'YYYY-MM-DD HH24:MI') END AS from_time,
       CASE WHEN p.updated_in = staging.max_version() THEN 'max'
            ELSE to_char(staging.to_timestamp(p.updated_in), 'YYYY-MM-DD HH24:MI') END AS until_time,
       p.price, v.value AS name
  FROM product p LEFT JOIN product_varchar v ON v.row_id = p.row_id AND v.attribute_id = 73
 ORDER BY p.entity_id, p.created_in;

-- Every entity's versions follow each other without gap or overlap, and
-- every version row has its attribute row: no rows when all is well.
CREATE VIEW broken AS
SELECT entity_id, 'gap or overlap before ' || created_in AS problem
  FROM (SELECT entity_id, created_in,
               lag(updated_in) OVER (PARTITION BY entity_id ORDER BY created_in) AS prev_end
          FROM product) s
 WHERE prev_end IS NOT NULL AND prev_end <> created_in
UNION ALL
SELECT p.entity_id, 'no attribute row'
  FROM product p
 WHERE NOT EXISTS (SELECT FROM product_varchar v WHERE v.row_id = p.row_id);

-- Bad schedules are refused with 22023, naming the update.
\set VERBOSITY terse
SELECT staging.create_update('Too late', '2020-01-01 00:00+00');
SELECT staging.create_update('Backwards', '2035-11-23 00:00+00', '2035-11-22 00:00+00');
SELECT staging.create_update('Same second', '2035-11-23 00:00+00', '2035-11-23 00:00:00.5+00');
SELECT staging.create_update(NULL, '2035-11-23 00:00+00');
SELECT staging.create_update('No start', NULL);
SELECT staging.create_update('Forever', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.create_update('Forever', '2035-11-23 00:00+00', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.create_update('Always', '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM staging.updates WHERE name IN ('Forever', 'Always');

-- A temporary sale and a permanent price change.
SELECT staging.create_update('Black Friday', '2035-11-23 00:00+00', '2035-11-26 00:00+00',
                             'Sale on product 1') AS sale \gset
SELECT staging.create_update('New prices', '2035-12-01 00:00:00.75+00') AS prices \gset
SELECT id = :sale AS is_sale, name, description, start_time, end_time,
       rollback_id = staging.to_version(end_time) AS rollback_is_end
  FROM staging.updates ORDER BY id;
-- Another update may not start or end at the same second.
SELECT staging.create_update('Clash', '2035-11-26 00:00:00.2+00');
SELECT staging.reschedule_update(:sale, 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.reschedule_update(:sale, '2035-11-23 00:00+00', 'infinity');
\echo :LAST_ERROR_SQLSTATE

-- Writes at the updates' versions: the sale changes product 1 (its price
-- and its name) from its start until its end, then the product is as
-- before; the new prices change product 2.
SET staging.version = :sale;
UPDATE product SET price = 8 WHERE entity_id = 1;
UPDATE product_varchar SET value = 'Product 1 (sale!)'
 WHERE row_id = (SELECT row_id FROM product WHERE entity_id = 1);
SET staging.version = :prices;
UPDATE product SET price = 25 WHERE entity_id = 2;
SET staging.version = 'all';
SELECT * FROM timeline;
SELECT * FROM broken;

-- Rescheduling moves every change: the sale one day later and longer ...
SELECT staging.reschedule_update(:sale, '2035-11-24 00:00+00', '2035-11-28 00:00+00') AS sale \gset
SELECT * FROM timeline WHERE entity_id = 1;
-- ... and earlier again, shorter.
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-11-21 00:00+00') AS sale \gset
SELECT name, start_time, end_time FROM staging.updates WHERE id = :sale;
SELECT * FROM timeline WHERE entity_id = 1;
SELECT * FROM broken;
-- The sale lowers product 2 too, which the new prices change later.
-- Moved after them, the sale shows its price while it runs and the new
-- prices come back when it ends; moved back, the new prices win from
-- their start.
SET staging.version = :sale;
UPDATE product SET price = 15 WHERE entity_id = 2;
SET staging.version = 'all';
SELECT staging.reschedule_update(:sale, '2035-12-03 00:00+00', '2035-12-04 00:00+00') AS sale \gset
SELECT * FROM timeline WHERE entity_id IN (1, 2);
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-11-21 00:00+00') AS sale \gset
SELECT * FROM timeline WHERE entity_id IN (1, 2);

-- A temporary update made permanent keeps its changes for good; made
-- temporary again, they end with it.
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00');
SELECT * FROM timeline WHERE entity_id IN (1, 2);
SELECT * FROM broken;
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-11-21 00:00+00');
SELECT * FROM timeline WHERE entity_id IN (1, 2);
SELECT * FROM broken;

-- Deleting an update removes every change it made; the timeline is whole.
SELECT staging.create_update('Mistake', '2035-11-22 00:00+00', '2035-11-22 12:00+00') AS mistake \gset
SET staging.version = :mistake;
UPDATE product SET price = 0 WHERE entity_id = 3;
SET staging.version = 'all';
SELECT * FROM timeline WHERE entity_id = 3;
SELECT staging.delete_update(:mistake);
SELECT * FROM timeline WHERE entity_id = 3;
SELECT count(*) AS attribute_rows FROM product_varchar;
SELECT * FROM broken;
SELECT staging.delete_update(:mistake);
SELECT staging.delete_update(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT staging.reschedule_update(NULL, '2036-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE

-- advance() makes due updates live: the sale starts, ...
SELECT staging.live_version();
SELECT staging.advance('2035-11-19 00:00+00') = 1 AS nothing_due;
SELECT staging.advance('infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.advance('-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.advance('2035-11-20 12:00+00') = :sale AS sale_live;
SELECT staging.live_version() = :sale AS live_is_sale;
SELECT staging.advance('2035-11-20 12:00+00') = :sale AS again_the_same;
-- ... then it can only end differently, not start again or be deleted ...
SELECT staging.reschedule_update(:sale, '2035-11-20 06:00+00', '2035-11-21 00:00+00');
SELECT staging.delete_update(:sale);
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-11-19 00:00+00');
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-11-21 06:00+00');
SELECT * FROM timeline WHERE entity_id = 1;
-- ... then it ends, and later the new prices go live, both in one call.
SELECT staging.advance('2035-12-31 00:00+00') = :prices AS prices_live;
SELECT staging.reschedule_update(:sale, '2035-11-20 00:00+00', '2035-12-31 06:00+00');
-- A schedule may not start before the live version.
SELECT staging.create_update('Before live', '2035-11-30 00:00+00');
SELECT * FROM broken;

-- Only what is scheduled in staging.updates goes live; the functions are
-- not for everyone.
CREATE ROLE upd_clerk;
SET ROLE upd_clerk;
SELECT staging.advance();
SELECT staging.create_update('Clerk', '2036-01-01 00:00+00');
SELECT count(*) FROM staging.updates;
RESET ROLE;
DROP ROLE upd_clerk;

-- Clean up: this database's live version goes back to the beginning for
-- the tests that follow.
\set VERBOSITY default
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
DELETE FROM staging.versioned_table WHERE relid = 'product'::regclass;
DROP SCHEMA upd CASCADE;
