-- Versioned writes at the live version, on a Magento-like catalog (main
-- table + EAV attribute tables).  Rows of other versions are laid out by
-- hand with staging.version = 'all' (the write triggers step aside then).
-- (writes_versions: writes at other versions.)
SET timezone = 'UTC';
CREATE SCHEMA wr;
SET search_path = wr, public;
CREATE TABLE sequence_catalog_product_entity (sequence_value bigint PRIMARY KEY);
CREATE TABLE catalog_product_entity (
    row_id      bigserial PRIMARY KEY,
    entity_id   bigint NOT NULL REFERENCES sequence_catalog_product_entity,
    created_in  bigint NOT NULL DEFAULT staging.live_version(),
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
CREATE TABLE catalog_product_entity_decimal (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    row_id       bigint NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE,
    value        numeric(12,2),
    UNIQUE (row_id, attribute_id, store_id)
);
INSERT INTO sequence_catalog_product_entity SELECT generate_series(1, 10);
INSERT INTO catalog_product_entity (entity_id, sku, price, description)
SELECT e, 'sku-' || e, 10 * e, 'Description ' || e FROM generate_series(1, 4) e;
INSERT INTO catalog_product_entity_varchar (attribute_id, row_id, value)
SELECT 73, row_id, 'Product ' || entity_id FROM catalog_product_entity;
INSERT INTO catalog_product_entity_decimal (attribute_id, row_id, value)
SELECT 82, row_id, entity_id FROM catalog_product_entity;
INSERT INTO staging.versioned_table
VALUES ('catalog_product_entity', 'entity_id', 'sequence_catalog_product_entity');
INSERT INTO staging.attribute_table
VALUES ('catalog_product_entity_varchar', 'catalog_product_entity', 'entity_id'),
       ('catalog_product_entity_decimal', 'catalog_product_entity', 'entity_id');
SELECT staging._enable_versioned_writes('catalog_product_entity');

-- Every version row of the catalog, versions shown relative to the
-- updates (L = the live version).
CREATE FUNCTION v(version bigint) RETURNS text LANGUAGE sql STABLE
RETURN CASE WHEN version = 1 THEN 'beginning'
            WHEN version = staging.max_version() THEN 'max'
            ELSE coalesce((SELECT name FROM staging.updates WHERE id = version),
                          (SELECT name || ' ends' FROM staging.updates WHERE rollback_id = version),
                          version::text) END;
CREATE FUNCTION timeline(entities bigint[])
RETURNS TABLE (e bigint, from_v text, until_v text, sku text, price numeric,
               description text, name text, weight text)
LANGUAGE sql SET staging.version = 'all' AS $$
SELECT p.entity_id AS e, v(p.created_in) AS from_v, v(p.updated_in) AS until_v,
       p.sku, p.price, p.description,
       (SELECT string_agg(n.value, ',') FROM catalog_product_entity_varchar n
         WHERE n.row_id = p.row_id) AS name,
       (SELECT string_agg(d.value::text, ',') FROM catalog_product_entity_decimal d
         WHERE d.row_id = p.row_id) AS weight
  FROM catalog_product_entity p
 WHERE p.entity_id = ANY (entities)
 ORDER BY p.entity_id, p.created_in
$$;
CREATE VIEW live AS
SELECT * FROM catalog_product_entity
 WHERE created_in <= staging.live_version() AND updated_in > staging.live_version();

-- At the live version (1: no update went live yet), a row created at the
-- live version is updated in place: UPDATE 1, RETURNING the new values.
UPDATE catalog_product_entity SET price = 11
 WHERE entity_id = 1 AND created_in <= staging.live_version() AND updated_in > staging.live_version()
RETURNING entity_id, price;
SELECT * FROM timeline('{1}');

-- An update goes live.
SELECT staging.create_update('Spring', '2035-03-01 00:00+00') AS spring \gset
SELECT staging.advance('2035-03-01 12:00+00') = :spring AS spring_live;

-- Now an UPDATE of a row created before the live version splits it: the
-- history keeps the old values and its own copies of the attribute rows,
-- so a read of the past shows the same forever; the user sees UPDATE 1
-- and the new values.
UPDATE catalog_product_entity SET price = 12
 WHERE entity_id = 1 AND created_in <= staging.live_version() AND updated_in > staging.live_version()
RETURNING entity_id, price, v(created_in) AS from_v;
SELECT * FROM timeline('{1}');
-- The same row again: in place now.
UPDATE catalog_product_entity SET sku = 'sku-1b'
 WHERE entity_id = 1 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
SELECT * FROM timeline('{1}');

-- A write to an attribute table lands in the live row, split off first
-- when it started before the live version; the history keeps the old
-- attribute values.
UPDATE catalog_product_entity_varchar SET value = 'Product 2 renamed'
 WHERE row_id = (SELECT row_id FROM live WHERE entity_id = 2);
INSERT INTO catalog_product_entity_decimal (attribute_id, row_id, value)
SELECT 83, row_id, 2.5 FROM live WHERE entity_id = 2;
SELECT * FROM timeline('{2}');
DELETE FROM catalog_product_entity_decimal
 WHERE attribute_id = 83 AND row_id = (SELECT row_id FROM live WHERE entity_id = 2);
SELECT * FROM timeline('{2}');

-- A sale scheduled for product 3, and a permanent price change of
-- product 4, written at their versions.
SELECT staging.create_update('Sale', '2035-06-01 00:00+00', '2035-06-08 00:00+00') AS sale \gset
SELECT staging.create_update('Summer', '2035-07-01 00:00+00') AS summer \gset
SET staging.version = :sale;
UPDATE catalog_product_entity SET price = 25 WHERE entity_id = 3;
SET staging.version = :summer;
UPDATE catalog_product_entity SET price = 45, description = 'Summer description'
 WHERE entity_id = 4;
UPDATE catalog_product_entity_varchar SET value = 'Product 4 for summer'
 WHERE row_id = (SELECT row_id FROM catalog_product_entity WHERE entity_id = 4);
RESET staging.version;
SELECT * FROM timeline('{3,4}');

-- Edits at the live version are never lost: the new description and base
-- price flow into the sale and its end, except the sale price the sale
-- set itself; the summer update keeps the price and description it set
-- and gets the new sku.
UPDATE catalog_product_entity SET description = 'Better description', price = 33
 WHERE entity_id = 3 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
UPDATE catalog_product_entity SET description = 'Better description 4', price = 44, sku = 'sku-4b'
 WHERE entity_id = 4 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
-- Attribute rows too: the weight edited at the live version flows into the
-- sale and its end and into the summer update (none set it); the name of
-- product 3 flows on, the summer name of product 4 stays.
UPDATE catalog_product_entity_decimal SET value = value + 0.5
 WHERE attribute_id = 82 AND row_id IN (SELECT row_id FROM live WHERE entity_id IN (3, 4));
UPDATE catalog_product_entity_varchar SET value = value || ' (new name)'
 WHERE attribute_id = 73 AND row_id IN (SELECT row_id FROM live WHERE entity_id IN (3, 4));
SELECT * FROM timeline('{3,4}');

-- DELETE at the live version: DELETE 1; the entity is gone from the live
-- version on (with its later versions), and the past still shows it.
DELETE FROM catalog_product_entity
 WHERE entity_id = 4 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
SELECT * FROM timeline('{4}');

-- INSERT at the live version: the entity appears at the live version.
INSERT INTO catalog_product_entity (entity_id, sku, price) VALUES (5, 'sku-5', 50)
RETURNING entity_id, v(created_in) AS from_v, v(updated_in) AS until_v;
-- An entity that existed before comes back only until its next version.
SET staging.version = 'all';
INSERT INTO catalog_product_entity (entity_id, created_in, updated_in, sku, price)
VALUES (6, :summer, staging.max_version(), 'sku-6-summer', 66);
RESET staging.version;
INSERT INTO catalog_product_entity (entity_id, sku, price) VALUES (6, 'sku-6', 60);
SELECT * FROM timeline('{5,6}');

-- Setting the version columns lays out version rows by hand: written as
-- given, and the constraints still guard the timeline.  row_id of an
-- attribute row stays.
\set VERBOSITY terse
UPDATE catalog_product_entity SET updated_in = 5 WHERE entity_id = 5;
UPDATE catalog_product_entity_varchar SET row_id = row_id + 1
 WHERE row_id = (SELECT row_id FROM live WHERE entity_id = 2);
\set VERBOSITY default

-- Nothing broken: no entity has overlapping versions.
SET staging.version = 'all';
SELECT entity_id, created_in, updated_in
  FROM (SELECT entity_id, created_in, updated_in,
               lag(updated_in) OVER (PARTITION BY entity_id ORDER BY created_in) AS prev_end
          FROM catalog_product_entity) s
 WHERE prev_end IS NOT NULL AND prev_end > created_in;
RESET staging.version;

-- An error inside the triggers' own writes (here a user trigger that
-- refuses a copy) rolls back the statement and leaves the triggers on:
-- the next write still keeps the history.
CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.value = 'boom' THEN
        RAISE EXCEPTION 'no copies of boom';
    END IF;
    RETURN NEW;
END $$;
UPDATE catalog_product_entity_varchar SET value = 'boom'
 WHERE row_id = (SELECT row_id FROM live WHERE entity_id = 2);
CREATE TRIGGER refuse_boom BEFORE INSERT ON catalog_product_entity_varchar
    FOR EACH ROW EXECUTE FUNCTION refuse_boom();
SELECT staging.create_update('Autumn', '2035-09-01 00:00+00') AS autumn \gset
SELECT staging.advance('2035-09-01 00:00+00') = :autumn AS autumn_live;
DO $$
BEGIN
    UPDATE catalog_product_entity SET price = 21
     WHERE entity_id = 2 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
UPDATE catalog_product_entity SET price = 13
 WHERE entity_id = 1 AND created_in <= staging.live_version() AND updated_in > staging.live_version();
SELECT * FROM timeline('{1,2}');
DROP TRIGGER refuse_boom ON catalog_product_entity_varchar;

-- Without the triggers, writes go to the rows as given.
SELECT staging._disable_versioned_writes('catalog_product_entity');
SELECT count(*) AS write_triggers FROM pg_trigger
 WHERE tgrelid IN ('catalog_product_entity'::regclass, 'catalog_product_entity_varchar'::regclass,
                   'catalog_product_entity_decimal'::regclass) AND NOT tgisinternal;

-- Clean up: the live version goes back to the beginning for later tests.
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
DELETE FROM staging.versioned_table WHERE relid = 'catalog_product_entity'::regclass;
SET client_min_messages = warning;
DROP SCHEMA wr CASCADE;
