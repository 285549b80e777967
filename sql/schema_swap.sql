-- staging.swap_schemas: exchanges two schemas in one transaction; relations
-- keep their OIDs; prepared statements and PL/pgSQL follow the names;
-- every refusal has its SQLSTATE and changes nothing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE SCHEMA sw_live;
CREATE TABLE sw_live.item (id int PRIMARY KEY, copy text NOT NULL);
CREATE TABLE sw_live.item_price (id int PRIMARY KEY REFERENCES sw_live.item, price numeric);
INSERT INTO sw_live.item SELECT g, 'old' FROM generate_series(1, 10) g;
INSERT INTO sw_live.item_price SELECT g, g FROM generate_series(1, 10) g;
-- A versioned table (registered directly) and a trigger of its own.
CREATE TABLE sw_live.sequence_page (sequence_value bigint PRIMARY KEY);
CREATE TABLE sw_live.page (row_id bigserial PRIMARY KEY, entity_id bigint NOT NULL,
    created_in bigint NOT NULL, updated_in bigint NOT NULL, title text);
CREATE FUNCTION public.sw_title_upper() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.title := upper(NEW.title); RETURN NEW; END $$;
CREATE TRIGGER page_upper BEFORE INSERT ON sw_live.page
    FOR EACH ROW EXECUTE FUNCTION public.sw_title_upper();
INSERT INTO staging.versioned_table (relid, entity_column, sequence_table)
    VALUES ('sw_live.page', 'entity_id', 'sw_live.sequence_page');

-- The import: a clone with data, then changed.
SELECT staging.clone_schema('sw_live', 'sw_import', true);
UPDATE sw_import.item SET copy = 'new';
INSERT INTO sw_import.item VALUES (11, 'new');
INSERT INTO sw_import.item_price VALUES (11, 11);
SELECT * FROM staging.compare_schemas('sw_live', 'sw_import');

-- Readers that name the live schema: a prepared statement (with a generic
-- plan), one that finds the table through search_path, a PL/pgSQL function.
SET plan_cache_mode = force_generic_plan;
PREPARE read_live AS
    SELECT i.copy, count(*), sum(p.price)
      FROM sw_live.item i JOIN sw_live.item_price p USING (id) GROUP BY 1;
SET search_path = sw_live, public;
PREPARE read_unqualified AS SELECT copy, count(*) FROM item GROUP BY 1;
RESET search_path;
CREATE FUNCTION public.sw_read() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    SELECT string_agg(DISTINCT copy, ',') || ':' || count(*) INTO result FROM sw_live.item;
    RETURN result;
END
$$;
EXECUTE read_live;
SET search_path = sw_live, public;
EXECUTE read_unqualified;
RESET search_path;
SELECT public.sw_read();
CREATE TEMP TABLE sw_oids AS
    SELECT 'sw_live.item'::regclass::oid AS live_item, 'sw_import.item'::regclass::oid AS import_item;

SELECT staging.swap_schemas('sw_live', 'sw_import', max_difference_pct => 10);
-- The new copy is live, under the same names; the old one is the candidate.
EXECUTE read_live;
SET search_path = sw_live, public;
EXECUTE read_unqualified;
RESET search_path;
SELECT public.sw_read();
SELECT 'sw_live.item'::regclass::oid = import_item AS data_kept_its_oid,
       'sw_import.item'::regclass::oid = live_item AS old_copy_kept_its_oid
  FROM sw_oids;
SELECT copy, count(*) FROM sw_import.item GROUP BY 1;
-- One invalidation per swap.
SELECT kind, detail, valid_from <= now() + interval '1 minute' AS has_time
  FROM staging.invalidations ORDER BY id DESC LIMIT 1;
-- Registrations and triggers follow the tables.
SELECT staging.versioned_kind('sw_live.page') AS live_page,
       staging.versioned_kind('sw_import.page') AS import_page;
SELECT relid, sequence_table FROM staging.versioned_table WHERE relid::text LIKE 'sw_%' ORDER BY relid::text;
INSERT INTO sw_live.page (entity_id, created_in, updated_in, title) VALUES (1, 1, 2, 'shout')
    RETURNING title;

-- Calling it again swaps back.
SELECT staging.swap_schemas('sw_live', 'sw_import');
EXECUTE read_live;
SELECT public.sw_read();
SELECT count(*) AS invalidations FROM staging.invalidations WHERE kind = 'schema_swap'
   AND detail = '{"live": "sw_live", "candidate": "sw_import"}';
RESET plan_cache_mode;

-- Refusals: each leaves both schemas as they were.
SELECT staging.swap_schemas('sw_live', 'sw_missing');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas(NULL, 'sw_import');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'sw_live');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'staging');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'sw_import', lock_timeout => '0');
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'sw_import', max_wait => '-1s');
\echo :LAST_ERROR_SQLSTATE
-- Too different: 22023, listing the tables.
DELETE FROM sw_import.item_price WHERE id > 5;
CREATE TABLE sw_import.only_here (x int);
SELECT staging.swap_schemas('sw_live', 'sw_import', max_difference_pct => 20);
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'sw_import', max_difference_pct => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT staging.swap_schemas('sw_live', 'sw_import', max_difference_pct => 'NaN');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE sw_import.only_here;
-- Outside objects that depend on the schemas' objects: 2BP01 naming them.
CREATE VIEW public.sw_view AS SELECT id FROM sw_live.item;
CREATE TABLE public.sw_order (item_id int REFERENCES sw_import.item);
CREATE FUNCTION public.sw_count() RETURNS bigint LANGUAGE sql
    BEGIN ATOMIC SELECT count(*) FROM sw_live.item_price; END;
CREATE FUNCTION public.sw_label(i sw_live.item) RETURNS text LANGUAGE sql AS 'SELECT i.copy';
SELECT staging.swap_schemas('sw_live', 'sw_import');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW public.sw_view;
DROP TABLE public.sw_order;
DROP FUNCTION public.sw_count(), public.sw_label(sw_live.item);
-- Not the owner of both schemas: 42501.
CREATE ROLE sw_owner;
CREATE ROLE sw_stranger;
DO $$BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO sw_owner', current_database()); END$$;
GRANT USAGE ON SCHEMA sw_live, sw_import TO sw_stranger, sw_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA sw_live TO sw_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA sw_import TO sw_owner;
SET ROLE sw_stranger;
SELECT staging.swap_schemas('sw_live', 'sw_import');
\echo :LAST_ERROR_SQLSTATE
SELECT staging._swap_lock('sw_live'::regnamespace, 'sw_import'::regnamespace, 100, 100);
\echo :LAST_ERROR_SQLSTATE
SELECT staging._record_swap('sw_live'::regnamespace, 'sw_import'::regnamespace);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER SCHEMA sw_import OWNER TO sw_owner;
SET ROLE sw_owner;
SELECT staging.swap_schemas('sw_live', 'sw_import');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'sw\_%' ORDER BY 1;
SELECT copy, count(*) FROM sw_live.item GROUP BY 1;
SELECT count(*) AS swaps FROM staging.invalidations WHERE kind = 'schema_swap'
   AND detail->>'live' = 'sw_live';
-- The owner of both schemas may swap (no superuser needed).
ALTER SCHEMA sw_live OWNER TO sw_owner;
SET ROLE sw_owner;
SELECT staging.swap_schemas('sw_live', 'sw_import');
SELECT copy, count(*) FROM sw_live.item GROUP BY 1;
SELECT staging.swap_schemas('sw_live', 'sw_import');
RESET ROLE;
SELECT count(*) AS swaps FROM staging.invalidations WHERE kind = 'schema_swap'
   AND detail->>'live' = 'sw_live';
-- Inside a transaction that rolls back, nothing happened.
BEGIN;
SELECT staging.swap_schemas('sw_live', 'sw_import');
SELECT copy, count(*) FROM sw_live.item GROUP BY 1;
ROLLBACK;
SELECT copy, count(*) FROM sw_live.item GROUP BY 1;
SELECT count(*) AS swaps FROM staging.invalidations WHERE kind = 'schema_swap'
   AND detail->>'live' = 'sw_live';

-- A changelog of the live schema: its log table keeps its name through the
-- swaps (the clone's empty copy of it goes to the other schema), so does
-- its main table; the live tables stay watched, and dropping the backup
-- leaves the changelog, its consumers and its triggers in place.
CREATE SCHEMA sw_cat;
CREATE TABLE sw_cat.product (entity_id int PRIMARY KEY, price int);
INSERT INTO sw_cat.product VALUES (1, 10), (2, 20);
SELECT staging.create_changelog('sw_cat_idx', 'sw_cat.product');
SELECT staging.add_consumer('sw_cat_idx', 'idx');
SELECT staging.clone_schema('sw_cat', 'sw_cat_import', true);
UPDATE sw_cat_import.product SET price = 21 WHERE entity_id = 2;
SELECT staging.swap_schemas('sw_cat', 'sw_cat_import');
SELECT main_table, log_table FROM staging.changelog WHERE name = 'sw_cat_idx';
SELECT count(*) AS copy_rows FROM sw_cat_import.sw_cat_idx_cl;
SELECT entity_id FROM staging.next_batch('sw_cat_idx', 'idx');
SELECT staging.finish_batch('sw_cat_idx', 'idx', batch_id)
  FROM staging.next_batch('sw_cat_idx', 'idx') LIMIT 1;
SELECT staging.swap_schemas('sw_cat', 'sw_cat_import');   -- back
SELECT main_table, log_table FROM staging.changelog WHERE name = 'sw_cat_idx';
SELECT staging.swap_schemas('sw_cat', 'sw_cat_import');   -- and forth
DROP SCHEMA sw_cat_import CASCADE;
SELECT main_table, log_table FROM staging.changelog WHERE name = 'sw_cat_idx';
SELECT tbl FROM staging.changelog_subscription WHERE changelog = 'sw_cat_idx';
UPDATE sw_cat.product SET price = 30 WHERE entity_id = 1;
SELECT entity_id FROM staging.next_batch('sw_cat_idx', 'idx');
SELECT staging.drop_changelog('sw_cat_idx');
DROP SCHEMA sw_cat CASCADE;
DELETE FROM staging.invalidations WHERE detail->>'live' = 'sw_cat';

DEALLOCATE read_live;
DEALLOCATE read_unqualified;
DELETE FROM staging.versioned_table WHERE relid::text LIKE 'sw_%';
DELETE FROM staging.invalidations WHERE detail->>'live' = 'sw_live';
DROP SCHEMA sw_live, sw_import CASCADE;
DROP FUNCTION public.sw_read(), public.sw_title_upper();
DO $$BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM sw_owner', current_database()); END$$;
DROP ROLE sw_owner, sw_stranger;
