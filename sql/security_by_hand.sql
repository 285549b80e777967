-- Writing at the live version, a clerk cannot reach into a future
-- version or into history by addressing a row itself: an attribute row
-- for the row_id of a version row the session version does not show, a
-- main row with its own created_in or updated_in, a new row_id.  Only the
-- owner (and roles that may read every version) lay out rows by hand.
SET timezone = 'UTC';
CREATE ROLE regress_sbh_owner;
CREATE ROLE regress_sbh_clerk;
CREATE SCHEMA sbh AUTHORIZATION regress_sbh_owner;
GRANT USAGE ON SCHEMA sbh TO regress_sbh_clerk;
CREATE FUNCTION public.sbh_try(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SET ROLE regress_sbh_owner;
CREATE TABLE sbh.item (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE sbh.item_text (row_id bigint REFERENCES sbh.item, attribute_id int, value text,
                            UNIQUE (row_id, attribute_id));
INSERT INTO sbh.item VALUES (1, 'a');
INSERT INTO sbh.item_text VALUES (1, 73, 'A');
SELECT staging.enable_versioning('sbh.item');
SELECT staging.add_attribute_table('sbh.item_text', 'sbh.item');
GRANT SELECT, INSERT, UPDATE, DELETE ON sbh.item, sbh.item_text TO regress_sbh_clerk;
RESET ROLE;
SELECT staging.create_update('sbh sale', now() + interval '1 day') AS sale \gset
SET ROLE regress_sbh_owner;
SET staging.version = :sale;
UPDATE sbh.item SET sku = 'a-sale';
RESET staging.version;
SET staging.version = 'all';
SELECT row_id AS future_row FROM sbh.item WHERE created_in = :sale \gset
RESET staging.version;
RESET ROLE;

SET ROLE regress_sbh_clerk;
-- An attribute row for the future version row.
SELECT public.sbh_try(format('INSERT INTO sbh.item_text VALUES (%s, 74, %L)', :future_row, 'leak'));
-- Moving an attribute row to it.
SELECT public.sbh_try(format('UPDATE sbh.item_text SET row_id = %s', :future_row));
-- A main row that starts in the future, or a live row that ends there.
SELECT public.sbh_try(format('INSERT INTO sbh.item (entity_id, sku, created_in, updated_in) VALUES (7, %L, %s, staging.max_version())', 'new', :sale));
SELECT public.sbh_try(format('UPDATE sbh.item SET updated_in = %s', :sale + 3600));
SELECT public.sbh_try('UPDATE sbh.item SET row_id = row_id + 1000');
SELECT public.sbh_try('INSERT INTO sbh.item (entity_id, sku) VALUES (8, ''b'')');
SELECT public.sbh_try('UPDATE sbh.item SET row_id = row_id + 1000 WHERE entity_id = 8');
-- A bulk INSERT ... SELECT whose first rows are attribute rows of a live
-- row (which the statement then holds locked and skips looking up again)
-- and then one for the future version row: refused all the same, and
-- nothing of the statement is there.
SELECT row_id AS new_row FROM sbh.item WHERE entity_id = 8 \gset
SELECT public.sbh_try(format('INSERT INTO sbh.item_text SELECT r, a, %L FROM (VALUES (%s, 76), (%s, 77), (%s, 76), (%s, 78)) v (r, a)',
                             'bulk', :new_row, :new_row, :future_row, :new_row));
SELECT count(*) AS bulk_rows FROM sbh.item_text WHERE value = 'bulk';
-- Writes at the session version still work (the live attribute row flows
-- into the sale, which did not set it).
SELECT public.sbh_try('INSERT INTO sbh.item_text SELECT row_id, 75, ''live'' FROM sbh.item');
SELECT public.sbh_try('UPDATE sbh.item SET sku = ''a2''');
RESET ROLE;
-- The owner lays out rows by hand.
SET ROLE regress_sbh_owner;
SELECT public.sbh_try(format('INSERT INTO sbh.item_text VALUES (%s, 74, %L)', :future_row, 'by hand'));
RESET ROLE;
SET staging.version = 'all';
SELECT i.created_in = :sale AS future, i.sku, t.attribute_id, t.value
  FROM sbh.item i JOIN sbh.item_text t ON t.row_id = i.row_id
 ORDER BY i.created_in, t.attribute_id;
RESET staging.version;

DROP SCHEMA sbh CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP FUNCTION public.sbh_try(text);
DROP ROLE regress_sbh_owner, regress_sbh_clerk;
