-- A superuser (or a member of the owning role) may turn versioning on for
-- another role's table.  The sequence table it creates belongs to the
-- table's owner, like the table's other parts: the owner can still turn
-- versioning off, and clone the schema.
SET timezone = 'UTC';
CREATE ROLE regress_vbs_owner;
CREATE SCHEMA vbs AUTHORIZATION regress_vbs_owner;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO regress_vbs_owner;
SET ROLE regress_vbs_owner;
CREATE TABLE vbs.item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO vbs.item VALUES (1, 'mug'), (2, 'cup');
RESET ROLE;
SELECT staging.enable_versioning('vbs.item');
SELECT c.relname, c.relowner::regrole FROM pg_class c
 WHERE c.relnamespace = 'vbs'::regnamespace AND c.relkind IN ('r', 'S') ORDER BY 1;
SET ROLE regress_vbs_owner;
INSERT INTO vbs.item (sku) VALUES ('pot');
SELECT entity_id, sku FROM vbs.item ORDER BY 1;
SELECT staging.clone_schema('vbs', 'vbs_copy', true);
SELECT entity_id, sku FROM vbs_copy.item ORDER BY 1;
SELECT staging.disable_versioning('vbs.item');
SELECT entity_id, sku FROM vbs.item ORDER BY 1;
RESET ROLE;
-- Clean up.
DROP SCHEMA vbs, vbs_copy CASCADE;
REVOKE CREATE ON DATABASE :"db" FROM regress_vbs_owner;
DROP ROLE regress_vbs_owner;
