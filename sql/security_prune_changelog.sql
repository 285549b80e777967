-- staging.prune_changelog runs as the extension's owner and every role
-- may call it: it removes only the rows every consumer finished.  A
-- changelog without consumers keeps its rows (for the first consumer that
-- next_batch registers): a role that may not even read the log cannot
-- empty it.
SET timezone = 'UTC';
CREATE ROLE regress_spc_intruder;
CREATE SCHEMA spc;
CREATE TABLE spc.item (entity_id bigint PRIMARY KEY, sku text);
SELECT staging.create_changelog('spc_feed', 'spc.item');
INSERT INTO spc.item VALUES (1, 'mug'), (2, 'cup');
SELECT count(*) AS logged FROM spc.spc_feed_cl;
SET ROLE regress_spc_intruder;
SELECT staging.prune_changelog('spc_feed') AS pruned;
RESET ROLE;
SELECT count(*) AS kept FROM spc.spc_feed_cl;
-- The first consumer receives them, and once it finished them they go.
SELECT entity_id FROM staging.next_batch('spc_feed', 'feed') ORDER BY 1;
SELECT staging.finish_batch('spc_feed', 'feed', batch_id)
  FROM staging.next_batch('spc_feed', 'feed') LIMIT 1;
SELECT count(*) AS pending FROM staging.next_batch('spc_feed', 'feed');
SELECT count(*) AS left_in_log FROM spc.spc_feed_cl;
-- Clean up.
SELECT staging.drop_changelog('spc_feed');
DROP SCHEMA spc CASCADE;
DROP ROLE regress_spc_intruder;
