-- Changelogs: which entities changed, for indexers.
CREATE SCHEMA cl_test;
SET search_path = cl_test, public;
\set SHOW_CONTEXT never
-- Runs a statement, shows its SQLSTATE and message if it fails.
CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- A plain catalog: products, a relation table (by entity) and an EAV table.
CREATE TABLE product (entity_id int PRIMARY KEY, sku text, price numeric, note text);
CREATE TABLE product_website (entity_id int, website_id int, PRIMARY KEY (entity_id, website_id));
CREATE TABLE no_entity (id int PRIMARY KEY);

SELECT staging.create_changelog('product_idx', 'product');
\d product_idx_cl
SELECT changelog, tbl, columns FROM staging.changelog_subscription ORDER BY 1, 2;
SELECT staging.add_consumer('product_idx', 'search');

-- Logs the entity of INSERT, UPDATE and DELETE; next_batch returns each
-- entity once, ordered.
INSERT INTO product VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30);
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
-- Not finished: the same batch again, with the same id.
SELECT count(DISTINCT batch_id) AS batches, count(*) AS entities
  FROM (SELECT * FROM staging.next_batch('product_idx', 'search')
        UNION ALL SELECT * FROM staging.next_batch('product_idx', 'search')) b;
SELECT staging.finish_batch('product_idx', 'search',
       (SELECT batch_id FROM staging.next_batch('product_idx', 'search') LIMIT 1));
SELECT * FROM staging.next_batch('product_idx', 'search');   -- nothing left

-- Only real changes: same values, and NULL = NULL, log nothing.
UPDATE product SET price = price, note = NULL;
UPDATE product SET price = 10.00 WHERE entity_id = 1;  -- numeric equality: 10 = 10.00
SELECT count(*) AS logged FROM product_idx_cl;
UPDATE product SET note = 'new' WHERE entity_id = 2;   -- NULL -> value
UPDATE product SET note = NULL WHERE entity_id = 3 AND note IS NULL; -- no change
DELETE FROM product WHERE entity_id = 3;
SELECT entity_id FROM staging.next_batch('product_idx', 'search');

-- Moved entity: both the old and the new one.
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
UPDATE product SET entity_id = 4 WHERE entity_id = 2;
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;

-- Subscribed columns only: sku changes are not logged, price changes are;
-- subscribing again replaces the list.
SELECT staging.subscribe('product_idx', 'product', ARRAY['price']);
UPDATE product SET sku = 'a2' WHERE entity_id = 1;
SELECT count(*) AS after_sku FROM staging.next_batch('product_idx', 'search');
UPDATE product SET price = 11 WHERE entity_id = 1;
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'product'::regclass ORDER BY 1;
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;

-- A relation table logs its entity column.
SELECT staging.subscribe('product_idx', 'product_website');
INSERT INTO product_website VALUES (1, 1), (1, 2), (4, 1);
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;

-- A log table changed by its owner (here: a column with a default) is
-- written through an INSERT statement, which applies the default.
ALTER TABLE product_idx_cl ADD COLUMN source text DEFAULT 'trigger';
ALTER TABLE product_idx_cl ALTER COLUMN source SET DEFAULT 'insert';
UPDATE product SET price = 16 WHERE entity_id = 4;
SELECT entity_id, source FROM product_idx_cl WHERE txid = (SELECT max(txid) FROM product_idx_cl);
ALTER TABLE product_idx_cl DROP COLUMN source;
UPDATE product SET price = 17 WHERE entity_id = 4;
SELECT entity_id FROM product_idx_cl WHERE txid = (SELECT max(txid) FROM product_idx_cl);
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;

-- Bulk: a statement touching one entity many times logs it once per
-- transaction; a rolled back subtransaction forgets what it logged.
CREATE TABLE product_text (entity_id int, attribute_id int, value text,
                           PRIMARY KEY (entity_id, attribute_id));
SELECT staging.subscribe('product_idx', 'product_text');
INSERT INTO product_text SELECT e, a, 'v' FROM generate_series(1, 100) e, generate_series(1, 50) a;
SELECT count(*) AS rows_logged, count(DISTINCT entity_id) AS entities FROM product_idx_cl
 WHERE txid = (SELECT max(txid) FROM product_idx_cl);
BEGIN;
UPDATE product_text SET value = 'w' WHERE entity_id <= 10;
UPDATE product_text SET value = 'x' WHERE entity_id <= 20;
SAVEPOINT s;
UPDATE product_text SET value = 'y' WHERE entity_id = 30;
ROLLBACK TO SAVEPOINT s;
UPDATE product_text SET value = 'z' WHERE entity_id = 30;
SELECT count(*) AS rows_logged, count(DISTINCT entity_id) AS entities FROM product_idx_cl
 WHERE txid = pg_current_xact_id();
COMMIT;

-- TRUNCATE fires no row trigger; a statement trigger logs every entity
-- the table held.
CREATE TABLE product_tag (entity_id int, tag text);
SELECT staging.subscribe('product_idx', 'product_tag');
INSERT INTO product_tag VALUES (7, 'a'), (7, 'b'), (8, 'a'), (NULL, 'orphan');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
TRUNCATE product_tag;
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
-- Its owner retypes the entity column to something that is not an
-- integer: writes are refused with a clear error rather than logging
-- made-up entity ids, until the column is an integer again.
CREATE TYPE tag_entity AS ENUM ('7', '8');
ALTER TABLE product_tag ALTER COLUMN entity_id TYPE tag_entity USING entity_id::text::tag_entity;
SELECT try($$INSERT INTO product_tag VALUES ('8', 'c')$$);
ALTER TABLE product_tag ALTER COLUMN entity_id TYPE int USING entity_id::text::int;
INSERT INTO product_tag VALUES (8, 'c');
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
SELECT staging.unsubscribe('product_idx', 'product_tag');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'product_tag'::regclass;
DROP TABLE product_tag;
DROP TYPE tag_entity;

-- A partitioned table: its partitions' rows are logged.
CREATE TABLE product_stock (entity_id int, source int, qty int) PARTITION BY LIST (source);
CREATE TABLE product_stock_1 PARTITION OF product_stock FOR VALUES IN (1);
SELECT staging.subscribe('product_idx', 'product_stock');
INSERT INTO product_stock VALUES (9, 1, 5);
SELECT entity_id FROM staging.next_batch('product_idx', 'search');
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
-- Its partitions are covered: subscribing one too is refused, and so is
-- subscribing a partitioned table one of whose partitions is subscribed.
SELECT try($$SELECT staging.subscribe('product_idx', 'product_stock_1', ARRAY['qty'])$$);
SELECT staging.unsubscribe('product_idx', 'product_stock');
SELECT staging.subscribe('product_idx', 'product_stock_1');
SELECT try($$SELECT staging.subscribe('product_idx', 'product_stock')$$);
SELECT staging.subscribe('product_idx', 'product_stock_1', ARRAY['qty']);  -- again: fine
SELECT tbl, columns FROM staging.changelog_subscription
 WHERE tbl::text LIKE 'product_stock%' ORDER BY 1;
DROP TABLE product_stock;

-- A clone of a schema (staging.clone_schema) gets the triggers and the
-- subscriptions: an import into the clone is logged, for the swap.
CREATE SCHEMA cl_live;
CREATE TABLE cl_live.gear (entity_id int PRIMARY KEY, price int);
SELECT staging.create_changelog('gear_idx', 'cl_live.gear');
SELECT staging.add_consumer('gear_idx', 'idx');
SELECT staging.clone_schema('cl_live', 'cl_import');
SELECT changelog, tbl, columns FROM staging.changelog_subscription
 WHERE changelog = 'gear_idx' ORDER BY tbl::text;
INSERT INTO cl_import.gear VALUES (1, 10);
SELECT entity_id FROM staging.next_batch('gear_idx', 'idx');
SELECT staging.drop_changelog('gear_idx');
DROP SCHEMA cl_live, cl_import CASCADE;
-- The same with tables of another role, who may not run the changelog's
-- trigger functions: the clone still gets the triggers and logs.
CREATE ROLE regress_cl_owner;
CREATE SCHEMA cl_owned AUTHORIZATION regress_cl_owner;
SET ROLE regress_cl_owner;
CREATE TABLE cl_owned.gear (entity_id int PRIMARY KEY, price int);
RESET ROLE;
SELECT staging.create_changelog('owned_idx', 'cl_owned.gear');
SELECT staging.add_consumer('owned_idx', 'idx');
SELECT staging.clone_schema('cl_owned', 'cl_owned_import');
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'cl_owned_import.gear'::regclass ORDER BY 1;
SET ROLE regress_cl_owner;
INSERT INTO cl_owned_import.gear VALUES (1, 10);
RESET ROLE;
SELECT entity_id FROM staging.next_batch('owned_idx', 'idx');
SELECT staging.drop_changelog('owned_idx');
DROP SCHEMA cl_owned, cl_owned_import CASCADE;
DROP ROLE regress_cl_owner;

-- Two changelogs on one table keep their own triggers.
SELECT staging.create_changelog('price_idx', 'product');
SELECT staging.add_consumer('price_idx', 'feed');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'product'::regclass ORDER BY 1;
UPDATE product SET sku = 'a3' WHERE entity_id = 1;  -- price_idx watches all columns
SELECT 'price_idx' AS cl, entity_id FROM staging.next_batch('price_idx', 'feed');

-- The trigger writes as the owner of the log table: a writer needs no
-- privilege on it.
CREATE ROLE regress_cl_writer;
GRANT USAGE ON SCHEMA cl_test TO regress_cl_writer;
GRANT SELECT, UPDATE ON product TO regress_cl_writer;
SET ROLE regress_cl_writer;
UPDATE product SET price = 15 WHERE entity_id = 4;
SELECT count(*) FROM product_idx_cl;   -- denied
RESET ROLE;
SELECT entity_id FROM product_idx_cl WHERE txid = (SELECT max(txid) FROM product_idx_cl);
REVOKE ALL ON SCHEMA cl_test FROM regress_cl_writer;
REVOKE ALL ON product FROM regress_cl_writer;
DROP ROLE regress_cl_writer;

-- A consumer needs only SELECT on the log table; it sees and moves only the
-- consumers of changelogs it may read.
CREATE ROLE regress_cl_indexer;
GRANT USAGE ON SCHEMA cl_test TO regress_cl_indexer;
GRANT SELECT ON product_idx_cl TO regress_cl_indexer;
SET ROLE regress_cl_indexer;
SELECT staging.add_consumer('product_idx', 'indexer_role');
SELECT entity_id FROM staging.next_batch('product_idx', 'indexer_role');
UPDATE product SET price = 18 WHERE entity_id = 4;   -- denied: not a writer
SELECT consumer FROM staging.changelog_consumer ORDER BY 1;
SELECT changelog, consumer FROM staging.changelog_status ORDER BY 1, 2;
SELECT try($$SELECT staging.next_batch('price_idx', 'feed')$$);
SELECT try($$SELECT staging.add_consumer('price_idx', 'mine')$$);
-- Changing changelogs is for the extension's owner: a clear 42501.
SELECT try($$SELECT staging.create_changelog('mine', 'product')$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product')$$);
SELECT try($$SELECT staging.unsubscribe('product_idx', 'product')$$);
SELECT try($$SELECT staging.drop_changelog('product_idx')$$);
WITH moved AS (UPDATE staging.changelog_consumer SET batch_id = NULL
                WHERE consumer = 'feed' RETURNING 1)
SELECT count(*) AS moved_feed FROM moved;
SELECT staging.drop_consumer('product_idx', 'indexer_role');
RESET ROLE;
REVOKE ALL ON SCHEMA cl_test FROM regress_cl_indexer;
REVOKE ALL ON product_idx_cl FROM regress_cl_indexer;
DROP ROLE regress_cl_indexer;
SELECT consumer, batch_id IS NOT NULL AS in_batch FROM staging.changelog_consumer ORDER BY 1;

-- Status: pending entities and the age of the oldest pending change.
SELECT changelog, consumer, pending_entities, oldest_pending_age IS NOT NULL AS has_age,
       current_batch IS NOT NULL AS in_batch
  FROM staging.changelog_status ORDER BY 1, 2;

-- Pruning removes only what every consumer finished.
SELECT staging.add_consumer('product_idx', 'slow');
UPDATE product SET price = 12 WHERE entity_id = 1;
SELECT b.batch_id IS NOT NULL AS got FROM staging.next_batch('product_idx', 'search') b LIMIT 1;
SELECT staging.finish_batch('product_idx', 'search', batch_id)
  FROM staging.next_batch('product_idx', 'search') LIMIT 1;
SELECT count(*) FROM staging.next_batch('product_idx', 'search');  -- closes the window, prunes
SELECT entity_id FROM product_idx_cl ORDER BY version_id;           -- 'slow' still needs it
SELECT entity_id FROM staging.next_batch('product_idx', 'slow');
SELECT staging.finish_batch('product_idx', 'slow', batch_id)
  FROM staging.next_batch('product_idx', 'slow') LIMIT 1;
SELECT count(*) FROM staging.next_batch('product_idx', 'slow');
SELECT staging.prune_changelog('product_idx') AS pruned_now;  -- next_batch pruned already
SELECT count(*) AS left_in_log FROM product_idx_cl;

-- Errors, with their SQLSTATE.
SELECT try($$SELECT staging.next_batch('nope', 'search')$$);
SELECT try($$SELECT staging.next_batch('product_idx', '')$$);
SELECT try($$SELECT staging.finish_batch('product_idx', 'nobody', 1)$$);
SELECT try($$SELECT staging.finish_batch('product_idx', 'search', -1)$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'no_entity')$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product', ARRAY['price', 'colour'])$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product', ARRAY['price', NULL])$$);
SELECT try($$SELECT staging.subscribe('nope', 'product')$$);
SELECT try($$SELECT staging.unsubscribe('product_idx', 'no_entity')$$);
SELECT try($$SELECT staging.create_changelog('product_idx', 'product')$$);
SELECT try($$SELECT staging.create_changelog('Bad Name', 'product')$$);
-- The log table's name is taken (by a table or a type); a changelog's own
-- log table, and relations that are not tables, cannot be watched.
CREATE TABLE taken_cl (id int);
CREATE TYPE typed_cl AS (id int);
CREATE VIEW product_view AS SELECT * FROM product;
SELECT try($$SELECT staging.create_changelog('typed', 'product')$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product_idx_cl')$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product_view')$$);
SELECT try($$SELECT staging.create_changelog('view', 'product_view')$$);
SELECT tbl FROM staging.changelog_subscription WHERE changelog = 'product_idx' ORDER BY 1;
DROP TYPE typed_cl;
DROP VIEW product_view;
-- Temporary tables vanish at the end of the session without a DROP that
-- would update the registries: refused.
CREATE TEMP TABLE product_tmp (entity_id int PRIMARY KEY);
SELECT try($$SELECT staging.create_changelog('tmp_idx', 'product_tmp')$$);
SELECT try($$SELECT staging.subscribe('product_idx', 'product_tmp')$$);
DROP TABLE product_tmp;
-- A log table dropped without the event trigger (session_replication_role
-- = replica skips it): the changelog can still be dropped.
SELECT staging.create_changelog('gone', 'product') IS NOT NULL AS created;
SET session_replication_role = replica;
DROP TABLE gone_cl;
RESET session_replication_role;
SELECT try($$SELECT staging.drop_changelog('gone')$$);
SELECT count(*) AS left FROM staging.changelog WHERE name = 'gone';
SELECT try($$SELECT staging.add_consumer('product_idx', 'search')$$);
SELECT try($$SELECT staging.next_batch('product_idx', 'search', 0)$$);
-- A batch that is not the current one (an old, finished one).
SELECT staging.finish_batch('product_idx', 'search', batch_id) FROM staging.next_batch('product_idx', 'search') LIMIT 1;
UPDATE product SET price = 14 WHERE entity_id = 1;
SELECT count(*) FROM staging.next_batch('product_idx', 'search');
SELECT regexp_replace(try(format('SELECT staging.finish_batch(%L, %L, %s)', 'product_idx', 'search',
                  (SELECT batch_id - 1 FROM staging.changelog_consumer WHERE consumer = 'search'))),
                      'batch \d+', 'batch N') AS try;
-- The message names the objects and says what to do.
SELECT staging.finish_batch('product_idx', 'nobody', 1);
SELECT staging.subscribe('product_idx', 'no_entity');
SELECT staging.create_changelog('taken', 'product');
DROP TABLE taken_cl;
-- A main table without an entity column to log.
CREATE TABLE no_key (a int, b text);
SELECT staging.create_changelog('no_key', 'no_key');
DROP TABLE no_key;

-- DROP TABLE forgets the table's subscriptions; dropping a log table drops
-- its changelog and the triggers that wrote into it.
DROP TABLE product_website;
SELECT tbl FROM staging.changelog_subscription WHERE changelog = 'product_idx' ORDER BY 1;
DROP TABLE price_idx_cl;
SELECT name FROM staging.changelog ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'product'::regclass ORDER BY 1;
UPDATE product SET sku = 'a4' WHERE entity_id = 1;

-- Unsubscribe and drop leave no trigger behind.
SELECT staging.unsubscribe('product_idx', 'product_text');
SELECT staging.drop_changelog('product_idx');
SELECT tgrelid::regclass, tgname FROM pg_trigger
 WHERE tgfoid = 'staging._changelog_trigger'::regproc;
SELECT count(*) FROM staging.changelog;
SELECT count(*) FROM staging.changelog_consumer;

-- Logging that fires another changelog's trigger (a trigger of the log
-- table's owner writes a watched table): both log, and each trigger call
-- leaves SPI as it found it.
CREATE TABLE product_feed (entity_id int PRIMARY KEY);
SELECT staging.create_changelog('chain_a', 'product');
SELECT staging.create_changelog('chain_b', 'product_feed');
CREATE FUNCTION feed_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cl_test.product_feed VALUES (NEW.entity_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER feed AFTER INSERT ON chain_a_cl FOR EACH ROW EXECUTE FUNCTION feed_product();
UPDATE product SET price = 21 WHERE entity_id = 1;
DO $$
BEGIN
    UPDATE cl_test.product SET price = 22 WHERE entity_id = 4;
    UPDATE cl_test.product SET price = 23 WHERE entity_id = 4;
    PERFORM count(*) FROM cl_test.product;
END
$$;
SELECT entity_id FROM chain_a_cl ORDER BY version_id;
SELECT entity_id FROM chain_b_cl ORDER BY version_id;
SELECT staging.drop_changelog('chain_a');
SELECT staging.drop_changelog('chain_b');
DROP TABLE product_feed;
DROP FUNCTION feed_product();

-- A consumer that next_batch sees for the first time is registered: it
-- has finished nothing, so it gets every change the log still holds, and
-- nothing is pruned before it finished them.
SELECT staging.create_changelog('late', 'product') IS NOT NULL AS created;
UPDATE product SET price = 31 WHERE entity_id = 1;
UPDATE product SET price = 32 WHERE entity_id = 4;
SELECT entity_id FROM late_cl ORDER BY version_id;
SELECT count(*) AS consumers FROM staging.changelog_consumer WHERE changelog = 'late';
SELECT entity_id FROM staging.next_batch('late', 'newcomer') ORDER BY 1;
SELECT consumer FROM staging.changelog_status WHERE changelog = 'late';
SELECT staging.prune_changelog('late') AS pruned_while_unfinished;
SELECT staging.finish_batch('late', 'newcomer', batch_id)
  FROM staging.next_batch('late', 'newcomer') LIMIT 1;
UPDATE product SET price = 33 WHERE entity_id = 4;
SELECT entity_id FROM staging.next_batch('late', 'newcomer') ORDER BY 1;
SELECT staging.drop_changelog('late');

DROP SCHEMA cl_test CASCADE;
