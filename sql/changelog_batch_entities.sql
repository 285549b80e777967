-- next_batch counts distinct entities: an entity logged again and again
-- takes one place of max_entities; the batch repeats as it was until it
-- is finished, and the next one starts after it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE SCHEMA cbe;
CREATE TABLE cbe.item (entity_id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO cbe.item SELECT g FROM generate_series(1, 6) g;
SELECT staging.create_changelog('cbe', 'cbe.item') AS log_table;
SELECT staging.add_consumer('cbe', 'search');
-- Entity 1 changes in five transactions, then 2, 1 again, 3, 4, 5, 6.
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 2;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 1;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 3;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 4;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 5;
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 6;
SELECT pending_entities FROM staging.changelog_status WHERE changelog = 'cbe';

-- Two entities per batch: 1 and 2 (with 1's later row), then 3 and 4.
SELECT array_agg(entity_id ORDER BY entity_id) AS entities, count(DISTINCT batch_id) AS batches
  FROM staging.next_batch('cbe', 'search', 2);
SELECT array_agg(entity_id ORDER BY entity_id) AS again
  FROM staging.next_batch('cbe', 'search', 2);
SELECT staging.finish_batch('cbe', 'search', current_batch)
  FROM staging.changelog_status WHERE changelog = 'cbe';
SELECT pending_entities FROM staging.changelog_status WHERE changelog = 'cbe';
SELECT array_agg(entity_id ORDER BY entity_id) AS entities
  FROM staging.next_batch('cbe', 'search', 2);
SELECT staging.finish_batch('cbe', 'search', current_batch)
  FROM staging.changelog_status WHERE changelog = 'cbe';
-- One per batch: 5, then 6, then nothing.
SELECT array_agg(entity_id ORDER BY entity_id) AS entities
  FROM staging.next_batch('cbe', 'search', 1);
SELECT staging.finish_batch('cbe', 'search', current_batch)
  FROM staging.changelog_status WHERE changelog = 'cbe';
SELECT array_agg(entity_id ORDER BY entity_id) AS entities
  FROM staging.next_batch('cbe', 'search', 1);
SELECT staging.finish_batch('cbe', 'search', current_batch)
  FROM staging.changelog_status WHERE changelog = 'cbe';
SELECT count(*) AS rows FROM staging.next_batch('cbe', 'search', 1);
SELECT pending_entities, current_batch FROM staging.changelog_status WHERE changelog = 'cbe';

-- Many rows of one entity (40 transactions) before the next: the batch
-- still reaches it (it reads up to 64 rows per place of max_entities).
\set ECHO none
SELECT 'UPDATE cbe.item SET n = n + 1 WHERE entity_id = 2'
  FROM generate_series(1, 40) \gexec
\set ECHO all
UPDATE cbe.item SET n = n + 1 WHERE entity_id = 3;
SELECT array_agg(entity_id ORDER BY entity_id) AS entities
  FROM staging.next_batch('cbe', 'search', 2);

DROP SCHEMA cbe CASCADE;
