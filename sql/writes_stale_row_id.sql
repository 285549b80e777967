-- At an update's version, attribute rows are written for the version rows
-- that version shows.  After the first write of an entity there, its row
-- at that version has a new row_id; an INSERT of attribute rows for the
-- row_id read before (the live row, which that version no longer shows)
-- is refused like an UPDATE or DELETE of them: it would otherwise change
-- the live row from a session editing the future.
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE SCHEMA wsr;
SET search_path = wsr, public;
CREATE TABLE product (entity_id bigint PRIMARY KEY, sku text NOT NULL);
CREATE TABLE product_text (value_id serial PRIMARY KEY,
                           entity_id bigint NOT NULL REFERENCES product,
                           attribute_id int NOT NULL, value text,
                           UNIQUE (entity_id, attribute_id));
INSERT INTO product VALUES (1, 'mug'), (2, 'cup');
INSERT INTO product_text (entity_id, attribute_id, value) VALUES (1, 10, 'red'), (2, 10, 'blue');
SELECT staging.enable_versioning('product');
SELECT staging.add_attribute_table('product_text', 'product');
CREATE ROLE regress_wsr_editor;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_wsr_editor;
GRANT USAGE ON SCHEMA wsr TO regress_wsr_editor;
GRANT SELECT, INSERT, UPDATE, DELETE ON product, product_text TO regress_wsr_editor;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA wsr TO regress_wsr_editor;
SELECT staging.create_update('sale', '2035-11-23 00:00+00') AS sale \gset
CREATE VIEW texts AS
    SELECT p.entity_id, t.attribute_id, t.value
      FROM product p JOIN product_text t USING (row_id);
GRANT SELECT ON texts TO regress_wsr_editor;

-- The editor reads product 1's row_id at the sale, edits it (a new
-- version row), then inserts an attribute row for the row_id read before.
SET ROLE regress_wsr_editor;
SET staging.version = :sale;
SELECT row_id AS stale FROM product WHERE entity_id = 1 \gset
SELECT :stale AS stale;
UPDATE product SET sku = 'sale mug' WHERE entity_id = 1;
SELECT row_id <> :stale AS new_row_id FROM product WHERE entity_id = 1;
INSERT INTO product_text (row_id, attribute_id, value) VALUES (:stale, 11, 'sale label');
\echo :SQLSTATE
COPY product_text (row_id, attribute_id, value) FROM stdin;
1	12	sale badge
\.
\echo :SQLSTATE
-- as an UPDATE or DELETE of that row_id, which the version filter
-- leaves out of the target rows already
UPDATE product_text SET value = 'sale red' WHERE row_id = :stale;
-- The row_id the sale shows takes the attribute row.
INSERT INTO product_text (row_id, attribute_id, value)
    SELECT row_id, 11, 'sale label' FROM product WHERE entity_id = 1;
SELECT * FROM texts ORDER BY 1, 2;
RESET staging.version;
-- Live: nothing changed.
SELECT * FROM texts ORDER BY 1, 2;
RESET ROLE;

-- Nor from the owner's session at the sale; the owner still completes
-- version rows by hand at the live version (a restore).
SET staging.version = :sale;
INSERT INTO product_text (row_id, attribute_id, value) VALUES (:stale, 13, 'by hand');
\echo :SQLSTATE
SELECT row_id AS sale_row FROM product WHERE entity_id = 1 \gset
RESET staging.version;
INSERT INTO product_text (row_id, attribute_id, value) VALUES (:sale_row, 14, 'by hand');
SELECT * FROM texts ORDER BY 1, 2;
SET staging.version = :sale;
SELECT * FROM texts ORDER BY 1, 2;
RESET staging.version;
SELECT * FROM staging.verify('product');

DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
SET client_min_messages = warning;
DROP SCHEMA wsr CASCADE;
REVOKE ALL ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_wsr_editor;
DROP ROLE regress_wsr_editor;
