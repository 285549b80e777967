-- SQL functions that PostgreSQL inlines into the query that calls them in
-- FROM (LANGUAGE sql, STABLE, not SECURITY DEFINER): their references to
-- updated_in are hidden from a reader without the right to the future as
-- the query's own are, whoever wrote the function and however it is
-- called, and a plan made for a reader who may see them is not reused for
-- one who may not.
SET timezone = 'UTC';
CREATE ROLE regress_sif_owner;
CREATE ROLE regress_sif_editor;
CREATE ROLE regress_sif_shop;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_sif_editor;
CREATE SCHEMA sif AUTHORIZATION regress_sif_owner;
GRANT USAGE ON SCHEMA sif TO regress_sif_editor, regress_sif_shop;
SET ROLE regress_sif_owner;
CREATE TABLE sif.item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO sif.item VALUES (1, 'a'), (3, 'c');
SELECT staging.enable_versioning('sif.item');
GRANT SELECT ON sif.item TO regress_sif_editor, regress_sif_shop;
-- The owner's functions (and a view over one), for everyone.
CREATE FUNCTION sif.items() RETURNS SETOF sif.item LANGUAGE sql STABLE
    AS 'SELECT * FROM sif.item';
CREATE FUNCTION sif.ends(first bigint DEFAULT 1) RETURNS TABLE (e bigint, u bigint)
    LANGUAGE sql STABLE
    BEGIN ATOMIC SELECT entity_id, updated_in FROM sif.item WHERE entity_id >= first; END;
CREATE FUNCTION sif.nested() RETURNS SETOF sif.item LANGUAGE sql STABLE
    AS 'SELECT * FROM sif.items()';
CREATE VIEW sif.items_view AS SELECT * FROM sif.items();
GRANT SELECT ON sif.items_view TO regress_sif_shop;
RESET ROLE;
SELECT staging.create_update('sif sale', now() + interval '1 day') AS sale \gset
-- The sale changes entity 1.
SET ROLE regress_sif_owner;
SET staging.version = :sale;
UPDATE sif.item SET sku = 'a-sale' WHERE entity_id = 1;
RESET staging.version;
RESET ROLE;

SET ROLE regress_sif_shop;
-- The functions are inlined (one scan of the table), and updated_in read
-- through them is the shop's: every row lasts.
EXPLAIN (COSTS OFF) SELECT * FROM sif.items();
SELECT entity_id, sku, updated_in = staging.max_version() AS lasts FROM sif.items() ORDER BY 1;
SELECT e, u = staging.max_version() AS lasts FROM sif.ends() ORDER BY 1;
SELECT entity_id, updated_in = staging.max_version() AS lasts FROM sif.nested() ORDER BY 1;
SELECT entity_id, updated_in = staging.max_version() AS lasts FROM sif.items_view ORDER BY 1;
SELECT count(*) FROM sif.items() WHERE updated_in < staging.max_version();
SELECT i.entity_id FROM sif.item i
 WHERE EXISTS (SELECT FROM sif.ends(i.entity_id) f WHERE f.e = i.entity_id AND f.u < staging.max_version());
SELECT x.e, x.u = staging.max_version() AS lasts
  FROM sif.item i CROSS JOIN LATERAL sif.ends(i.entity_id) x WHERE x.e = i.entity_id ORDER BY 1;
RESET ROLE;

-- The editor sees where versions end, through the functions too; its
-- plan is not reused for the shop.
SET ROLE regress_sif_editor;
PREPARE by_editor AS SELECT entity_id, updated_in = :sale AS ends_at_sale FROM sif.items() ORDER BY 1;
EXECUTE by_editor;
RESET ROLE;
SET ROLE regress_sif_shop;
EXECUTE by_editor;
RESET ROLE;
DEALLOCATE by_editor;
-- A plan that inlined a function is made again when the function changes.
SET ROLE regress_sif_shop;
PREPARE by_shop AS SELECT entity_id FROM sif.items() ORDER BY 1;
EXECUTE by_shop;
RESET ROLE;
SET ROLE regress_sif_owner;
CREATE OR REPLACE FUNCTION sif.items() RETURNS SETOF sif.item LANGUAGE sql STABLE
    AS 'SELECT * FROM sif.item WHERE entity_id > 1';
RESET ROLE;
SET ROLE regress_sif_shop;
EXECUTE by_shop;
RESET ROLE;
DEALLOCATE by_shop;

DROP SCHEMA sif CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_sif_editor;
DROP ROLE regress_sif_owner, regress_sif_editor, regress_sif_shop;
