-- disable_versioning restores what enable_versioning and
-- add_attribute_table saved in the registry (the entity column's default,
-- the actions of an attribute table's foreign key).  The owner of a table
-- may change its own registration, so that text is the owner's: it never
-- runs with the rights of a superuser turning versioning off (a statement
-- smuggled into it would make the owner a superuser).
SET timezone = 'UTC';
CREATE ROLE regress_srs_owner;
CREATE SCHEMA srs AUTHORIZATION regress_srs_owner;
CREATE FUNCTION public.srs_try(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    -- (PostgreSQL 15 and 18 word the refused ALTER ROLE differently)
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM,
        '^(must be superuser to alter superuser roles or change superuser attribute|permission denied to alter role)$',
        'denied: ALTER ROLE');
END
$$;
SET ROLE regress_srs_owner;
CREATE SEQUENCE srs.ids;
CREATE TABLE srs.item (entity_id bigint PRIMARY KEY DEFAULT nextval('srs.ids'), sku text);
CREATE TABLE srs.product (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE srs.product_text (value_id serial PRIMARY KEY,
                               entity_id bigint NOT NULL REFERENCES srs.product ON DELETE CASCADE,
                               attribute_id int NOT NULL, value text);
INSERT INTO srs.item (sku) VALUES ('mug');
INSERT INTO srs.product VALUES (1, 'cup');
INSERT INTO srs.product_text (entity_id, attribute_id, value) VALUES (1, 1, 'one');
SELECT staging.enable_versioning('srs.item');
SELECT staging.enable_versioning('srs.product');
SELECT staging.add_attribute_table('srs.product_text', 'srs.product');
SELECT saved->>'entity_default' AS entity_default FROM staging.versioned_table WHERE relid = 'srs.item'::regclass;
SELECT saved->>'actions' AS actions FROM staging.attribute_table WHERE relid = 'srs.product_text'::regclass;
-- The owner smuggles statements into its registrations.
UPDATE staging.versioned_table
   SET saved = saved || jsonb_build_object('entity_default', 'NULL; ALTER ROLE regress_srs_owner SUPERUSER')
 WHERE relid = 'srs.item'::regclass;
UPDATE staging.attribute_table
   SET saved = saved || jsonb_build_object('actions', '; ALTER ROLE regress_srs_owner SUPERUSER')
 WHERE relid = 'srs.product_text'::regclass;
RESET ROLE;
-- A superuser turns versioning off.
SELECT public.srs_try($$SELECT staging.disable_versioning('srs.item')$$);
SELECT public.srs_try($$SELECT staging.disable_versioning('srs.product')$$);
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_srs_owner';
SELECT staging.versioned_kind('srs.item') AS item, staging.versioned_kind('srs.product') AS product;
-- With the registrations as they were saved, it works.
SET ROLE regress_srs_owner;
UPDATE staging.versioned_table SET saved = saved || '{"entity_default": "nextval(''srs.ids''::regclass)"}'
 WHERE relid = 'srs.item'::regclass;
UPDATE staging.attribute_table SET saved = saved || '{"actions": " ON UPDATE NO ACTION ON DELETE CASCADE"}'
 WHERE relid = 'srs.product_text'::regclass;
RESET ROLE;
SELECT staging.disable_versioning('srs.item');
SELECT staging.disable_versioning('srs.product');
SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = 'srs.item'::regclass;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'srs.product_text'::regclass AND contype = 'f';
-- Clean up.
DROP SCHEMA srs CASCADE;
DROP FUNCTION public.srs_try(text);
DROP ROLE regress_srs_owner;
