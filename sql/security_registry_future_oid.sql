-- The registries of versioned tables and attribute tables are writable
-- by every role, for the tables it owns.  A role must not register an
-- OID that names no relation yet: the next table (or TOAST table) that
-- anyone creates with it would become versioned, linked to the
-- attacker's sequence table or main table, unreadable and impossible to
-- version.  Registrations name existing relations only.
SET timezone = 'UTC';
CREATE ROLE regress_srf_mallory;
CREATE ROLE regress_srf_owner;
CREATE SCHEMA srf AUTHORIZATION regress_srf_mallory;
CREATE SCHEMA srf_shop AUTHORIZATION regress_srf_owner;
CREATE FUNCTION public.srf_try(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END
$$;
SET ROLE regress_srf_mallory;
CREATE TABLE srf.seq (sequence_value bigint PRIMARY KEY);
CREATE TABLE srf.item (entity_id bigint PRIMARY KEY, sku text);
SELECT staging.enable_versioning('srf.item');
-- OIDs that the next relations will get.
CREATE TABLE srf.probe ();
SELECT 'srf.probe'::regclass::oid::bigint AS base \gset
SELECT public.srf_try(format($$INSERT INTO staging.versioned_table (relid, entity_column, sequence_table)
                             SELECT (%s + i)::oid::regclass, 'entity_id', 'srf.seq' FROM generate_series(1, 100) i$$,
                             :base));
SELECT public.srf_try(format($$INSERT INTO staging.attribute_table (relid, main_table, entity_column)
                             VALUES (%s, 'srf.item', 'entity_id')$$, :base + 101));
-- Nor a link to a relation that does not exist, nor a move to one.
SELECT public.srf_try(format($$INSERT INTO staging.versioned_table (relid, entity_column, sequence_table)
                             VALUES ('srf.probe', 'entity_id', %s)$$, :base + 102));
SELECT public.srf_try(format($$INSERT INTO staging.attribute_table (relid, main_table, entity_column)
                             VALUES ('srf.probe', %s, 'entity_id')$$, :base + 103));
SELECT public.srf_try(format($$UPDATE staging.versioned_table SET sequence_table = %s WHERE relid = 'srf.item'::regclass$$,
                             :base + 105));
SELECT count(*) FROM staging.versioned_table WHERE sequence_table = 'srf.seq'::regclass;
SELECT count(*) FROM staging.attribute_table WHERE main_table = 'srf.item'::regclass;
RESET ROLE;
-- Another role's tables created next are plain tables, and can be versioned.
SET ROLE regress_srf_owner;
CREATE TABLE srf_shop.orders (entity_id bigint PRIMARY KEY, note text);
CREATE TABLE srf_shop.order_lines (entity_id bigint REFERENCES srf_shop.orders, line text);
INSERT INTO srf_shop.orders VALUES (1, 'first');
SELECT staging.versioned_kind('srf_shop.orders') AS orders_kind,
       staging.versioned_kind('srf_shop.order_lines') AS lines_kind;
SELECT entity_id, note FROM srf_shop.orders;
SELECT staging.enable_versioning('srf_shop.orders');
SELECT entity_id, note FROM srf_shop.orders;
RESET ROLE;
-- Clean up (registrations naming no relation first, as an attack that
-- worked would have left them).
DELETE FROM staging.attribute_table a WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = a.relid);
DELETE FROM staging.versioned_table v WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = v.relid);
DROP SCHEMA srf_shop CASCADE;
DROP SCHEMA srf CASCADE;
DROP FUNCTION public.srf_try(text);
DROP ROLE regress_srf_owner;
DROP ROLE regress_srf_mallory;
