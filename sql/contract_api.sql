-- The user-facing API as the README documents it: every function called
-- with its documented argument names, every view and table column read by
-- name, every setting.  Renaming any of them (or changing a type, default
-- or result column) fails this test.

-- Runs a statement; returns 'ok', or its SQLSTATE, message and hint (every
-- error a user can hit names the object and says what to do).
CREATE FUNCTION public.capi_try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hint text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(E'\nHINT: ' || nullif(hint, ''), E'\n(no hint)');
END
$$;

SELECT staging.live_version() AS live_before,
       (SELECT coalesce(max(id), 0) FROM staging.invalidations) AS invalidations_before \gset

-- Signatures: names, argument names, types and defaults, and results of
-- the documented functions (a missing one is a row with NULLs).
SELECT f.name, pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
       pg_catalog.pg_get_function_result(p.oid) AS result
  FROM unnest(ARRAY['max_version', 'to_version', 'to_timestamp', 'live_version', 'current_version',
                    'enable_versioning', 'add_attribute_table', 'disable_versioning', 'verify',
                    'versioned_kind', 'sign_preview', 'preview', 'rotate_preview_secret',
                    'create_update', 'reschedule_update', 'delete_update', 'advance',
                    'create_changelog', 'subscribe', 'unsubscribe', 'drop_changelog',
                    'add_consumer', 'drop_consumer', 'prune_changelog', 'next_batch', 'finish_batch',
                    'clone_schema', 'compare_schemas', 'swap_schemas', 'publish_invalidations',
                    'diff', 'live_only']) AS f(name)
  LEFT JOIN pg_catalog.pg_proc p
    ON p.pronamespace = 'staging'::regnamespace AND p.proname = f.name
 ORDER BY 1, 2;

-- Columns of the tables and views users read.
SELECT c.relname, c.relkind, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
 WHERE c.oid IN ('staging.updates'::regclass, 'staging.invalidations'::regclass,
                 'staging.versioned_tables'::regclass, 'staging.changelog_status'::regclass,
                 'staging.update_overview'::regclass, 'staging.live_only_tables'::regclass)
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum;

-- Settings.
SELECT name, vartype, unit, context, boot_val
  FROM pg_catalog.pg_settings
 WHERE name IN ('staging.version', 'staging.scheduler_databases', 'staging.scheduler_naptime',
                'staging.invalidate_after_replay', 'staging.replay_wait_timeout')
 ORDER BY name;

-- Versions.
SELECT staging.max_version() = 9223372036854775807 AS max_version,
       staging.to_version('2077-03-01 00:00+00') AS to_version,
       staging.to_timestamp(3381782400) AT TIME ZONE 'UTC' AS to_timestamp,
       staging.live_version() = :live_before AS live_version,
       staging.current_version() = :live_before AS current_version;
SELECT capi_try($$SELECT staging.to_version('-infinity')$$);

-- Versioned tables, with the documented argument names.
CREATE SCHEMA capi;
CREATE TABLE capi.product (id serial PRIMARY KEY, sku text NOT NULL, price numeric);
CREATE TABLE capi.product_decimal (value_id serial PRIMARY KEY,
    id int NOT NULL REFERENCES capi.product ON DELETE CASCADE,
    attribute_id int NOT NULL, value numeric, UNIQUE (id, attribute_id));
INSERT INTO capi.product (sku, price) VALUES ('tee', 10), ('cap', 5);
INSERT INTO capi.product_decimal (id, attribute_id, value) VALUES (1, 77, 10), (2, 77, 5);
SELECT staging.enable_versioning(tbl => 'capi.product', entity_column => 'id');
SELECT staging.add_attribute_table(attribute_table => 'capi.product_decimal', main_table => 'capi.product');
SELECT table_name, entity_column, sequence_table, attribute_tables, entities, rows
  FROM staging.versioned_tables WHERE table_name = 'capi.product'::regclass;
SELECT entity_id, problem FROM staging.verify(tbl => 'capi.product');
-- [1, max) and the sequence table's column.
SELECT id, created_in, updated_in = staging.max_version() AS open_end FROM capi.product ORDER BY id;
SELECT sequence_value FROM capi.sequence_product ORDER BY 1;
SELECT staging.versioned_kind(tbl => 'capi.product_decimal');

-- Updates.
SELECT staging.create_update(name => 'capi sale', start_time => '2077-03-01 00:00+00',
                             end_time => '2077-03-08 00:00+00', description => 'a week') AS sale \gset
SELECT staging.create_update(name => 'capi later', start_time => '2077-04-01 00:00+00') AS later \gset
SELECT id = :sale AS is_start, name, description, start_time AT TIME ZONE 'UTC' AS start_time,
       end_time AT TIME ZONE 'UTC' AS end_time, rollback_id = staging.to_version(end_time) AS rollback_id
  FROM staging.updates WHERE id IN (:sale, :later) ORDER BY id;
SELECT capi_try($$SELECT staging.create_update(name => 'capi past', start_time => '2001-01-01 00:00+00')$$);
SELECT capi_try($$SELECT staging.create_update(name => 'capi backwards', start_time => '2077-05-02 00:00+00',
                                               end_time => '2077-05-01 00:00+00')$$);

-- Writing at an update's start, at another version, in history.
SET staging.version = :sale;
UPDATE capi.product SET price = 8 WHERE id = 1;
UPDATE capi.product_decimal d SET value = 8 FROM capi.product p
 WHERE d.row_id = p.row_id AND p.id = 1;
-- a timestamp spelling of the same version
SET staging.version = '2077-03-01 00:00+00';
SHOW staging.version;
SELECT staging.current_version() = :sale AS current_is_sale;
SELECT id, sku, price FROM capi.product ORDER BY id;
SET staging.version = '2077-03-02 00:00+00';
SELECT capi_try('UPDATE capi.product SET price = 1');
SET staging.version = 'all';
SELECT staging.current_version() IS NULL AS all_has_no_version;
SELECT id, price, created_in = 1 AS from_start FROM capi.product ORDER BY id, created_in;
RESET staging.version;

SELECT entity_id, change, field, old_value, new_value
  FROM staging.diff(tbl => 'capi.product', from_version => staging.live_version(), to_version => :sale)
 ORDER BY 1, 3;
SELECT name, status, start_time AT TIME ZONE 'UTC' AS start_time, end_time AT TIME ZONE 'UTC' AS end_time,
       table_name, entities
  FROM staging.update_overview WHERE id IN (:sale, :later) ORDER BY id, table_name::text;

-- Previews.
SELECT staging.sign_preview(version => :sale, valid_for => '1 hour') AS token \gset
BEGIN;
SELECT staging.preview(token => :'token', is_local => true) = :sale AS local_preview;
SELECT price FROM capi.product WHERE id = 1;
COMMIT;
SELECT staging.current_version() = staging.live_version() AS back_to_live;
SELECT staging.preview(token => :'token') = :sale AS session_preview;
RESET staging.version;

-- Changelogs.
SELECT staging.create_changelog(name => 'capi', main_table => 'capi.product');
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = 'capi.capi_cl'::regclass AND a.attname IN ('version_id', 'entity_id')
 ORDER BY a.attnum;
SELECT staging.subscribe(name => 'capi', tbl => 'capi.product_decimal', columns => ARRAY['value']::name[]);
UPDATE capi.product SET sku = 'cap2' WHERE id = 2;
SELECT batch_id IS NOT NULL AS batch, entity_id
  FROM staging.next_batch(name => 'capi', consumer => 'capi_indexer', max_entities => 10);
-- (the same batch again until it is finished)
SELECT max(batch_id) AS batch FROM staging.next_batch(name => 'capi', consumer => 'capi_indexer') \gset
SELECT changelog, consumer, pending_entities, oldest_pending_age IS NOT NULL AS has_age
  FROM staging.changelog_status WHERE changelog = 'capi';
SELECT staging.finish_batch(name => 'capi', consumer => 'capi_indexer', batch_id => :batch);
SELECT changelog, consumer, pending_entities, oldest_pending_age
  FROM staging.changelog_status WHERE changelog = 'capi';
SELECT staging.unsubscribe(name => 'capi', tbl => 'capi.product_decimal');
SELECT staging.drop_changelog(name => 'capi');

-- Live-only tables.
CREATE TABLE capi.orders (id int);
SELECT staging.live_only(tbl => 'capi.orders');
SELECT table_name, enforced FROM staging.live_only_tables WHERE table_name = 'capi.orders'::regclass;
SET staging.version = :sale;
SELECT capi_try('INSERT INTO capi.orders VALUES (1)');
RESET staging.version;
SELECT staging.live_only(tbl => 'capi.orders', enabled => false);

-- Moving, deleting and going live.
SELECT staging.reschedule_update(id => :sale, start_time => '2077-03-02 00:00+00',
                                 end_time => '2077-03-09 00:00+00') AS sale \gset
SELECT staging.delete_update(id => :later);
SELECT staging.advance(until => '2077-03-02 12:00+00') = :sale AS sale_live;
SELECT name, status FROM staging.update_overview WHERE id = :sale;
SELECT kind, detail->'started' = pg_catalog.jsonb_build_array(:sale) AS started, valid_from IS NOT NULL AS valid_from,
       created_at IS NOT NULL AS created_at
  FROM staging.invalidations WHERE id > :invalidations_before ORDER BY id DESC LIMIT 1;
SET staging.version = '2077-03-01 00:00+00';
SELECT capi_try('UPDATE capi.product SET price = 2');
RESET staging.version;

-- Guards.
SELECT capi_try('ALTER TABLE capi.product DROP COLUMN row_id');
SELECT capi_try('ALTER TABLE capi.product ALTER COLUMN created_in TYPE numeric');
SELECT capi_try('ALTER TABLE capi.product DROP COLUMN updated_in');
SELECT capi_try('ALTER TABLE capi.product ALTER COLUMN id TYPE text');
SELECT capi_try('ALTER TABLE capi.product DROP COLUMN id');
SELECT capi_try('ALTER TABLE capi.product_decimal DROP COLUMN row_id');
SELECT capi_try($$INSERT INTO capi.product (sku, created_in) VALUES ('x', NULL)$$);
SELECT capi_try($$SELECT staging.enable_versioning(tbl => 'capi.product')$$);
SELECT capi_try($$SELECT staging.enable_versioning(tbl => 'capi.product_decimal')$$);
SELECT capi_try($$SELECT staging.add_attribute_table(attribute_table => 'capi.product_decimal', main_table => 'capi.product')$$);
SELECT capi_try($$SELECT staging.verify(tbl => 'capi.orders')$$);
SELECT capi_try($$SELECT staging.diff(tbl => 'capi.orders', from_version => 1, to_version => 2)$$);
SELECT capi_try($$SELECT staging.subscribe(name => 'nope', tbl => 'capi.product')$$);
SELECT capi_try($$SET staging.version = 'yesterday-ish'$$);

-- Schemas: clone, compare, swap (and back).
SELECT staging.clone_schema(source => 'capi', target => 'capi_import', with_data => true);
DELETE FROM capi_import.product WHERE id = 2;
SELECT table_name, live_rows, candidate_rows, difference, difference_pct
  FROM staging.compare_schemas(live => 'capi', candidate => 'capi_import') ORDER BY 1;
SELECT capi_try($$SELECT staging.swap_schemas(live => 'capi', candidate => 'capi_import', max_difference_pct => 5)$$);
SELECT staging.swap_schemas(live => 'capi', candidate => 'capi_import', max_difference_pct => 60,
                            lock_timeout => '1s', max_wait => '10s');
SELECT count(*) FROM capi.product;
SELECT staging.swap_schemas(live => 'capi', candidate => 'capi_import');
SELECT count(*) FROM capi.product;
CREATE VIEW public.capi_outside AS SELECT sku FROM capi.product;
SELECT capi_try($$SELECT staging.swap_schemas(live => 'capi', candidate => 'capi_import')$$);
DROP VIEW public.capi_outside;
SELECT kind, detail FROM staging.invalidations
 WHERE id > :invalidations_before AND kind = 'schema_swap' ORDER BY id;

-- DROP TABLE forgets the registration; disable_versioning.
DROP SCHEMA capi_import CASCADE;
SELECT count(*) FROM staging.versioned_tables WHERE table_name::text LIKE 'capi_import.%';
SELECT staging.disable_versioning(tbl => 'capi.product');
SELECT count(*) FROM staging.versioned_tables WHERE table_name::text LIKE 'capi.%';

DROP SCHEMA capi CASCADE;
DELETE FROM staging.updates WHERE name LIKE 'capi %';
DELETE FROM staging.invalidations WHERE id > :invalidations_before;
UPDATE staging.live_state SET version = :live_before;
DROP FUNCTION public.capi_try(text);
