-- staging.clone_schema and staging.compare_schemas: the clone has the same
-- tables, sequences (with their values), defaults, identities, constraints,
-- indexes, views, triggers, privileges, comments and versioning
-- registrations; foreign keys and defaults point inside the clone.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE sc_reader;
CREATE SCHEMA sc_live;
COMMENT ON SCHEMA sc_live IS 'the live catalog';
GRANT USAGE ON SCHEMA sc_live TO sc_reader;
CREATE FUNCTION sc_live.stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.note := coalesce(NEW.note, '') || 'stamped';
    RETURN NEW;
END
$$;
CREATE TABLE public.sc_outside (code text PRIMARY KEY);
INSERT INTO public.sc_outside VALUES ('EUR');
CREATE TABLE sc_live.product (
    entity_id serial PRIMARY KEY,
    sku       text NOT NULL CONSTRAINT product_sku_key UNIQUE,
    note      text,
    currency  text REFERENCES public.sc_outside,
    price     numeric(12,2) CONSTRAINT price_positive CHECK (price >= 0),
    weight    numeric DEFAULT 1.5,
    price2    numeric GENERATED ALWAYS AS (price * 2) STORED
) WITH (fillfactor = 90);
COMMENT ON TABLE sc_live.product IS 'products';
COMMENT ON COLUMN sc_live.product.sku IS 'stock keeping unit';
CREATE INDEX product_lower_sku ON sc_live.product (lower(sku)) WHERE price > 0;
CREATE TABLE sc_live.product_decimal (
    value_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_id   int NOT NULL REFERENCES sc_live.product ON DELETE CASCADE,
    attribute   int NOT NULL,
    value       numeric,
    CONSTRAINT product_decimal_excl EXCLUDE USING btree (entity_id WITH =, attribute WITH =)
);
CREATE SEQUENCE sc_live.order_number START 1000 INCREMENT 10;
SELECT nextval('sc_live.order_number'), nextval('sc_live.order_number');
CREATE TABLE sc_live.sales_order (
    id     int PRIMARY KEY DEFAULT nextval('sc_live.order_number'),
    ref    text DEFAULT 'ORD-' || nextval('sc_live.order_number')
);
CREATE TRIGGER product_stamp BEFORE INSERT ON sc_live.product
    FOR EACH ROW EXECUTE FUNCTION sc_live.stamp();
CREATE TRIGGER product_stamp_disabled BEFORE UPDATE OF sku ON sc_live.product
    FOR EACH ROW WHEN (OLD.sku IS DISTINCT FROM NEW.sku) EXECUTE FUNCTION sc_live.stamp();
ALTER TABLE sc_live.product DISABLE TRIGGER product_stamp_disabled;
CREATE VIEW sc_live.priced AS
    SELECT p.sku, d.value FROM sc_live.product p JOIN sc_live.product_decimal d USING (entity_id);
CREATE VIEW sc_live.priced_count AS SELECT count(*) AS n FROM sc_live.priced;
CREATE MATERIALIZED VIEW sc_live.sku_list AS SELECT sku FROM sc_live.product;
GRANT SELECT ON sc_live.product, sc_live.priced TO sc_reader;
GRANT SELECT (value) ON sc_live.product_decimal TO sc_reader;
INSERT INTO sc_live.product (sku, currency, price) VALUES ('tee', 'EUR', 10), ('hoodie', NULL, 40);
INSERT INTO sc_live.product_decimal (entity_id, attribute, value) VALUES (1, 77, 10), (2, 77, 40);
INSERT INTO sc_live.sales_order DEFAULT VALUES;
-- A versioned main table with an attribute table, registered directly.
CREATE TABLE sc_live.sequence_page (sequence_value bigint PRIMARY KEY);
CREATE TABLE sc_live.page (row_id bigserial PRIMARY KEY, entity_id bigint NOT NULL,
    created_in bigint NOT NULL, updated_in bigint NOT NULL, title text);
CREATE TABLE sc_live.page_text (row_id bigint REFERENCES sc_live.page ON DELETE CASCADE, body text);
INSERT INTO staging.versioned_table (relid, entity_column, sequence_table)
    VALUES ('sc_live.page', 'entity_id', 'sc_live.sequence_page');
INSERT INTO staging.attribute_table (relid, main_table, entity_column)
    VALUES ('sc_live.page_text', 'sc_live.page', 'page_id');

-- Without data.
SELECT staging.clone_schema('sc_live', 'sc_import');
SELECT count(*) AS product_rows FROM sc_import.product;
-- The same relations, the same columns and defaults, the same constraints
-- and indexes under the same names (the clone's sequences in the defaults).
SELECT c.relname, c.relkind, c.relpersistence, c.reloptions,
       obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c WHERE c.relnamespace = 'sc_import'::regnamespace ORDER BY 1;
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'sc_live'::regnamespace)
     = (SELECT count(*) FROM pg_class WHERE relnamespace = 'sc_import'::regnamespace)
       AS same_number_of_relations;
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) AS default,
       col_description(c.oid, a.attnum) AS comment
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'sc_import'::regnamespace AND c.relkind = 'r'
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 1, a.attnum;
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE c.relnamespace = 'sc_import'::regnamespace AND k.contype <> 'n' ORDER BY 1, 2;
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'sc_import'::regnamespace ORDER BY indexrelid::regclass::text;
SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'sc_import.%' AND NOT tgisinternal
 ORDER BY tgrelid::regclass::text, 2;
SELECT pg_get_viewdef('sc_import.priced_count');
-- Sequences: same values, identity and serial sequences owned by the clone.
SELECT last_value, is_called FROM sc_import.order_number;
SELECT pg_get_serial_sequence('sc_import.product', 'entity_id') AS serial,
       pg_get_serial_sequence('sc_import.product_decimal', 'value_id') AS identity;
SELECT last_value, is_called FROM sc_import.product_entity_id_seq;
SELECT last_value, is_called FROM sc_import.product_decimal_value_id_seq;
-- Nothing in the clone refers to a relation of the source (functions may).
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS dependent,
       pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS referenced
  FROM pg_depend d
 WHERE staging._object_schema(d.classid, d.objid) = 'sc_import'::regnamespace
   AND staging._object_schema(d.refclassid, d.refobjid) = 'sc_live'::regnamespace
 ORDER BY 1, 2;
-- Privileges, comments of the schema.  The owner's MAINTAIN (m, from
-- PostgreSQL 17 on) is left out of the ACLs.
SELECT c.relname, regexp_replace(c.relacl::text, '(=[^/]*)m', '\1', 'g') AS relacl FROM pg_class c
 WHERE c.relnamespace = 'sc_import'::regnamespace AND c.relacl IS NOT NULL ORDER BY 1;
SELECT attname, attacl FROM pg_attribute
 WHERE attrelid = 'sc_import.product_decimal'::regclass AND attacl IS NOT NULL;
SELECT has_schema_privilege('sc_reader', 'sc_import', 'USAGE') AS reader_usage,
       obj_description('sc_import'::regnamespace, 'pg_namespace') AS schema_comment;
-- Versioning registrations name the clone's tables.
SELECT relid, entity_column, sequence_table FROM staging.versioned_table
 WHERE relid::text LIKE 'sc_%' ORDER BY relid::text;
SELECT relid, main_table, entity_column FROM staging.attribute_table
 WHERE relid::text LIKE 'sc_%' ORDER BY relid::text;
SELECT staging.versioned_kind('sc_import.page') AS page, staging.versioned_kind('sc_import.page_text') AS page_text;
-- The clone works: inserts take the clone's sequences, triggers fire.
INSERT INTO sc_import.product (sku, price) VALUES ('new', 1) RETURNING entity_id, sku, note, price2;
INSERT INTO sc_import.sales_order DEFAULT VALUES RETURNING *;
SELECT last_value FROM sc_live.order_number;
INSERT INTO sc_import.product_decimal (entity_id, attribute, value) VALUES (99, 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM staging.compare_schemas('sc_live', 'sc_import');
DROP SCHEMA sc_import CASCADE;

-- With data: every row, sequences at their values, materialized views filled.
SELECT staging.clone_schema('sc_live', 'sc_import', with_data => true);
SELECT * FROM staging.compare_schemas('sc_live', 'sc_import');
SELECT entity_id, sku, note, price, price2 FROM sc_import.product ORDER BY 1;
SELECT value_id, entity_id, value FROM sc_import.product_decimal ORDER BY 1;
SELECT * FROM sc_import.sku_list ORDER BY 1;
INSERT INTO sc_import.product_decimal (entity_id, attribute, value) VALUES (2, 78, 1) RETURNING value_id;
DELETE FROM sc_import.product WHERE sku = 'hoodie';
SELECT * FROM staging.compare_schemas('sc_live', 'sc_import');
SELECT count(*) AS live_decimals_untouched FROM sc_live.product_decimal;

-- Errors.
SELECT staging.clone_schema('sc_missing', 'sc_other');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.clone_schema('sc_live', 'sc_import');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.clone_schema('sc_live', 'sc_live');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.clone_schema('sc_live', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT staging.clone_schema('sc_live', 'staging');
\echo :LAST_ERROR_SQLSTATE
-- System schemas and the extension's are no source either.
SELECT staging.clone_schema('staging', 'sc_other');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.clone_schema('pg_catalog', 'sc_other');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.compare_schemas('sc_live', 'sc_missing');
\echo :LAST_ERROR_SQLSTATE
CREATE SCHEMA sc_parted;
CREATE TABLE sc_parted.log (at date) PARTITION BY RANGE (at);
SELECT staging.clone_schema('sc_parted', 'sc_parted_copy');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_left FROM pg_namespace WHERE nspname = 'sc_parted_copy';

DELETE FROM staging.attribute_table WHERE relid::text LIKE 'sc_%';
DELETE FROM staging.versioned_table WHERE relid::text LIKE 'sc_%';
DROP SCHEMA sc_live, sc_import, sc_parted CASCADE;
DROP TABLE public.sc_outside;
DROP ROLE sc_reader;
