-- Writes after a swap, in a session that wrote before it: the statements
-- the write triggers prepared name tables by schema, and the swap renames
-- the schemas, so they are prepared again and each write stays in the
-- table it was made to (never the other schema's).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE SCHEMA swr_live;
CREATE TABLE swr_live.page (entity_id bigint PRIMARY KEY, title text);
CREATE TABLE swr_live.page_tag (entity_id bigint REFERENCES swr_live.page, tag text);
INSERT INTO swr_live.page VALUES (1, 'one'), (2, 'two');
INSERT INTO swr_live.page_tag VALUES (1, 'a'), (2, 'b');
SELECT staging.enable_versioning('swr_live.page');
SELECT staging.add_attribute_table('swr_live.page_tag', 'swr_live.page');
SELECT staging.clone_schema('swr_live', 'swr_import', true);
-- An update went live: a live edit keeps the rows before it as history
-- (it writes a new version row); a second one is scheduled.
SELECT staging.create_update('swr live', '2045-01-01 00:00+00') AS l \gset
SELECT staging.advance('2045-01-01 00:00+00') = :l AS live;
SELECT staging.create_update('swr', '2045-02-01 00:00+00') AS u \gset

-- The import is edited at the live version and at the update's version
-- (new version rows of entity 1, with copies of its tag), then swapped in.
UPDATE swr_import.page SET title = 'one (import, live)' WHERE entity_id = 1;
SET staging.version = :u;
UPDATE swr_import.page SET title = 'one (import)' WHERE entity_id = 1;
RESET staging.version;
SELECT staging.swap_schemas('swr_live', 'swr_import');

-- The same session edits the new live tables, then the backup.
UPDATE swr_live.page SET title = 'two (live)' WHERE entity_id = 2;
SET staging.version = :u;
UPDATE swr_live.page SET title = 'two (future)' WHERE entity_id = 2;
UPDATE swr_import.page SET title = 'one (backup)' WHERE entity_id = 1;
SET staging.version = 'all';
SELECT 'swr_live' AS schema, entity_id, title, created_in, updated_in
  FROM swr_live.page
UNION ALL
SELECT 'swr_import', entity_id, title, created_in, updated_in FROM swr_import.page
ORDER BY 1 DESC, 2, 4;
SELECT 'swr_live' AS schema, p.entity_id, t.tag, p.created_in
  FROM swr_live.page_tag t JOIN swr_live.page p USING (row_id)
UNION ALL
SELECT 'swr_import', p.entity_id, t.tag, p.created_in
  FROM swr_import.page_tag t JOIN swr_import.page p USING (row_id)
ORDER BY 1 DESC, 2, 4;
RESET staging.version;
SELECT * FROM staging.verify('swr_live.page');
SELECT * FROM staging.verify('swr_import.page');

-- Swapping back: the session's next writes follow the names again.
SELECT staging.swap_schemas('swr_live', 'swr_import');
SET staging.version = :u;
UPDATE swr_live.page SET title = 'two (back)' WHERE entity_id = 2;
SET staging.version = 'all';
SELECT 'swr_live' AS schema, entity_id, title, created_in, updated_in
  FROM swr_live.page
UNION ALL
SELECT 'swr_import', entity_id, title, created_in, updated_in FROM swr_import.page
ORDER BY 1 DESC, 2, 4;
RESET staging.version;

DROP SCHEMA swr_live, swr_import CASCADE;
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
