-- INSERT ... ON CONFLICT DO UPDATE: the row a new row conflicts with (by
-- an explicit row_id, or another unique key) may be a version row that
-- the session version does not show.  PostgreSQL evaluates the WHERE and
-- SET expressions of DO UPDATE on it before any trigger sees it: a clerk
-- who writes at the live version learns nothing of it that way (it is
-- left alone, as with DO NOTHING).  The attacks insert rows that are not
-- recorded (a new entity 4, attribute rows of entity 3, which no update
-- changes): a recorded insert with ON CONFLICT is refused before any
-- conflict is looked for (writes_on_conflict).
SET timezone = 'UTC';
CREATE ROLE regress_soc_owner;
CREATE ROLE regress_soc_clerk;
CREATE SCHEMA soc AUTHORIZATION regress_soc_owner;
GRANT USAGE ON SCHEMA soc TO regress_soc_clerk;
SET ROLE regress_soc_owner;
CREATE TABLE soc.item (entity_id bigint PRIMARY KEY, sku text NOT NULL);
CREATE TABLE soc.item_price (value_id serial PRIMARY KEY,
                             entity_id bigint NOT NULL REFERENCES soc.item,
                             attribute_id int NOT NULL, value numeric,
                             UNIQUE (entity_id, attribute_id));
INSERT INTO soc.item VALUES (1, 'mug'), (3, 'plate');
INSERT INTO soc.item_price (entity_id, attribute_id, value) VALUES (1, 77, 10), (3, 76, 20);
SELECT staging.enable_versioning('soc.item');
SELECT staging.add_attribute_table('soc.item_price', 'soc.item');
GRANT SELECT, INSERT, UPDATE ON soc.item, soc.item_price TO regress_soc_clerk;
GRANT USAGE ON SEQUENCE soc.item_price_value_id_seq TO regress_soc_clerk;
RESET ROLE;
SELECT staging.create_update('soc sale', now() + interval '1 day') AS sale \gset
-- The sale creates entity 2 and gives entity 1 a sale price.
SET ROLE regress_soc_owner;
SET staging.version = :sale;
INSERT INTO soc.item (entity_id, sku) VALUES (2, 'bowl SECRET');
UPDATE soc.item_price SET value = 7.77 WHERE attribute_id = 77;
RESET staging.version;
SET staging.version = 'all';
-- The hidden rows: entity 2's, and entity 1's sale row and its price.
SELECT i.entity_id, i.sku, i.created_in = :sale AS from_sale, p.value_id, p.value
  FROM soc.item i LEFT JOIN soc.item_price p ON p.row_id = i.row_id
 ORDER BY i.row_id;
-- (what the clerk would guess)
SELECT row_id AS hidden_row FROM soc.item WHERE entity_id = 2 \gset
SELECT value_id AS hidden_price FROM soc.item_price WHERE value = 7.77 \gset
RESET staging.version;
RESET ROLE;

SET ROLE regress_soc_clerk;
CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'leak: %', $1;
    RETURN true;
END
$$;
-- The row_id of entity 2's row: its sku neither in a NOTICE of a
-- function of the clerk's in WHERE or SET, nor through a WHERE that
-- succeeds or fails (each attack rolled back, so that the next one finds
-- the same rows).
BEGIN;
INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
    ON CONFLICT (row_id) DO UPDATE SET sku = 'y' WHERE pg_temp.leak(soc.item.sku)
    RETURNING *;
ROLLBACK;
BEGIN;
INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
    ON CONFLICT (row_id) DO UPDATE SET sku = 'y' || pg_temp.leak(soc.item.sku)::text;
ROLLBACK;
BEGIN;
INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
    ON CONFLICT (row_id) DO UPDATE SET sku = 'y' WHERE soc.item.sku LIKE 'bowl%';
ROLLBACK;
BEGIN;
INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
    ON CONFLICT (row_id) DO UPDATE SET sku = 'y' WHERE soc.item.sku NOT LIKE 'bowl%';
ROLLBACK;
BEGIN;
WITH w AS (INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
               ON CONFLICT (row_id) DO UPDATE SET sku = 'y' WHERE pg_temp.leak(soc.item.sku)
               RETURNING sku)
SELECT * FROM w;
ROLLBACK;
-- The sale's price row of entity 1, by its value_id, from an attribute
-- row of entity 3's live row.
SELECT row_id AS live_row FROM soc.item WHERE entity_id = 3 \gset
SELECT value_id AS live_price FROM soc.item_price WHERE row_id = :live_row \gset
BEGIN;
INSERT INTO soc.item_price (value_id, row_id, attribute_id, value)
    VALUES (:hidden_price, :live_row, 78, 1)
    ON CONFLICT (value_id) DO UPDATE SET value = 1 WHERE pg_temp.leak(soc.item_price.value::text)
    RETURNING *;
ROLLBACK;
BEGIN;
INSERT INTO soc.item_price (value_id, row_id, attribute_id, value)
    VALUES (:hidden_price, :live_row, 78, 1)
    ON CONFLICT (value_id) DO UPDATE SET value = soc.item_price.value + 1 WHERE soc.item_price.value > 7;
ROLLBACK;
EXPLAIN (COSTS OFF)
INSERT INTO soc.item (row_id, entity_id, sku) VALUES (:hidden_row, 4, 'x')
    ON CONFLICT (row_id) DO UPDATE SET sku = 'y' WHERE pg_temp.leak(soc.item.sku);
-- The live price row is updated as before (and the update kept).
INSERT INTO soc.item_price (value_id, row_id, attribute_id, value)
    VALUES (:live_price, :live_row, 76, 21)
    ON CONFLICT (value_id) DO UPDATE SET value = excluded.value WHERE pg_temp.leak(soc.item_price.value::text)
    RETURNING value;
DROP FUNCTION pg_temp.leak(text);
RESET ROLE;

-- Nothing hidden was written.
SET ROLE regress_soc_owner;
SET staging.version = 'all';
SELECT i.entity_id, i.sku, i.created_in = :sale AS from_sale, p.value_id, p.value
  FROM soc.item i LEFT JOIN soc.item_price p ON p.row_id = i.row_id
 ORDER BY i.row_id;
RESET staging.version;
RESET ROLE;

DROP SCHEMA soc CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP ROLE regress_soc_owner, regress_soc_clerk;
