-- The check, not-null and view check option errors of a write show the
-- failing row ("Failing row contains ..."), whose updated_in is the start
-- of its entity's next version: for a live edit of an entity that an
-- update changes, and an INSERT of an entity that exists only in the
-- future.  A writer who may not read every version of the table gets
-- these errors without the row (as PostgreSQL does for row-level
-- security), however it writes; the owner gets the row.
SET timezone = 'UTC';
CREATE ROLE regress_sfr_owner;
CREATE ROLE regress_sfr_clerk;
CREATE SCHEMA sfr AUTHORIZATION regress_sfr_owner;
GRANT USAGE ON SCHEMA sfr TO regress_sfr_clerk;
SET ROLE regress_sfr_owner;
CREATE TABLE sfr.item (entity_id bigint PRIMARY KEY, sku text NOT NULL,
                       price numeric NOT NULL CHECK (price >= 0));
INSERT INTO sfr.item VALUES (1, 'mug', 10), (2, 'cup', 5);
SELECT staging.enable_versioning('sfr.item');
CREATE VIEW sfr.cheap AS SELECT entity_id, sku, price FROM sfr.item WHERE price < 50
    WITH CHECK OPTION;
GRANT SELECT, INSERT, UPDATE ON sfr.item, sfr.cheap TO regress_sfr_clerk;
RESET ROLE;
SELECT staging.create_update('sfr sale', now() + interval '1 day') AS sale \gset
-- The sale changes entity 1 and creates entity 3.
SET ROLE regress_sfr_owner;
SET staging.version = :sale;
UPDATE sfr.item SET sku = 'mug (sale)' WHERE entity_id = 1;
INSERT INTO sfr.item (entity_id, sku, price) VALUES (3, 'bowl', 7);
RESET staging.version;
RESET ROLE;

SET ROLE regress_sfr_clerk;
-- Entity 1 changes in the sale, entity 2 does not: the errors are alike.
UPDATE sfr.item SET price = -1 WHERE entity_id = 1;
UPDATE sfr.item SET price = -1 WHERE entity_id = 2;
UPDATE sfr.item SET sku = NULL WHERE entity_id = 1;
-- Entity 3 exists only in the sale.
INSERT INTO sfr.item (entity_id, sku, price) VALUES (3, 'bowl (live)', -1);
COPY sfr.item (entity_id, sku, price) FROM stdin;
3	bowl (live)	-1
\.
WITH w AS (UPDATE sfr.item SET price = -1 WHERE entity_id = 1 RETURNING 1) SELECT * FROM w;
MERGE INTO sfr.item t USING (VALUES (1)) s(e) ON t.entity_id = s.e
 WHEN MATCHED THEN UPDATE SET price = -1;
UPDATE sfr.cheap SET price = 60 WHERE entity_id = 1;
-- An exception handler gets no detail either.
CREATE FUNCTION pg_temp.try_edit() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    detail text;
BEGIN
    UPDATE sfr.item SET price = -1 WHERE entity_id = 1;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': detail "' || detail || '"';
END
$$;
SELECT pg_temp.try_edit();
DROP FUNCTION pg_temp.try_edit();
RESET ROLE;

-- The owner sees the row, the start of the sale in it.
SET ROLE regress_sfr_owner;
SELECT set_config('sfr.sale', :'sale', false) IS NOT NULL AS noted;
DO $$
DECLARE
    detail text;
BEGIN
    UPDATE sfr.item SET price = -1 WHERE entity_id = 1;
EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'the row ends at the sale: %', detail LIKE '%, ' || current_setting('sfr.sale') || ').';
END
$$;
RESET ROLE;

DROP SCHEMA sfr CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP ROLE regress_sfr_owner, regress_sfr_clerk;
