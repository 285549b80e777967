-- Versioned writes follow the session version (staging.version): the
-- issue's scenarios on a Magento-like catalog (main table + EAV attribute
-- tables).
SET timezone = 'UTC';
CREATE SCHEMA wv;
SET search_path = wv, public;
CREATE TABLE sequence_catalog_product_entity (sequence_value bigint PRIMARY KEY);
CREATE TABLE catalog_product_entity (
    row_id      bigserial PRIMARY KEY,
    entity_id   bigint NOT NULL REFERENCES sequence_catalog_product_entity,
    created_in  bigint NOT NULL DEFAULT 1,
    updated_in  bigint NOT NULL DEFAULT staging.max_version(),
    sku         text NOT NULL,
    price       numeric(12,2),
    description text,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (int8range(entity_id, entity_id, '[]') WITH =,
                        int8range(created_in, updated_in) WITH &&)
        DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX ON catalog_product_entity (entity_id);
CREATE INDEX ON catalog_product_entity (created_in);
CREATE INDEX ON catalog_product_entity (updated_in);
CREATE TABLE catalog_product_entity_varchar (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    row_id       bigint NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE,
    value        text,
    UNIQUE (row_id, attribute_id, store_id)
);
INSERT INTO sequence_catalog_product_entity SELECT generate_series(1, 10);
INSERT INTO catalog_product_entity (entity_id, sku, price, description)
SELECT e, 'sku-' || e, 10 * e, 'Description ' || e FROM generate_series(1, 5) e;
INSERT INTO catalog_product_entity_varchar (attribute_id, row_id, value)
SELECT 73, row_id, 'Product ' || entity_id FROM catalog_product_entity;
INSERT INTO staging.versioned_table
VALUES ('catalog_product_entity', 'entity_id', 'sequence_catalog_product_entity');
INSERT INTO staging.attribute_table
VALUES ('catalog_product_entity_varchar', 'catalog_product_entity', 'entity_id');
SELECT staging._enable_versioned_writes('catalog_product_entity');

-- What the shop shows at a version: sku, price, description and name.
CREATE FUNCTION shop(version text)
RETURNS TABLE (e bigint, sku text, price numeric, description text, name text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('staging.version', version, true);
    RETURN QUERY
    SELECT p.entity_id, p.sku, p.price, p.description, n.value
      FROM catalog_product_entity p
      LEFT JOIN catalog_product_entity_varchar n ON n.row_id = p.row_id AND n.attribute_id = 73
     ORDER BY p.entity_id;
END
$$;
-- Every version row, versions named after the updates.
CREATE FUNCTION v(version bigint) RETURNS text LANGUAGE sql STABLE
RETURN CASE WHEN version = 1 THEN 'beginning'
            WHEN version = staging.max_version() THEN 'max'
            ELSE coalesce((SELECT name FROM staging.updates WHERE id = version),
                          (SELECT name || ' ends' FROM staging.updates WHERE rollback_id = version),
                          version::text) END;
CREATE FUNCTION timeline(entities bigint[])
RETURNS TABLE (e bigint, from_v text, until_v text, sku text, price numeric,
               description text, name text)
LANGUAGE sql SET staging.version = 'all' AS $$
SELECT p.entity_id, v(p.created_in), v(p.updated_in), p.sku, p.price, p.description,
       (SELECT string_agg(n.value, ',') FROM catalog_product_entity_varchar n
         WHERE n.row_id = p.row_id)
  FROM catalog_product_entity p
 WHERE p.entity_id = ANY (entities)
 ORDER BY p.entity_id, p.created_in
$$;

-- A permanent update (new prices) and a temporary one (a sale).
SELECT staging.create_update('Sale', '2035-11-23 00:00+00', '2035-11-26 00:00+00') AS sale \gset
SELECT staging.create_update('New prices', '2035-12-01 00:00+00') AS prices \gset
SELECT staging.create_update('Winter', '2036-01-01 00:00+00') AS winter \gset

-- An editor at the sale's version: the price of product 1, the name of
-- product 2 (an EAV attribute), a new product 6 that appears only from
-- that version, and product 3 deleted from that version.  Each write
-- reports what the editor sees.
SET staging.version = :sale;
UPDATE catalog_product_entity SET price = 8 WHERE entity_id = 1 RETURNING entity_id, price;
UPDATE catalog_product_entity_varchar SET value = 'Product 1 on sale'
 WHERE attribute_id = 73 AND row_id = (SELECT row_id FROM catalog_product_entity WHERE entity_id = 1);
UPDATE catalog_product_entity_varchar SET value = 'Product 2 renamed'
 WHERE attribute_id = 73 AND row_id = (SELECT row_id FROM catalog_product_entity WHERE entity_id = 2)
RETURNING value;
INSERT INTO catalog_product_entity (entity_id, sku, price) VALUES (6, 'sku-6', 60)
RETURNING entity_id, v(created_in) AS from_v, v(updated_in) AS until_v;
DELETE FROM catalog_product_entity WHERE entity_id = 3 RETURNING entity_id;
-- The new prices: product 4 from then on.
SET staging.version = :prices;
UPDATE catalog_product_entity SET price = 44 WHERE entity_id = 4;
-- The winter update sets product 5's price (to be checked against later
-- edits).
SET staging.version = :winter;
UPDATE catalog_product_entity SET price = 55 WHERE entity_id = 5;
RESET staging.version;

-- Live is untouched; the sale's version shows the sale; the new prices
-- show product 4's new price and, the sale over, the old prices again.
SELECT * FROM shop('live');
SELECT * FROM shop(:sale::text);
SELECT * FROM shop(:prices::text);
SELECT * FROM timeline('{1,2,3,6}');

-- Writes elsewhere are refused: a version that is no update's start
-- (55000), a temporary update overlapping the sale for product 1 (23P01).
\set VERBOSITY terse
SET staging.version = '2035-11-24 00:00+00';
UPDATE catalog_product_entity SET price = 1 WHERE entity_id = 1;
SELECT staging.create_update('Flash', '2035-11-22 00:00+00', '2035-11-24 00:00+00') AS flash \gset
SET staging.version = :flash;
UPDATE catalog_product_entity SET price = 7 WHERE entity_id = 1;
RESET staging.version;
-- A permanent update starting inside the sale may change the product:
-- from its start it wins, and the sale's end leaves its change in place.
SELECT staging.create_update('Inside', '2035-11-24 12:00+00') AS inside \gset
SET staging.version = :inside;
UPDATE catalog_product_entity SET price = 7 WHERE entity_id = 1;
RESET staging.version;
SELECT staging.delete_update(:flash), staging.delete_update(:inside);
\set VERBOSITY default

-- After the sale was scheduled, someone edits products 1, 4 and 5 at the
-- live version: description and base price.  A past version reads the
-- same before and after.
SELECT staging.create_update('Now', '2035-11-01 00:00+00') AS now_update \gset
SELECT staging.advance('2035-11-02 00:00+00') = :now_update AS now_is_live;
SELECT * FROM shop('1') WHERE e IN (1, 4, 5);
UPDATE catalog_product_entity SET description = 'Better description', price = 12
 WHERE entity_id IN (1, 4, 5);
SELECT * FROM shop('1') WHERE e IN (1, 4, 5);
-- The sale shows the new description and the sale price; when it ends,
-- the new base price and the new description are there; the new prices
-- and the winter update keep the prices they set themselves.
SELECT * FROM shop(:sale::text) WHERE e IN (1, 4, 5);
SELECT * FROM shop(staging.to_version('2035-11-26 00:00+00')::text) WHERE e IN (1, 4, 5);
SELECT * FROM shop(:prices::text) WHERE e IN (1, 4, 5);
SELECT * FROM shop(:winter::text) WHERE e IN (1, 4, 5);

-- Writes at a version before the live one: 25006.
\set VERBOSITY terse
SET staging.version = 1;
UPDATE catalog_product_entity SET price = 1 WHERE entity_id = 1;
DELETE FROM catalog_product_entity WHERE entity_id = 1;
INSERT INTO catalog_product_entity (entity_id, sku) VALUES (7, 'sku-7');
-- The statement is refused as a whole, also when it matches no row, and
-- so are statements on attribute tables.
UPDATE catalog_product_entity SET price = 1 WHERE entity_id = 99;
DELETE FROM catalog_product_entity WHERE entity_id = 99;
INSERT INTO catalog_product_entity (entity_id, sku) SELECT 99, 'x' WHERE false;
UPDATE catalog_product_entity_varchar SET value = 'x' WHERE false;
-- At a future version where no update starts: 55000, with or without rows.
SELECT staging.to_version('2099-01-01 00:00+00') AS nowhere \gset
SET staging.version = :nowhere;
UPDATE catalog_product_entity SET price = 1 WHERE entity_id = 99;
DELETE FROM catalog_product_entity_varchar WHERE false;
RESET staging.version;
\set VERBOSITY default

-- Going live: the sale starts, then ends; the edit survived both.
SELECT staging.advance('2035-11-23 00:00:30+00') = :sale AS sale_live;
SELECT * FROM shop('live');
SELECT staging.advance('2035-11-27 00:00+00') = staging.to_version('2035-11-26 00:00+00') AS sale_ended;
SELECT * FROM shop('live');

-- Rescheduling the new prices moves their changes; deleting the winter
-- update removes its change, and the timeline is whole again: no
-- overlaps, and the only gap is product 3's absence during the sale.
SELECT staging.reschedule_update(:prices, '2035-12-05 00:00+00') AS prices \gset
SELECT * FROM timeline('{4}');
SELECT staging.delete_update(:winter);
SELECT * FROM timeline('{5}');
SET staging.version = 'all';
SELECT entity_id, v(prev_end) AS gap_from, v(created_in) AS gap_until
  FROM (SELECT entity_id, created_in, updated_in,
               lag(updated_in) OVER (PARTITION BY entity_id ORDER BY created_in) AS prev_end
          FROM catalog_product_entity) s
 WHERE prev_end IS NOT NULL AND prev_end <> created_in
 ORDER BY 1, 2;
RESET staging.version;

-- Clean up: the live version goes back to the beginning for later tests.
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
DELETE FROM staging.versioned_table WHERE relid = 'catalog_product_entity'::regclass;
SET client_min_messages = warning;
DROP SCHEMA wv CASCADE;
