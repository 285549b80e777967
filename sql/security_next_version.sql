-- updated_in of a row visible now is the start of its entity's next
-- version: a reader without the right to the future sees
-- staging.max_version() instead, in every query shape and in RETURNING.
SET timezone = 'UTC';
CREATE ROLE regress_snv_owner;
CREATE ROLE regress_snv_editor;
CREATE ROLE regress_snv_shop;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_snv_editor;
CREATE SCHEMA snv AUTHORIZATION regress_snv_owner;
GRANT USAGE ON SCHEMA snv TO regress_snv_editor, regress_snv_shop;
SET ROLE regress_snv_owner;
CREATE TABLE snv.item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO snv.item VALUES (1, 'a'), (3, 'c');
SELECT staging.enable_versioning('snv.item');
GRANT SELECT, INSERT, UPDATE ON snv.item TO regress_snv_editor, regress_snv_shop;
CREATE VIEW snv.item_view AS SELECT entity_id, sku, updated_in FROM snv.item;
GRANT SELECT ON snv.item_view TO regress_snv_shop;
RESET ROLE;
SELECT staging.create_update('snv sale', now() + interval '1 day') AS sale \gset
-- The sale changes entity 1 and creates entity 2.
SET ROLE regress_snv_owner;
SET staging.version = :sale;
UPDATE snv.item SET sku = 'a-sale' WHERE entity_id = 1;
INSERT INTO snv.item (entity_id, sku) VALUES (2, 'b');
RESET staging.version;
RESET ROLE;

SET ROLE regress_snv_shop;
-- Which entities change, and when: not from updated_in.
SELECT entity_id, sku, updated_in = staging.max_version() AS lasts FROM snv.item ORDER BY 1;
SELECT count(*) FROM snv.item WHERE updated_in < staging.max_version();
SELECT entity_id FROM snv.item_view WHERE updated_in <> staging.max_version();
WITH c AS (SELECT updated_in FROM snv.item) SELECT max(updated_in) = staging.max_version() AS lasts FROM c;
SELECT (SELECT min(updated_in) FROM snv.item i WHERE i.entity_id = o.entity_id) = staging.max_version() AS lasts
  FROM snv.item o WHERE entity_id = 1;
-- RETURNING of a live edit, and of an INSERT of an entity that exists
-- only in the future.
UPDATE snv.item SET sku = 'a2' WHERE entity_id = 1 RETURNING entity_id, updated_in = staging.max_version() AS lasts;
INSERT INTO snv.item (entity_id, sku) VALUES (2, 'b-live') RETURNING entity_id, updated_in = staging.max_version() AS lasts;
RESET ROLE;

-- The editor and the owner see where versions end.
SET ROLE regress_snv_editor;
SELECT entity_id, updated_in = :sale AS ends_at_sale FROM snv.item ORDER BY 1;
PREPARE by_editor AS SELECT entity_id, updated_in = :sale AS ends_at_sale FROM snv.item ORDER BY 1;
EXECUTE by_editor;
RESET ROLE;
SET ROLE regress_snv_owner;
SELECT entity_id, updated_in = :sale AS ends_at_sale FROM snv.item ORDER BY 1;
RESET ROLE;
-- A plan made for the editor is not reused for the shop.
SET ROLE regress_snv_shop;
EXECUTE by_editor;
RESET ROLE;
DEALLOCATE by_editor;

-- A plan made while the role that chose the version may see where
-- versions end is not reused once a role that may not chose it: in a
-- SECURITY DEFINER function (its plans run as its owner for every caller,
-- as behind a pooler or PostgREST that SET ROLE per client), and after
-- SET ROLE in one session.
SET ROLE regress_snv_owner;
CREATE FUNCTION snv.ends() RETURNS TABLE (entity_id bigint, lasts boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN QUERY SELECT i.entity_id, i.updated_in = staging.max_version() FROM snv.item i ORDER BY 1;
END $$;
GRANT EXECUTE ON FUNCTION snv.ends() TO regress_snv_editor, regress_snv_shop;
RESET ROLE;
SET ROLE regress_snv_editor;
SELECT * FROM snv.ends();
RESET ROLE;
SET ROLE regress_snv_shop;
SELECT * FROM snv.ends();
RESET ROLE;
-- The superuser chose the version, then SET ROLE made the session the
-- shop's: the shop's own right counts (a choice made for one role does not
-- carry over to the next, as behind a pooler), and so when the shop
-- chooses one itself.
SET staging.version = 'live';
SET ROLE regress_snv_shop;
PREPARE by_shop AS SELECT entity_id, updated_in = staging.max_version() AS lasts FROM snv.item ORDER BY 1;
EXECUTE by_shop;
SET staging.version = 'live';
EXECUTE by_shop;
RESET ROLE;
DEALLOCATE by_shop;
RESET staging.version;

DROP SCHEMA snv CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_snv_editor;
DROP ROLE regress_snv_owner, regress_snv_editor, regress_snv_shop;
