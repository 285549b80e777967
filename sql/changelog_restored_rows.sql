-- Changelog rows restored from a dump of another server carry that
-- server's transaction ids, which may be ids this server has not handed
-- out yet.  They are no changes of this server: a consumer added after the
-- restore neither counts them as pending nor receives them later (when
-- this server's transaction counter passes them); add_consumer and the
-- prunes delete them.  Rows of this server are kept.
CREATE SCHEMA cl_restored;
CREATE TABLE cl_restored.product (entity_id int PRIMARY KEY, price int);
SELECT staging.create_changelog('restored_idx', 'cl_restored.product');
SELECT staging.add_consumer('restored_idx', 'old');
INSERT INTO cl_restored.product VALUES (1, 10);
-- Rows as a restore writes them: one of a transaction of the future, one
-- of the past.
INSERT INTO cl_restored.restored_idx_cl (entity_id, txid, changed_at)
VALUES (2, (pg_current_xact_id()::text::bigint + 1000000)::text::xid8, now() - interval '1 day'),
       (3, '3', now() - interval '1 day');
SELECT entity_id FROM cl_restored.restored_idx_cl ORDER BY 1;
-- A consumer added now starts with what commits after it: nothing pending.
SELECT staging.add_consumer('restored_idx', 'search');
SELECT consumer, pending_entities, oldest_pending_age < interval '1 hour' AS recent
  FROM staging.changelog_status WHERE changelog = 'restored_idx' ORDER BY 1;
-- The row from the future is gone, the others stay for consumer "old".
SELECT entity_id FROM cl_restored.restored_idx_cl ORDER BY 1;
SELECT entity_id FROM staging.next_batch('restored_idx', 'old');

-- Nor does a consumer that next_batch registers (it receives every change
-- the changelog holds, but not those).
INSERT INTO cl_restored.restored_idx_cl (entity_id, txid)
VALUES (5, (pg_current_xact_id()::text::bigint + 1000000)::text::xid8);
SELECT entity_id FROM staging.next_batch('restored_idx', 'new') ORDER BY 1;
SELECT consumer, pending_entities FROM staging.changelog_status
 WHERE changelog = 'restored_idx' AND consumer = 'new';
SELECT count(*) AS rows_of_the_future FROM cl_restored.restored_idx_cl WHERE entity_id = 5;

-- A transaction that writes changes and prunes keeps its own rows, also
-- when its id is the newest.
BEGIN;
UPDATE cl_restored.product SET price = 11 WHERE entity_id = 1;
INSERT INTO cl_restored.restored_idx_cl (entity_id, txid)
VALUES (4, (pg_current_xact_id()::text::bigint + 1000000)::text::xid8);
SELECT staging.prune_changelog('restored_idx') >= 1 AS pruned;
SELECT entity_id, txid = pg_current_xact_id() AS own FROM cl_restored.restored_idx_cl
 WHERE txid >= pg_current_xact_id() ORDER BY 1;
COMMIT;

SELECT staging.drop_changelog('restored_idx');
DROP SCHEMA cl_restored CASCADE;
