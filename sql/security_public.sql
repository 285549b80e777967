-- Internal functions that PUBLIC may execute check the caller's rights,
-- and what PUBLIC may read tells nothing of the future.
SET timezone = 'UTC';
-- Errors with their SQLSTATE.
CREATE FUNCTION public.sp_try(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE ROLE regress_sp_owner;
CREATE ROLE regress_sp_intruder;
CREATE SCHEMA sp AUTHORIZATION regress_sp_owner;
CREATE SCHEMA sp_own AUTHORIZATION regress_sp_intruder;
GRANT USAGE ON SCHEMA sp TO regress_sp_intruder;
GRANT CREATE ON DATABASE contrib_regression TO regress_sp_intruder;
SET ROLE regress_sp_owner;
CREATE TABLE sp.item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO sp.item VALUES (1, 'a');
SELECT staging.enable_versioning('sp.item');
GRANT SELECT ON sp.item, sp.sequence_item TO regress_sp_intruder;
RESET ROLE;
SELECT staging.create_changelog('sp_item', 'sp.item') IS NOT NULL AS created;

-- The SECURITY DEFINER functions PUBLIC may execute: each checks its
-- caller or does only what is harmless (_record_swap and _swap_changelogs
-- only inside swap_schemas; prune_changelog removes only what every
-- consumer finished, _changelog_forget_restored only rows of transactions
-- this server never ran).
SELECT p.oid::regprocedure
  FROM pg_proc p
 WHERE p.pronamespace = 'staging'::regnamespace AND p.prosecdef
   AND has_function_privilege('regress_sp_intruder', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;

SET ROLE regress_sp_intruder;
-- The default of the entity column claims ids only for roles that may
-- insert into the versioned table.
SELECT public.sp_try($$SELECT staging._next_entity_id('sp.sequence_item')$$);
SELECT public.sp_try($$SELECT staging._next_entity_id(NULL)$$);
-- Registering one's own table with another role's sequence table, or as
-- an attribute table of another role's main table, is refused.
CREATE TABLE sp_own.mine (entity_id bigint, row_id bigint, created_in bigint, updated_in bigint);
SELECT public.sp_try($$INSERT INTO staging.versioned_table (relid, entity_column, sequence_table)
                       VALUES ('sp_own.mine', 'entity_id', 'sp.sequence_item')$$);
SELECT public.sp_try($$INSERT INTO staging.attribute_table (relid, main_table, entity_column)
                       VALUES ('sp_own.mine', 'sp.item', 'entity_id')$$);
-- Subscribing a table of one's own to another role's changelog through
-- the clone helper is refused.
BEGIN;
CREATE SCHEMA sp_clone;
CREATE TABLE sp_clone.item (entity_id bigint);
SELECT public.sp_try($$SELECT staging._changelog_clone('sp'::regnamespace, 'sp_clone'::regnamespace)$$);
ROLLBACK;
SELECT count(*) FROM staging.changelog_subscription WHERE changelog = 'sp_item';
-- Moving another role's log table through the swap helper is refused.
SELECT public.sp_try($$SELECT staging._swap_changelogs('sp'::regnamespace, 'sp_own'::regnamespace)$$);
SELECT log_table FROM staging.changelog WHERE name = 'sp_item';
-- staging.versioned_tables: counts of every version only for those who
-- may read every version; NULL for the others, not an error.
SELECT table_name, entities, rows FROM staging.versioned_tables WHERE table_name = 'sp.item'::regclass;
RESET ROLE;
SELECT table_name, entities, rows FROM staging.versioned_tables WHERE table_name = 'sp.item'::regclass;
SET ROLE regress_sp_owner;
SELECT table_name, entities, rows FROM staging.versioned_tables WHERE table_name = 'sp.item'::regclass;
RESET ROLE;
-- A sequence table lists entities that exist only in the future: only
-- its owner may read it, whatever default privileges say.
SET ROLE regress_sp_owner;
ALTER DEFAULT PRIVILEGES IN SCHEMA sp GRANT SELECT ON TABLES TO regress_sp_intruder, PUBLIC;
CREATE TABLE sp.item2 (entity_id bigint PRIMARY KEY);
SELECT staging.enable_versioning('sp.item2');
INSERT INTO sp.item2 DEFAULT VALUES;
ALTER DEFAULT PRIVILEGES IN SCHEMA sp REVOKE SELECT ON TABLES FROM regress_sp_intruder, PUBLIC;
RESET ROLE;
SELECT has_table_privilege('regress_sp_intruder', 'sp.item2', 'SELECT') AS main,
       has_table_privilege('regress_sp_intruder', 'sp.sequence_item2', 'SELECT') AS sequence_table;
SET ROLE regress_sp_intruder;
SELECT public.sp_try('SELECT * FROM sp.sequence_item2');
RESET ROLE;
-- The access method of a versioned table stays: an intruder can neither
-- change it nor unregister the table (which would give it heap back).
SET ROLE regress_sp_intruder;
SELECT public.sp_try($$SELECT staging._table_am_sync('sp.item')$$);
SELECT public.sp_try($$ALTER TABLE sp.item SET ACCESS METHOD heap$$);
SELECT public.sp_try($$DELETE FROM staging.versioned_table WHERE relid = 'sp.item'::regclass$$);
SELECT public.sp_try($$UPDATE staging.versioned_table SET saved = '{}' WHERE relid = 'sp.item'::regclass$$);
SELECT public.sp_try($$SELECT staging._run_as_clone_owner('sp.item', 'SELECT 1', 'pg_catalog')$$);
SELECT public.sp_try($$DROP EXTENSION staging$$);
RESET ROLE;
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'sp.item'::regclass;
-- NULL arguments of _move_foreign_key: 23502, not an internal error.
SELECT public.sp_try($$SELECT staging._move_foreign_key(NULL, NULL, NULL, NULL)$$);
-- The attribute filter the planner gives the owner of the main table
-- (staging._attribute_visible_owned) checks the version for everyone
-- else: called by hand at a future version, it would tell which row ids
-- that version shows (which entities an update changes, and when).
SELECT staging.create_update('sp sale', now() + interval '1 day') AS sp_sale \gset
SET ROLE regress_sp_owner;
SET staging.version = :sp_sale;
UPDATE sp.item SET sku = 'b' WHERE entity_id = 1;
SELECT row_id AS sp_sale_row FROM sp.item WHERE entity_id = 1 \gset
RESET staging.version;
SELECT staging._attribute_visible_owned('sp.item', 1) AS live_row_at_live,
       staging._attribute_visible_owned('sp.item', :sp_sale_row) AS sale_row_at_live;
SET staging.version = :sp_sale;
SELECT staging._attribute_visible_owned('sp.item', 1) AS live_row_in_sale,
       staging._attribute_visible_owned('sp.item', :sp_sale_row) AS sale_row_in_sale;
RESET staging.version;
RESET ROLE;
SET ROLE regress_sp_intruder;
SELECT staging._attribute_visible_owned('sp.item', 1) AS live_row_at_live;
SET staging.version = :sp_sale;
\set VERBOSITY sqlstate
SELECT staging._attribute_visible_owned('sp.item', :sp_sale_row) AS sale_row_in_sale;
SELECT staging._attribute_visible_owned('sp.item', 1) AS live_row_in_sale;
SET staging.version = 'all';
SELECT staging._attribute_visible_owned('sp.item', :sp_sale_row) AS sale_row_at_all;
\set VERBOSITY default
RESET staging.version;
RESET ROLE;

DROP SCHEMA sp, sp_own CASCADE;
DELETE FROM staging.updates WHERE id = :sp_sale;
DROP FUNCTION public.sp_try(text);
REVOKE CREATE ON DATABASE contrib_regression FROM regress_sp_intruder;
DROP ROLE regress_sp_owner, regress_sp_intruder;
