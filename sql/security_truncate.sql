-- TRUNCATE empties every version of a table: history and future version
-- rows go with the live ones.  A clerk granted TRUNCATE (and every right
-- to write at the live version) may not use it on a versioned main table
-- or an attribute table, named or reached by CASCADE: 42501, and every
-- version stays.  The table's owner, superusers and roles that may
-- execute staging.sign_preview() may.
SET client_min_messages = warning;
CREATE ROLE regress_tr_owner;
CREATE ROLE regress_tr_clerk;
CREATE ROLE regress_tr_editor;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_tr_editor;
CREATE SCHEMA tr AUTHORIZATION regress_tr_owner;
GRANT USAGE ON SCHEMA tr TO regress_tr_clerk, regress_tr_editor;
SET ROLE regress_tr_owner;
CREATE TABLE tr.product (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE tr.product_dec (row_id bigint REFERENCES tr.product, attribute_id int, value numeric,
                             UNIQUE (row_id, attribute_id));
INSERT INTO tr.product VALUES (1, 'mug'), (2, 'cup');
INSERT INTO tr.product_dec VALUES (1, 77, 10), (2, 77, 20);
SELECT staging.enable_versioning('tr.product');
SELECT staging.add_attribute_table('tr.product_dec', 'tr.product');
CREATE TABLE tr.note (id int PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA tr TO regress_tr_clerk, regress_tr_editor;
RESET ROLE;
SELECT staging.create_update('tr sale', now() + interval '1 day', now() + interval '2 days') AS sale \gset
SET staging.version = :sale;
UPDATE tr.product SET sku = 'mug SECRET' WHERE entity_id = 1;
UPDATE tr.product_dec SET value = 1 WHERE row_id IN (SELECT row_id FROM tr.product WHERE entity_id = 1);
RESET staging.version;
-- every version row, as the owner sees them
CREATE VIEW tr_rows AS
SELECT (SELECT count(*) FROM tr.product) AS product_rows, (SELECT count(*) FROM tr.product_dec) AS dec_rows;
SET staging.version = 'all';
SELECT * FROM tr_rows;
RESET staging.version;

SET ROLE regress_tr_clerk;
SELECT entity_id, sku FROM tr.product ORDER BY 1;
TRUNCATE tr.product_dec;
TRUNCATE tr.product CASCADE;
TRUNCATE tr.product, tr.product_dec;
TRUNCATE ONLY tr.product_dec;
TRUNCATE tr.note, tr.product_dec;
-- the sequence table (granted with the others): CASCADE reaches the main table
TRUNCATE tr.sequence_product CASCADE;
-- an unversioned table stays the grant's to truncate
TRUNCATE tr.note;
RESET ROLE;
SET staging.version = 'all';
SELECT * FROM tr_rows;
RESET staging.version;

-- The editor (may read every version) and the owner may.
SET ROLE regress_tr_editor;
TRUNCATE tr.product_dec;
RESET ROLE;
SET ROLE regress_tr_owner;
TRUNCATE tr.product CASCADE;
RESET ROLE;
SET staging.version = 'all';
SELECT * FROM tr_rows;
RESET staging.version;

DROP VIEW tr_rows;
DROP SCHEMA tr CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_tr_editor;
DROP ROLE regress_tr_owner, regress_tr_clerk, regress_tr_editor;
