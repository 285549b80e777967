-- An update whose start has passed but that has not gone live yet (the
-- scheduler has not run since, or advance() is called by hand): its
-- version is readable by everyone, as every version up to now is, but
-- what the update changes is still the editors' to decide.  A clerk who
-- may write at the live version gets 42501 there (else its edits would be
-- the update's, ending with it); the owner and editors write as before.
SET client_min_messages = warning;
CREATE ROLE regress_ou_owner;
CREATE ROLE regress_ou_editor;
CREATE ROLE regress_ou_clerk;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_ou_editor;
CREATE SCHEMA ou AUTHORIZATION regress_ou_owner;
GRANT USAGE ON SCHEMA ou TO regress_ou_editor, regress_ou_clerk;
SET ROLE regress_ou_owner;
CREATE TABLE ou.item (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE ou.item_dec (row_id bigint REFERENCES ou.item, attribute_id int, value numeric,
                          UNIQUE (row_id, attribute_id));
INSERT INTO ou.item VALUES (1, 'a'), (2, 'b');
INSERT INTO ou.item_dec VALUES (1, 77, 10), (2, 77, 20);
SELECT staging.enable_versioning('ou.item');
SELECT staging.add_attribute_table('ou.item_dec', 'ou.item');
GRANT SELECT, INSERT, UPDATE, DELETE ON ou.item, ou.item_dec TO regress_ou_editor, regress_ou_clerk;
RESET ROLE;
-- A temporary update that starts in a second and ends in an hour.
SELECT staging.create_update('ou flash', now() + interval '1 second', now() + interval '1 hour') AS flash \gset
SET ROLE regress_ou_editor;
SET staging.version = :flash;
UPDATE ou.item SET sku = 'a-flash' WHERE entity_id = 1;
RESET staging.version;
RESET ROLE;
SELECT pg_sleep(1.5);

-- The clerk reads the flash (its start has passed), but may not write it.
SET ROLE regress_ou_clerk;
SET staging.version = :flash;
SELECT entity_id, sku FROM ou.item ORDER BY 1;
\set VERBOSITY sqlstate
UPDATE ou.item SET sku = 'a-clerk' WHERE entity_id = 1;
UPDATE ou.item SET sku = 'b-clerk' WHERE entity_id = 2;
DELETE FROM ou.item WHERE entity_id = 2;
INSERT INTO ou.item (entity_id, sku) VALUES (3, 'c-clerk');
UPDATE ou.item_dec SET value = 1;
\set VERBOSITY default
RESET staging.version;
-- At the live version it edits as before.
UPDATE ou.item SET sku = 'b-live' WHERE entity_id = 2;
RESET ROLE;

-- The editor may.
SET ROLE regress_ou_editor;
SET staging.version = :flash;
UPDATE ou.item_dec SET value = 5 WHERE row_id IN (SELECT row_id FROM ou.item WHERE entity_id = 1);
SELECT i.entity_id, i.sku, d.value FROM ou.item i JOIN ou.item_dec d USING (row_id) ORDER BY 1;
RESET staging.version;
RESET ROLE;

DROP SCHEMA ou CASCADE;
DELETE FROM staging.updates WHERE id = :flash;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_ou_editor;
DROP ROLE regress_ou_owner, regress_ou_editor, regress_ou_clerk;
