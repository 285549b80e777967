-- Foreign key checks and cascades read every version row (an attribute
-- row may belong to a future version row): PostgreSQL runs them as the
-- table's owner, exempt from row security.  What runs inside them does
-- not share that exemption: a shopper's trigger fired by a cascade of its
-- own temporary tables (any role may create them), and whatever that
-- trigger calls, reads at the shopper's version, as everywhere else.
SET timezone = 'UTC';
CREATE ROLE regress_snc_owner;
CREATE ROLE regress_snc_shop;
CREATE SCHEMA snc AUTHORIZATION regress_snc_owner;
GRANT USAGE ON SCHEMA snc TO regress_snc_shop;
SET ROLE regress_snc_owner;
CREATE TABLE snc.item (entity_id bigint PRIMARY KEY, sku text NOT NULL);
CREATE TABLE snc.item_text (value_id serial PRIMARY KEY,
                            entity_id bigint NOT NULL REFERENCES snc.item ON DELETE CASCADE,
                            value text, UNIQUE (entity_id));
INSERT INTO snc.item VALUES (1, 'mug');
INSERT INTO snc.item_text (entity_id, value) VALUES (1, 'a mug');
SELECT staging.enable_versioning('snc.item');
SELECT staging.add_attribute_table('snc.item_text', 'snc.item');
GRANT SELECT ON snc.item, snc.item_text TO regress_snc_shop;
-- the owner's API: a set-returning SQL function with the owner's rights
CREATE FUNCTION snc.skus() RETURNS SETOF text LANGUAGE sql STABLE SECURITY DEFINER
    AS 'SELECT sku FROM snc.item';
GRANT EXECUTE ON FUNCTION snc.skus() TO regress_snc_shop;
RESET ROLE;
SELECT staging.create_update('snc sale', now() + interval '1 day') AS sale \gset
SET ROLE regress_snc_owner;
SET staging.version = :sale;
UPDATE snc.item SET sku = 'mug SECRET';
UPDATE snc.item_text SET value = 'text SECRET';
INSERT INTO snc.item VALUES (2, 'NEW SECRET');
RESET staging.version;
RESET ROLE;

SET ROLE regress_snc_shop;
CREATE TEMP TABLE parent (id int PRIMARY KEY);
CREATE TEMP TABLE child (id int REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE);
-- what the trigger reads: in plpgsql, in a set-returning SQL function
-- (whose query PostgreSQL runs, as a foreign key's, without firing
-- triggers at its end), through the owner's API
CREATE FUNCTION pg_temp.lazy_skus() RETURNS SETOF text LANGUAGE sql
    AS 'SELECT sku FROM snc.item';
CREATE FUNCTION pg_temp.peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'plpgsql: %', (SELECT string_agg(sku, ', ' ORDER BY sku) FROM snc.item);
    RAISE NOTICE 'attribute rows: %', (SELECT string_agg(value, ', ' ORDER BY value) FROM snc.item_text);
    RAISE NOTICE 'sql function: %', (SELECT string_agg(s, ', ' ORDER BY s) FROM pg_temp.lazy_skus() s);
    RAISE NOTICE 'owner''s api: %', (SELECT string_agg(s, ', ' ORDER BY s) FROM snc.skus() s);
    RETURN OLD;
END
$$;
CREATE TRIGGER peek BEFORE DELETE OR UPDATE ON child FOR EACH ROW EXECUTE FUNCTION pg_temp.peek();
INSERT INTO parent VALUES (1), (2);
INSERT INTO child VALUES (1), (2);
-- at the live version, outside any foreign key
SELECT string_agg(sku, ', ' ORDER BY sku) AS skus FROM snc.item;
-- a cascade of an UPDATE, of a DELETE
UPDATE parent SET id = 3 WHERE id = 1;
DELETE FROM parent WHERE id = 2;
-- a rule's actions, run by the cascade's own SPI call after it
DROP TRIGGER peek ON child;
CREATE FUNCTION pg_temp.say(what text, val text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE '%: %', what, val;
    RETURN val;
END
$$;
CREATE RULE peek AS ON DELETE TO child
    DO ALSO SELECT pg_temp.say('rule', string_agg(s, ', ' ORDER BY s)) FROM snc.skus() s;
INSERT INTO parent VALUES (4);
INSERT INTO child VALUES (4);
DELETE FROM parent WHERE id = 4;
DROP TABLE child, parent;
DROP FUNCTION pg_temp.peek(), pg_temp.lazy_skus(), pg_temp.say(text, text);
RESET ROLE;

-- The foreign keys of versioned tables still see every version row: the
-- check of an attribute row of a future version row, the cascade of its
-- removal.
SET ROLE regress_snc_owner;
SET staging.version = :sale;
INSERT INTO snc.item_text (row_id, value) SELECT row_id, 'new text' FROM snc.item WHERE entity_id = 2;
RESET staging.version;
SET staging.version = 'all';
SELECT i.entity_id, i.sku, t.value FROM snc.item i LEFT JOIN snc.item_text t USING (row_id)
 ORDER BY i.entity_id, i.created_in;
SET staging.version = :sale;
DELETE FROM snc.item WHERE entity_id = 2;
SET staging.version = 'all';
SELECT i.entity_id, i.sku, t.value FROM snc.item i LEFT JOIN snc.item_text t USING (row_id)
 ORDER BY i.entity_id, i.created_in;
SELECT count(*) AS attribute_rows FROM snc.item_text;
RESET staging.version;
RESET ROLE;

-- The campaign functions write a table as its owner, reading every
-- version where that owner may (a superuser, here).  A role granted
-- REFERENCES on the table, whose foreign key cascades from a version row
-- that delete_update() removes, runs its trigger as itself: it reads
-- ahead only where it may itself.
CREATE TABLE snc.product (entity_id bigint PRIMARY KEY, sku text NOT NULL);
INSERT INTO snc.product VALUES (1, 'cup');
SELECT staging.enable_versioning('snc.product');
SELECT staging.create_update('snc later', now() + interval '2 days') AS later \gset
SELECT staging.create_update('snc latest', now() + interval '3 days') AS latest \gset
SET staging.version = :later;
UPDATE snc.product SET sku = 'cup SECRET';
SET staging.version = :latest;
UPDATE snc.product SET sku = 'cup LATEST SECRET';
RESET staging.version;
CREATE SCHEMA snc_shop AUTHORIZATION regress_snc_shop;
GRANT SELECT, REFERENCES ON snc.product TO regress_snc_shop;
SET ROLE regress_snc_shop;
CREATE TABLE snc_shop.ref (row_id bigint REFERENCES snc.product (row_id) ON DELETE CASCADE);
CREATE FUNCTION snc_shop.peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'cascade: %', (SELECT string_agg(sku, ', ' ORDER BY sku) FROM snc.product);
    RETURN OLD;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'cascade: %', SQLERRM;
    RETURN OLD;
END
$$;
CREATE TRIGGER peek BEFORE DELETE ON snc_shop.ref FOR EACH ROW EXECUTE FUNCTION snc_shop.peek();
-- (the key check finds the hidden row: a row id exists, as row security
-- lets a foreign key tell)
INSERT INTO snc_shop.ref VALUES (1), (2), (3);
RESET ROLE;
SELECT staging.delete_update(:later);
SELECT sku FROM snc.product;
SELECT count(*) AS refs_left FROM snc_shop.ref;

DROP SCHEMA snc, snc_shop CASCADE;
DELETE FROM staging.updates WHERE id IN (:sale, :latest);
DROP ROLE regress_snc_owner, regress_snc_shop;
