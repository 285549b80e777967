-- Versioned tables: enable_versioning, add_attribute_table,
-- disable_versioning, staging.versioned_tables, staging.verify, the DDL
-- guards and the DROP cleanup, on a Magento-shaped catalog.
SET client_min_messages = notice;
CREATE SCHEMA versioning;
SET search_path = versioning, public;
-- These tests look at every version row, whatever the session version.
SET staging.version = 'all';

-- Runs a statement; returns 'ok' or its SQLSTATE and message.
CREATE FUNCTION try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- The foreign key that refuses a statement, or 'ok': ON DELETE RESTRICT
-- raises 23503 up to PostgreSQL 17, 23001 (restrict_violation, with another
-- message) from 18 on.
CREATE FUNCTION try_fkey(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    k text;
    t text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN foreign_key_violation OR restrict_violation THEN
    GET STACKED DIAGNOSTICS k = CONSTRAINT_NAME, t = TABLE_NAME;
    RETURN format('refused by foreign key %I on %I', k, t);
END
$$;

-- Columns, keys and foreign keys of a table, to compare shapes.  NOT NULL
-- shows on the columns; the constraints that PostgreSQL 18 also lists for
-- it in pg_constraint (contype 'n') are left out.
CREATE FUNCTION shape(tbl regclass) RETURNS TABLE(item text) LANGUAGE sql AS $$
SELECT format('column %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
              CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
              coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                  || CASE a.attidentity WHEN 'd' THEN ' identity' WHEN 'a' THEN ' identity always' ELSE '' END)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE conrelid = tbl AND contype <> 'n'
UNION ALL
SELECT format('index %s', regexp_replace(pg_get_indexdef(indexrelid), ' ON .* USING ', ' USING '))
  FROM pg_index WHERE indrelid = tbl
ORDER BY 1
$$;

-- The catalog: products, EAV attribute tables, relation tables.
CREATE TABLE catalog_product_entity (
    entity_id  serial PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    type_id    text NOT NULL DEFAULT 'simple'
);
CREATE TABLE catalog_product_entity_int (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE,
    value        int,
    UNIQUE (entity_id, attribute_id, store_id)
);
CREATE TABLE catalog_product_entity_decimal (LIKE catalog_product_entity_int INCLUDING ALL);
ALTER TABLE catalog_product_entity_decimal ALTER value TYPE numeric(12,4),
    ADD FOREIGN KEY (entity_id) REFERENCES catalog_product_entity ON DELETE CASCADE;
CREATE TABLE catalog_product_entity_varchar (LIKE catalog_product_entity_int INCLUDING ALL);
ALTER TABLE catalog_product_entity_varchar ALTER value TYPE varchar(255),
    ADD FOREIGN KEY (entity_id) REFERENCES catalog_product_entity ON DELETE CASCADE;
CREATE TABLE catalog_category_product (
    category_id int NOT NULL,
    product_id  int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE ON UPDATE CASCADE,
    position    int NOT NULL DEFAULT 0,
    PRIMARY KEY (category_id, product_id)
);
CREATE TABLE wishlist_item (
    wishlist_item_id serial PRIMARY KEY,
    wishlist_id      int NOT NULL,
    product_id       int REFERENCES catalog_product_entity ON DELETE SET NULL DEFERRABLE,
    qty              numeric NOT NULL DEFAULT 1
);
INSERT INTO catalog_product_entity (sku, type_id)
SELECT 'sku-' || g, CASE WHEN g % 3 = 0 THEN 'configurable' ELSE 'simple' END FROM generate_series(1, 20) g;
INSERT INTO catalog_product_entity_int (attribute_id, store_id, entity_id, value)
SELECT a, s, e, e * 10 + a FROM generate_series(1, 20) e, generate_series(96, 97) a, generate_series(0, 1) s;
INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value)
SELECT 77, 0, e, e + 0.99 FROM generate_series(1, 20) e;
INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value)
SELECT 73, s, e, 'Product ' || e || ' store ' || s FROM generate_series(1, 20) e, generate_series(0, 1) s;
INSERT INTO catalog_category_product SELECT c, e, e FROM generate_series(1, 3) c, generate_series(1, 20, c) e;
INSERT INTO wishlist_item (wishlist_id, product_id) SELECT w, w * 2 FROM generate_series(1, 8) w;

-- What the data and shape were before.
CREATE TABLE before_entity AS SELECT * FROM catalog_product_entity;
CREATE TABLE before_int AS SELECT * FROM catalog_product_entity_int;
CREATE TABLE before_decimal AS SELECT * FROM catalog_product_entity_decimal;
CREATE TABLE before_varchar AS SELECT * FROM catalog_product_entity_varchar;
CREATE TABLE before_category AS SELECT * FROM catalog_category_product;
CREATE TABLE before_wishlist AS SELECT * FROM wishlist_item;
CREATE TABLE before_shape AS
SELECT t, s.item FROM unnest(ARRAY['catalog_product_entity', 'catalog_product_entity_int',
    'catalog_product_entity_decimal', 'catalog_product_entity_varchar',
    'catalog_category_product', 'wishlist_item']::regclass[]) t, shape(t) s;

-- Version the catalog.  (The attribute tables get the access method
-- staging without being rewritten.)
CREATE TEMP TABLE filenodes AS
SELECT t, pg_relation_filenode(t) AS filenode
  FROM unnest(ARRAY['catalog_product_entity_int', 'catalog_product_entity_decimal',
                    'catalog_product_entity_varchar']::regclass[]) t;
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_int', 'catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_decimal', 'catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_varchar', 'catalog_product_entity');
SELECT f.t, a.amname, pg_relation_filenode(f.t) = f.filenode AS not_rewritten
  FROM filenodes f JOIN pg_class c ON c.oid = f.t JOIN pg_am a ON a.oid = c.relam ORDER BY 1;
DROP TABLE filenodes;

SELECT * FROM shape('catalog_product_entity');
SELECT * FROM shape('sequence_catalog_product_entity');
SELECT * FROM shape('catalog_product_entity_int');
SELECT * FROM shape('catalog_category_product') WHERE item LIKE '%FOREIGN%';
SELECT * FROM shape('wishlist_item') WHERE item LIKE '%FOREIGN%';
SELECT t, staging.versioned_kind(t)
  FROM unnest(ARRAY['catalog_product_entity', 'catalog_product_entity_int', 'catalog_product_entity_decimal',
                    'catalog_product_entity_varchar', 'catalog_category_product',
                    'sequence_catalog_product_entity']::regclass[]) t;
SELECT * FROM staging.versioned_tables WHERE table_name::text LIKE 'catalog%';
SELECT * FROM staging.verify('catalog_product_entity');

-- Nothing lost: every row is version [1, max) with row_id = entity_id,
-- the attribute rows are the same rows linked by row_id.
SELECT count(*) AS rows, count(*) FILTER (WHERE row_id = entity_id AND created_in = 1
                                          AND updated_in = staging.max_version()) AS version_1_to_max
  FROM catalog_product_entity;
SELECT count(*) AS differences FROM (
    (SELECT entity_id, sku, type_id FROM catalog_product_entity EXCEPT SELECT * FROM before_entity)
    UNION ALL (SELECT * FROM before_entity EXCEPT SELECT entity_id, sku, type_id FROM catalog_product_entity)) d;
SELECT count(*) AS differences FROM (
    (SELECT value_id, attribute_id, store_id, row_id, value FROM catalog_product_entity_int EXCEPT SELECT * FROM before_int)
    UNION ALL (SELECT * FROM before_int EXCEPT SELECT value_id, attribute_id, store_id, row_id, value FROM catalog_product_entity_int)) d;
SELECT count(*) AS differences FROM (
    (SELECT value_id, attribute_id, store_id, row_id, value FROM catalog_product_entity_varchar EXCEPT SELECT * FROM before_varchar)
    UNION ALL (SELECT * FROM before_varchar EXCEPT SELECT value_id, attribute_id, store_id, row_id, value FROM catalog_product_entity_varchar)) d;
SELECT (SELECT count(*) FROM catalog_category_product) = (SELECT count(*) FROM before_category) AS links_kept,
       (SELECT count(*) FROM wishlist_item) = (SELECT count(*) FROM before_wishlist) AS wishlist_kept;

-- New entities: without an id the next one from the sequence table,
-- with a new explicit id registered there (and skipped afterwards).
INSERT INTO catalog_product_entity (sku) VALUES ('new-1') RETURNING entity_id, row_id, created_in, updated_in = staging.max_version() AS open_ended;
INSERT INTO catalog_product_entity (entity_id, sku) VALUES (22, 'explicit-22') RETURNING entity_id, row_id;
INSERT INTO catalog_product_entity (sku) VALUES ('new-2') RETURNING entity_id, row_id;
SELECT sequence_value FROM sequence_catalog_product_entity WHERE sequence_value > 20 ORDER BY 1;
-- Relations refer to entities: a new entity can be linked at once.
INSERT INTO catalog_category_product VALUES (1, 22, 0);

-- Versions of one entity never overlap: the database refuses.
UPDATE catalog_product_entity SET updated_in = 1000 WHERE entity_id = 5;
INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (5, 'sku-5', 1000, 2000);
SELECT try($$INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (5, 'sku-5 again', 1500, 3000)$$);
SELECT try($$INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (5, 'sku-5 again', 999, 1001)$$);
SELECT try($$INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (5, 'sku-5 empty', 3000, 3000)$$);
INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (5, 'sku-5 v3', 2000, staging.max_version());
-- Deferrable: bounds can move within a transaction.
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
UPDATE catalog_product_entity SET updated_in = 1200 WHERE entity_id = 5 AND created_in = 1;
SELECT try($$SET CONSTRAINTS ALL IMMEDIATE$$);
UPDATE catalog_product_entity SET created_in = 1200 WHERE entity_id = 5 AND created_in = 1000;
COMMIT;
SELECT entity_id, sku, created_in, updated_in FROM catalog_product_entity WHERE entity_id = 5 ORDER BY created_in;
SELECT * FROM staging.verify('catalog_product_entity');

-- An attribute table added once versions exist: each version row of an
-- entity gets its own copy of the entity's attribute rows.
CREATE TABLE catalog_product_entity_text (
    value_id     int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    int NOT NULL REFERENCES sequence_catalog_product_entity ON DELETE CASCADE,
    value        text,
    UNIQUE (entity_id, attribute_id, store_id)
);
INSERT INTO catalog_product_entity_text (attribute_id, entity_id, value)
SELECT 75, e, 'Description of ' || e FROM generate_series(4, 6) e;
SELECT staging.add_attribute_table('catalog_product_entity_text', 'catalog_product_entity');
SELECT m.entity_id, m.row_id, m.created_in, t.value_id, t.attribute_id, t.value
  FROM catalog_product_entity m JOIN catalog_product_entity_text t USING (row_id)
 ORDER BY m.entity_id, m.created_in;
SELECT * FROM shape('catalog_product_entity_text');
SELECT try($$INSERT INTO catalog_product_entity_text (attribute_id, row_id, value)
              SELECT 75, row_id, 'twice' FROM catalog_product_entity WHERE entity_id = 4$$);
SELECT * FROM staging.verify('catalog_product_entity');

-- verify() reports what is broken (here by disabling the triggers that
-- enforce the foreign keys, as a restore with --disable-triggers may).
SET session_replication_role = replica;
INSERT INTO catalog_product_entity_int (attribute_id, store_id, row_id, value) VALUES (1, 0, 999, 1);
INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (77, 'orphan', 5, 10);
SET session_replication_role = origin;
SELECT * FROM staging.verify('catalog_product_entity');
SET session_replication_role = replica;
DELETE FROM catalog_product_entity_int WHERE row_id = 999;
DELETE FROM catalog_product_entity WHERE entity_id = 77;
SET session_replication_role = origin;
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');

-- Deleting an entity from the sequence table removes its versions and
-- their attribute rows, and relations follow their own ON DELETE.
DELETE FROM sequence_catalog_product_entity WHERE sequence_value = 4;
SELECT (SELECT count(*) FROM catalog_product_entity WHERE entity_id = 4) AS versions,
       (SELECT count(*) FROM catalog_product_entity_text WHERE value LIKE '% 4') AS attribute_rows,
       (SELECT count(*) FROM catalog_category_product WHERE product_id = 4) AS links,
       (SELECT count(*) FROM wishlist_item WHERE wishlist_id = 2 AND product_id IS NULL) AS wishlist_items_set_null;

-- DDL guards: the versioning columns stay; other DDL works.
SELECT try('ALTER TABLE catalog_product_entity DROP COLUMN row_id');
SELECT try('ALTER TABLE catalog_product_entity DROP COLUMN created_in');
SELECT try('ALTER TABLE catalog_product_entity ALTER COLUMN updated_in TYPE numeric');
SELECT try('ALTER TABLE catalog_product_entity ALTER COLUMN entity_id TYPE bigint');
SELECT try('ALTER TABLE catalog_product_entity DROP COLUMN entity_id CASCADE');
SELECT try('ALTER TABLE catalog_product_entity RENAME COLUMN created_in TO starts');
SELECT try('ALTER TABLE catalog_product_entity ALTER COLUMN created_in DROP NOT NULL');
SELECT try('ALTER TABLE catalog_product_entity_int DROP COLUMN row_id');
SELECT try('ALTER TABLE catalog_product_entity_int ALTER COLUMN row_id TYPE int');
SELECT try('ALTER TABLE catalog_product_entity_int RENAME row_id TO product_row');
-- no inheritance: the rows of a child would be neither versioned nor
-- filtered
SELECT try('CREATE TABLE product_child () INHERITS (catalog_product_entity)');
SELECT try('CREATE TABLE product_int_child () INHERITS (catalog_product_entity_int)');
CREATE TABLE plain_parent (note text);
SELECT try('ALTER TABLE catalog_product_entity INHERIT plain_parent');
CREATE TABLE would_be_child (LIKE catalog_product_entity);
SELECT try('ALTER TABLE would_be_child INHERIT catalog_product_entity');
CREATE TABLE parted (LIKE catalog_product_entity) PARTITION BY RANGE (entity_id);
SELECT try($$ALTER TABLE parted ATTACH PARTITION catalog_product_entity FOR VALUES FROM (1) TO (1000)$$);
DROP TABLE plain_parent, would_be_child, parted;
-- they keep the access method staging (heap's storage; refused to
-- non-superusers when the library is not preloaded), the sequence table
-- is heap
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('catalog_product_entity', 'catalog_product_entity_int', 'sequence_catalog_product_entity')
 ORDER BY 1;
SELECT try('ALTER TABLE catalog_product_entity SET ACCESS METHOD heap');
SELECT try('ALTER TABLE catalog_product_entity_int SET ACCESS METHOD heap');
ALTER TABLE catalog_product_entity SET ACCESS METHOD staging;
-- rewrites keep it
VACUUM FULL catalog_product_entity_int;
VACUUM FULL catalog_product_entity;
SELECT c.relname, a.amname, t.amname AS toast_amname
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
  LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid LEFT JOIN pg_am t ON t.oid = tc.relam
 WHERE c.relname IN ('catalog_product_entity', 'catalog_product_entity_int')
 ORDER BY 1;
-- the whole message
ALTER TABLE catalog_product_entity DROP COLUMN updated_in;
ALTER TABLE catalog_product_entity SET ACCESS METHOD heap;
ALTER TABLE catalog_product_entity ADD COLUMN news_from_date date;
ALTER TABLE catalog_product_entity RENAME COLUMN type_id TO product_type;
CREATE INDEX catalog_product_entity_sku_created ON catalog_product_entity (sku, created_in);
ALTER TABLE catalog_product_entity_int ADD COLUMN note text;
ALTER TABLE catalog_product_entity_int DROP COLUMN note;
ALTER TABLE catalog_product_entity RENAME TO catalog_product;
SELECT staging.versioned_kind('catalog_product'), staging.versioned_kind('catalog_product_entity_int');
SELECT count(*) AS problems FROM staging.verify('catalog_product');
ALTER TABLE catalog_product RENAME TO catalog_product_entity;
ALTER TABLE catalog_product_entity RENAME COLUMN product_type TO type_id;
ALTER TABLE catalog_product_entity DROP COLUMN news_from_date;
DROP INDEX catalog_product_entity_sku_created;

-- Back to plain tables holding the live version (live version 1: entity
-- 5 is its first row again; the new entities stay).
SELECT staging.disable_versioning('catalog_product_entity');
SELECT t, staging.versioned_kind(t)
  FROM unnest(ARRAY['catalog_product_entity', 'catalog_product_entity_int', 'catalog_product_entity_text']::regclass[]) t;
SELECT to_regclass('sequence_catalog_product_entity') AS sequence_table;
SELECT count(*) FROM staging.versioned_table WHERE relid::text LIKE '%catalog_product%';
-- heap again
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('catalog_product_entity', 'catalog_product_entity_int')
 ORDER BY 1;
-- the original shape, attribute tables by entity, relations to the entity
SELECT t, s.item FROM unnest(ARRAY['catalog_product_entity', 'catalog_product_entity_int',
    'catalog_product_entity_decimal', 'catalog_product_entity_varchar',
    'catalog_category_product', 'wishlist_item']::regclass[]) t, shape(t) s
EXCEPT SELECT * FROM before_shape
UNION ALL
(SELECT * FROM before_shape
 EXCEPT SELECT t, s.item FROM unnest(ARRAY['catalog_product_entity', 'catalog_product_entity_int',
    'catalog_product_entity_decimal', 'catalog_product_entity_varchar',
    'catalog_category_product', 'wishlist_item']::regclass[]) t, shape(t) s);
SELECT * FROM shape('catalog_product_entity_text');
SELECT * FROM catalog_product_entity WHERE entity_id IN (4, 5) OR entity_id > 20 ORDER BY entity_id;
SELECT entity_id, value FROM catalog_product_entity_text ORDER BY entity_id;
-- the rows of entities other than 4 are exactly the rows from before
SELECT count(*) AS differences FROM (
    (SELECT * FROM catalog_product_entity WHERE entity_id <= 20 EXCEPT SELECT * FROM before_entity WHERE entity_id <> 4)
    UNION ALL (SELECT * FROM before_entity WHERE entity_id <> 4 EXCEPT SELECT * FROM catalog_product_entity WHERE entity_id <= 20)
    UNION ALL (SELECT 0, '', '' FROM (SELECT * FROM catalog_product_entity_int EXCEPT SELECT * FROM before_int WHERE entity_id <> 4) x)
    UNION ALL (SELECT 0, '', '' FROM (SELECT * FROM before_int WHERE entity_id <> 4 EXCEPT SELECT * FROM catalog_product_entity_int) x)
    UNION ALL (SELECT 0, '', '' FROM (SELECT * FROM catalog_product_entity_varchar EXCEPT SELECT * FROM before_varchar WHERE entity_id <> 4) x)
    UNION ALL (SELECT 0, '', '' FROM (SELECT * FROM before_varchar WHERE entity_id <> 4 EXCEPT SELECT * FROM catalog_product_entity_varchar) x)) d;
-- the serial continues after every id handed out while versioned
INSERT INTO catalog_product_entity (sku) VALUES ('after') RETURNING entity_id;
-- and the whole thing again
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_int', 'catalog_product_entity');
SELECT * FROM staging.versioned_tables WHERE table_name::text LIKE 'catalog%';
SELECT staging.disable_versioning('catalog_product_entity');
INSERT INTO catalog_product_entity (sku) VALUES ('after again') RETURNING entity_id;

-- Bad input: a clear error with its SQLSTATE, and nothing changed.
CREATE TABLE no_entity (id int PRIMARY KEY);
CREATE TABLE no_key (entity_id int);
CREATE TABLE text_key (entity_id text PRIMARY KEY);
CREATE TABLE composite (entity_id int, store_id int, PRIMARY KEY (entity_id, store_id));
CREATE TABLE has_row_id (entity_id int PRIMARY KEY, row_id int);
CREATE VIEW a_view AS SELECT * FROM catalog_product_entity;
CREATE FOREIGN DATA WRAPPER regress_staging_dummy;
CREATE SERVER regress_staging_server FOREIGN DATA WRAPPER regress_staging_dummy;
CREATE FOREIGN TABLE a_foreign_table (entity_id int) SERVER regress_staging_server;
CREATE TABLE partitioned (entity_id int PRIMARY KEY) PARTITION BY RANGE (entity_id);
CREATE TABLE a_partition PARTITION OF partitioned FOR VALUES FROM (1) TO (100);
CREATE TEMPORARY TABLE a_temp_table (entity_id int PRIMARY KEY);
CREATE TABLE a_parent (entity_id int PRIMARY KEY);
CREATE TABLE a_child () INHERITS (a_parent);
CREATE TABLE attribute_without_fk (value_id int PRIMARY KEY, entity_id int);
CREATE TABLE two_fks (a int REFERENCES catalog_product_entity, b int REFERENCES catalog_product_entity);
SELECT try($$SELECT staging.enable_versioning('no_entity')$$);
SELECT try($$SELECT staging.enable_versioning('no_entity', 'id ')$$);
SELECT try($$SELECT staging.enable_versioning('no_key')$$);
SELECT try($$SELECT staging.enable_versioning('text_key')$$);
SELECT try($$SELECT staging.enable_versioning('composite')$$);
SELECT try($$SELECT staging.enable_versioning('has_row_id')$$);
SELECT try($$SELECT staging.enable_versioning('a_view')$$);
SELECT try($$SELECT staging.enable_versioning('a_foreign_table')$$);
SELECT try($$SELECT staging.enable_versioning('partitioned')$$);
SELECT try($$SELECT staging.enable_versioning('a_partition')$$);
SELECT try($$SELECT staging.enable_versioning('a_temp_table')$$);
SELECT try($$SELECT staging.enable_versioning('a_parent')$$);
SELECT try($$SELECT staging.enable_versioning('a_child')$$);
SELECT try($$SELECT staging.enable_versioning('no_such_table')$$);
-- a trigger of the user's with a name the extension uses is not replaced
CREATE TABLE own_trigger (entity_id int PRIMARY KEY, note text);
CREATE TABLE own_trigger_int (entity_id int REFERENCES own_trigger, value int);
CREATE TRIGGER staging_write BEFORE UPDATE ON own_trigger
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE TRIGGER staging_write_rebuild BEFORE UPDATE ON own_trigger_int
    FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
SELECT try($$SELECT staging.enable_versioning('own_trigger')$$);
DROP TRIGGER staging_write ON own_trigger;
SELECT staging.enable_versioning('own_trigger');
SELECT try($$SELECT staging.add_attribute_table('own_trigger_int', 'own_trigger')$$);
SELECT tgname, tgfoid::regproc FROM pg_trigger
 WHERE tgrelid = 'own_trigger_int'::regclass AND NOT tgisinternal;
DROP TABLE own_trigger_int, own_trigger, sequence_own_trigger;
SELECT try($$SELECT staging.disable_versioning('no_key')$$);
SELECT try($$SELECT staging.verify('no_key')$$);
SELECT try($$SELECT staging.add_attribute_table('attribute_without_fk', 'no_key')$$);
SELECT staging.enable_versioning('catalog_product_entity');
SELECT try($$SELECT staging.enable_versioning('catalog_product_entity')$$);
SELECT try($$SELECT staging.add_attribute_table('attribute_without_fk', 'catalog_product_entity')$$);
-- (its hint names the key to add now that the table is versioned)
\set VERBOSITY terse
\set SHOW_CONTEXT never
DO $$
DECLARE
    hint text;
BEGIN
    PERFORM staging.add_attribute_table('attribute_without_fk', 'catalog_product_entity');
EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RAISE NOTICE '%', hint;
END
$$;
\set VERBOSITY default
\set SHOW_CONTEXT errors
SELECT try($$SELECT staging.add_attribute_table('two_fks', 'catalog_product_entity')$$);
SELECT try($$SELECT staging.add_attribute_table('catalog_product_entity', 'catalog_product_entity')$$);
SELECT staging.add_attribute_table('catalog_product_entity_int', 'catalog_product_entity');
SELECT try($$SELECT staging.add_attribute_table('catalog_product_entity_int', 'catalog_product_entity')$$);
SELECT try($$SELECT staging.enable_versioning('catalog_product_entity_int')$$);
SELECT try($$SELECT staging.enable_versioning('sequence_catalog_product_entity', 'sequence_value')$$);
SELECT try($$SELECT staging.disable_versioning('catalog_product_entity_int')$$);
SELECT try($$SELECT staging.verify('catalog_product_entity_int')$$);
-- long names: sequence_<table> must fit in 63 bytes (22023 otherwise, not
-- a truncated name); a sequence table with a long name gets a primary key
-- whose name is shortened to fit, without a notice
CREATE TABLE tllllllllllllllllllllllllllllllllllllllllllllllllllllll (entity_id int PRIMARY KEY);
SELECT try($$SELECT staging.enable_versioning('tllllllllllllllllllllllllllllllllllllllllllllllllllllll')$$);
SELECT staging.versioned_kind('tllllllllllllllllllllllllllllllllllllllllllllllllllllll');
DROP TABLE tllllllllllllllllllllllllllllllllllllllllllllllllllllll;
CREATE TABLE tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54 (entity_id int PRIMARY KEY);
SELECT staging.enable_versioning('tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54');
SELECT conname, contype FROM pg_constraint
 WHERE conrelid = 'sequence_tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54'::regclass
   AND contype <> 'n' ORDER BY 1;  -- (18 lists NOT NULL constraints too)
SELECT count(*) AS problems FROM staging.verify('tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54');
DROP TABLE tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54, sequence_tmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_54;
-- a NULL table is a bad argument, not a table that is not versioned
SELECT try($$SELECT staging.enable_versioning(NULL)$$);
SELECT try($$SELECT staging.add_attribute_table(NULL, 'catalog_product_entity')$$);
SELECT try($$SELECT staging.add_attribute_table('catalog_product_entity_int', NULL)$$);
SELECT try($$SELECT staging.disable_versioning(NULL)$$);
SELECT try($$SELECT staging.verify(NULL)$$);
-- attribute rows of an entity without any version row cannot be linked
-- (the foreign key is checked, not assumed)
BEGIN;
DELETE FROM catalog_product_entity WHERE entity_id = 7;
SELECT try($$SELECT staging.add_attribute_table('catalog_product_entity_varchar', 'catalog_product_entity')$$);
ROLLBACK;
SELECT c.conrelid::regclass, c.conname, c.convalidated
  FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid IN
       ('catalog_product_entity'::regclass, 'sequence_catalog_product_entity'::regclass)
 ORDER BY c.conrelid::regclass::text, 2;
-- an error late in the work leaves everything as it was: copies of
-- attribute rows would break a primary key that has no default
CREATE TABLE natural_key (code text PRIMARY KEY,
                          entity_id int NOT NULL REFERENCES sequence_catalog_product_entity);
INSERT INTO natural_key VALUES ('five', 5);
UPDATE catalog_product_entity SET updated_in = 1000 WHERE entity_id = 5;
INSERT INTO catalog_product_entity (entity_id, sku, created_in) VALUES (5, 'sku-5 later', 1000);
SELECT try($$SELECT staging.add_attribute_table('natural_key', 'catalog_product_entity')$$);
SELECT * FROM shape('natural_key');
SELECT * FROM natural_key;
SELECT staging.versioned_kind('natural_key');
DROP TABLE natural_key;
-- ownership: only the owner may version a table
CREATE ROLE regress_staging_owner;
CREATE ROLE regress_staging_other;
GRANT CREATE, USAGE ON SCHEMA versioning TO regress_staging_owner;
GRANT USAGE ON SCHEMA versioning TO regress_staging_other;
SET ROLE regress_staging_other;
SELECT try($$SELECT staging.enable_versioning('no_key')$$);
SELECT try($$SELECT staging.disable_versioning('catalog_product_entity')$$);
SELECT try($$DELETE FROM staging.versioned_table$$);
SELECT try($$INSERT INTO staging.versioned_table VALUES ('no_key', 'entity_id', 'no_key')$$);
RESET ROLE;
SELECT count(*) AS registrations FROM staging.versioned_table WHERE relid::text LIKE '%catalog_product%';
-- a role that owns its tables versions them without being superuser
SET ROLE regress_staging_owner;
CREATE TABLE owned_product (entity_id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
CREATE TABLE owned_product_int (entity_id int REFERENCES owned_product, value int, UNIQUE (entity_id));
INSERT INTO owned_product (name) VALUES ('a'), ('b');
INSERT INTO owned_product_int VALUES (1, 10), (2, 20);
SELECT staging.enable_versioning('owned_product');
SELECT staging.add_attribute_table('owned_product_int', 'owned_product');
INSERT INTO owned_product (name) VALUES ('c') RETURNING entity_id, row_id;
SELECT * FROM staging.verify('owned_product');
SELECT staging.disable_versioning('owned_product');
INSERT INTO owned_product (name) VALUES ('d') RETURNING entity_id;
SELECT * FROM shape('owned_product');
DROP TABLE owned_product_int, owned_product;
RESET ROLE;
SELECT staging.disable_versioning('catalog_product_entity');

-- An attribute table keeps the integer type of its link column: linking
-- it rewrites nothing, versioning rewrites the main table once (to add
-- row_id bigint).  Integer row_id references the bigint row_id.
CREATE TABLE rewrites (tbl text);
CREATE FUNCTION log_rewrite() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO versioning.rewrites VALUES (pg_event_trigger_table_rewrite_oid()::regclass::text);
END
$$;
CREATE EVENT TRIGGER regress_staging_rewrites ON table_rewrite EXECUTE FUNCTION log_rewrite();
CREATE TABLE int_product (entity_id int PRIMARY KEY, sku text);
CREATE TABLE int_product_int (
    value_id     int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    attribute_id int NOT NULL,
    entity_id    int NOT NULL REFERENCES int_product ON DELETE CASCADE,
    value        int,
    UNIQUE (entity_id, attribute_id));
INSERT INTO int_product SELECT e, 'sku-' || e FROM generate_series(1, 3) e;
INSERT INTO int_product_int (attribute_id, entity_id, value)
SELECT a, e, e * 10 + a FROM generate_series(1, 3) e, generate_series(1, 2) a;
SELECT staging.enable_versioning('int_product');
SELECT staging.add_attribute_table('int_product_int', 'int_product');
DROP EVENT TRIGGER regress_staging_rewrites;
SELECT tbl, count(*) AS rewrites FROM rewrites GROUP BY tbl ORDER BY tbl;
SELECT * FROM shape('int_product_int');
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'int_product_int'::regclass AND contype = 'f';
-- it works: new entities get attribute rows, joins by row_id, cascades
INSERT INTO int_product (sku) VALUES ('sku-4') RETURNING entity_id, row_id;
INSERT INTO int_product_int (attribute_id, row_id, value) SELECT 1, row_id, 41 FROM int_product WHERE entity_id = 4;
SELECT try($$INSERT INTO int_product_int (attribute_id, row_id, value) VALUES (1, 99, 0)$$);
DELETE FROM sequence_int_product WHERE sequence_value = 1;
SELECT m.entity_id, m.row_id, i.attribute_id, i.value
  FROM int_product m JOIN int_product_int i USING (row_id) ORDER BY 1, 3;
SELECT * FROM staging.verify('int_product');
-- a row_id beyond 2^31 - 1 does not fit: 22003
UPDATE int_product SET updated_in = 1000 WHERE entity_id = 3;
INSERT INTO int_product (entity_id, row_id, sku, created_in) VALUES (3, 3000000000, 'sku-3 later', 1000);
SELECT try($$INSERT INTO int_product_int (attribute_id, row_id, value) VALUES (1, 3000000000, 31)$$);
-- only widening to bigint (without USING) is allowed, then it fits
SELECT try('ALTER TABLE int_product_int ALTER COLUMN row_id TYPE smallint');
SELECT try('ALTER TABLE int_product_int ALTER COLUMN row_id TYPE numeric');
SELECT try('ALTER TABLE int_product_int ALTER COLUMN row_id TYPE bigint USING row_id + 1');
-- the whole message
ALTER TABLE int_product_int ALTER COLUMN row_id TYPE int;
ALTER TABLE int_product_int ALTER COLUMN row_id TYPE bigint;
INSERT INTO int_product_int (attribute_id, row_id, value) VALUES (1, 3000000000, 31);
SELECT * FROM shape('int_product_int') WHERE item LIKE '%row_id%';
SELECT * FROM staging.verify('int_product');
-- linked when row_ids beyond its type exist, a table is widened first
CREATE TABLE int_product_text (entity_id int NOT NULL REFERENCES sequence_int_product ON DELETE CASCADE,
                               value text, UNIQUE (entity_id));
INSERT INTO int_product_text VALUES (2, 'two'), (3, 'three');
SELECT staging.add_attribute_table('int_product_text', 'int_product');
SELECT m.entity_id, m.row_id, t.value FROM int_product m JOIN int_product_text t USING (row_id) ORDER BY 1, 2;
SELECT * FROM shape('int_product_text') WHERE item LIKE '%row_id%';
-- disable_versioning gives the columns their integer type back
SELECT staging.disable_versioning('int_product');
SELECT * FROM shape('int_product_int');
SELECT * FROM shape('int_product_text');
SELECT entity_id, attribute_id, value FROM int_product_int ORDER BY 1, 2;
SELECT * FROM int_product_text ORDER BY 1;
DROP TABLE int_product_text, int_product_int, int_product, rewrites;
-- clone_schema copies an integer attribute table as it is, registered
CREATE SCHEMA int_shop;
CREATE TABLE int_shop.product (entity_id int PRIMARY KEY);
CREATE TABLE int_shop.product_int (entity_id int NOT NULL REFERENCES int_shop.product ON DELETE CASCADE,
                                   value int);
INSERT INTO int_shop.product VALUES (1), (2);
INSERT INTO int_shop.product_int VALUES (1, 10), (2, 20);
SELECT staging.enable_versioning('int_shop.product');
SELECT staging.add_attribute_table('int_shop.product_int', 'int_shop.product');
SELECT staging.clone_schema('int_shop', 'int_shop_copy', true);
SELECT * FROM shape('int_shop_copy.product_int');
SELECT relid, main_table, entity_column, saved FROM staging.attribute_table WHERE relid::text LIKE 'int_shop%' ORDER BY relid::text;
SELECT * FROM staging.verify('int_shop_copy.product');
SELECT staging.disable_versioning('int_shop_copy.product');
SELECT * FROM shape('int_shop_copy.product_int');
SELECT * FROM int_shop_copy.product_int ORDER BY 1;
DROP SCHEMA int_shop, int_shop_copy CASCADE;
-- A serial entity column gets back the sequence it owns, also in a clone
-- (which owns a copy of the sequence) and after its schema was renamed
-- (as swap_schemas does), not the sequence its default named when the
-- table was versioned.
CREATE SCHEMA serial_shop;
CREATE TABLE serial_shop.product (entity_id serial PRIMARY KEY, sku text);
INSERT INTO serial_shop.product (sku) VALUES ('a'), ('b');
SELECT staging.enable_versioning('serial_shop.product');
SELECT staging.clone_schema('serial_shop', 'serial_shop_copy', true);
SELECT staging.disable_versioning('serial_shop_copy.product');
ALTER SCHEMA serial_shop RENAME TO serial_shop_renamed;
SELECT staging.disable_versioning('serial_shop_renamed.product');
SELECT c.oid::regclass AS tbl, pg_get_expr(d.adbin, d.adrelid) AS entity_default,
       pg_get_serial_sequence(c.oid::regclass::text, 'entity_id') AS owned_sequence
  FROM pg_class c JOIN pg_attrdef d ON d.adrelid = c.oid
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum AND a.attname = 'entity_id'
 WHERE c.relname = 'product' AND c.relnamespace::regnamespace::text LIKE 'serial_shop%'
 ORDER BY c.oid::regclass::text;
INSERT INTO serial_shop_copy.product (sku) VALUES ('c') RETURNING entity_id;
DROP SCHEMA serial_shop_renamed, serial_shop_copy CASCADE;
-- entity ids beyond the link column's type: disable_versioning widens it
-- to renumber, and keeps it bigint
CREATE TABLE big_product (entity_id bigint PRIMARY KEY);
CREATE TABLE big_product_int (entity_id int NOT NULL REFERENCES big_product, value int);
INSERT INTO big_product VALUES (1);
INSERT INTO big_product_int VALUES (1, 10);
SELECT staging.enable_versioning('big_product');
SELECT staging.add_attribute_table('big_product_int', 'big_product');
INSERT INTO big_product (entity_id) VALUES (5000000000) RETURNING entity_id, row_id;
INSERT INTO big_product_int (row_id, value) VALUES (2, 50);
SELECT staging.disable_versioning('big_product');
SELECT * FROM big_product_int ORDER BY 1;
SELECT * FROM shape('big_product_int');
DROP TABLE big_product_int, big_product;

-- Identifiers that need quotes, in a schema not on the search path.
CREATE SCHEMA "Staging Test";
CREATE TABLE "Staging Test"."Product ""Entity""" ("Entity Id" bigint PRIMARY KEY, "SKU" text);
CREATE TABLE "Staging Test"."Product Int" (
    "Value Id" serial PRIMARY KEY,
    "Entity Id" bigint NOT NULL REFERENCES "Staging Test"."Product ""Entity""" ON DELETE CASCADE,
    "Value" int,
    UNIQUE ("Entity Id"));
CREATE TABLE "Link's" ("Product" bigint REFERENCES "Staging Test"."Product ""Entity""" ON DELETE RESTRICT);
INSERT INTO "Staging Test"."Product ""Entity""" VALUES (1, 'one'), (2, 'two');
INSERT INTO "Staging Test"."Product Int" ("Entity Id", "Value") VALUES (1, 10), (2, 20);
INSERT INTO "Link's" VALUES (2);
SELECT staging.enable_versioning('"Staging Test"."Product ""Entity"""', 'Entity Id');
SELECT staging.add_attribute_table('"Staging Test"."Product Int"', '"Staging Test"."Product ""Entity"""');
SELECT * FROM staging.versioned_tables WHERE table_name::text LIKE '%Staging%';
INSERT INTO "Staging Test"."Product ""Entity""" ("SKU") VALUES ('three') RETURNING "Entity Id", row_id;
SELECT * FROM staging.verify('"Staging Test"."Product ""Entity"""');
SELECT try($$ALTER TABLE "Staging Test"."Product ""Entity""" DROP COLUMN "Entity Id"$$);
SELECT try($$ALTER TABLE "Staging Test"."Product Int" DROP COLUMN row_id$$);
SELECT try_fkey($$DELETE FROM "Staging Test"."sequence_Product ""Entity""" WHERE sequence_value = 2$$);
SELECT * FROM shape('"Link''s"');
SELECT staging.disable_versioning('"Staging Test"."Product ""Entity"""');
SELECT * FROM shape('"Staging Test"."Product Int"');
SELECT * FROM shape('"Link''s"');
SELECT * FROM "Staging Test"."Product ""Entity""" ORDER BY 1;

-- DROP TABLE and DROP SCHEMA forget the registrations.
SELECT staging.enable_versioning('"Staging Test"."Product ""Entity"""', 'Entity Id');
SELECT staging.add_attribute_table('"Staging Test"."Product Int"', '"Staging Test"."Product ""Entity"""');
DROP TABLE "Staging Test"."Product Int";
SELECT count(*) FROM staging.attribute_table WHERE relid::text LIKE '%Staging%';
DROP TABLE "Link's";
DROP SCHEMA "Staging Test" CASCADE;
SELECT count(*) FROM staging.versioned_table WHERE relid::text LIKE '%Staging%' OR relid::text ~ '^[0-9]+$';
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_int', 'catalog_product_entity');
-- The sequence table goes only with its versioned table (or after
-- disable_versioning): dropped alone, with CASCADE, it would take the
-- entity column's default and foreign key with it.
SET client_min_messages = warning;  -- (the order of the cascade's NOTICE varies)
DROP TABLE sequence_catalog_product_entity CASCADE;
SET client_min_messages = notice;
SELECT table_name, sequence_table, attribute_tables, entities FROM staging.versioned_tables
 WHERE table_name::text LIKE 'catalog%';
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');
-- disable_versioning refuses a table with two rows of an entity at the
-- live version (made here by skipping the exclusion constraint's check),
-- and changes nothing.
SET session_replication_role = replica;
INSERT INTO catalog_product_entity (entity_id, sku, created_in, updated_in) VALUES (3, 'overlap', 1, 100);
SET session_replication_role = origin;
SELECT staging.disable_versioning('catalog_product_entity');
SELECT staging.versioned_kind('catalog_product_entity'), staging.versioned_kind('catalog_product_entity_int');
SELECT count(*) FROM catalog_product_entity WHERE entity_id = 3;
SET session_replication_role = replica;
DELETE FROM catalog_product_entity WHERE sku = 'overlap';
SET session_replication_role = origin;
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');
-- A unique key that two entities break (it is a plain index while the
-- table is versioned) keeps disable_versioning from making it unique
-- again: the error says which, and nothing changes.
INSERT INTO catalog_product_entity (sku) VALUES ('sku-1') RETURNING entity_id AS dup_entity \gset
SELECT staging.disable_versioning('catalog_product_entity');
SELECT staging.versioned_kind('catalog_product_entity');
DELETE FROM catalog_product_entity WHERE entity_id = :dup_entity;
DELETE FROM sequence_catalog_product_entity WHERE sequence_value = :dup_entity;
-- verify() reports the foreign keys that keep entities in the sequence
-- table and attribute rows attached, when they were dropped.
BEGIN;
ALTER TABLE catalog_product_entity DROP CONSTRAINT catalog_product_entity_entity_id_fkey;
ALTER TABLE catalog_product_entity_int DROP CONSTRAINT catalog_product_entity_int_row_id_fkey;
SELECT * FROM staging.verify('catalog_product_entity');
ROLLBACK;
-- and the triggers that make writes versioned, when dropped or disabled
-- (a write at a future version would then change the live row).
BEGIN;
ALTER TABLE catalog_product_entity DISABLE TRIGGER staging_write;
DROP TRIGGER staging_register_entity ON catalog_product_entity;
ALTER TABLE catalog_product_entity_int DISABLE TRIGGER USER;
SELECT * FROM staging.verify('catalog_product_entity');
ROLLBACK;
-- Dropping both, or the main table and then the sequence table, works.
BEGIN;
SET LOCAL client_min_messages = warning;
DROP TABLE catalog_product_entity, sequence_catalog_product_entity CASCADE;
SELECT count(*) FROM staging.versioned_table WHERE relid::text LIKE 'catalog%';
ROLLBACK;
DROP TABLE catalog_product_entity CASCADE;
SELECT count(*) FROM staging.versioned_table v WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = v.relid);
SELECT count(*) FROM staging.attribute_table a WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = a.relid);
-- The attribute table that stays is a plain table again: no trigger of
-- the extension left (it would also keep DROP EXTENSION from working
-- without CASCADE).
SELECT tgname FROM pg_trigger WHERE tgrelid = 'catalog_product_entity_int'::regclass AND NOT tgisinternal;

RESET search_path;
RESET staging.version;
DROP SCHEMA versioning CASCADE;
DROP SERVER regress_staging_server;
DROP FOREIGN DATA WRAPPER regress_staging_dummy;
DROP ROLE regress_staging_owner, regress_staging_other;
