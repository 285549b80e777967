-- A clerk's live edit flows into the future versions of its entity that
-- did not set the field, and the rows of those versions are laid out
-- again at the end of the statement.  When a check constraint fails
-- there, the clerk (who may not read those versions) gets the error's
-- SQLSTATE and the entity, never the failing row of the future version
-- nor the statement that wrote it; the owner gets PostgreSQL's error.
SET timezone = 'UTC';
CREATE ROLE regress_sle_owner;
CREATE ROLE regress_sle_clerk;
CREATE SCHEMA sle AUTHORIZATION regress_sle_owner;
GRANT USAGE ON SCHEMA sle TO regress_sle_clerk;
SET ROLE regress_sle_owner;
CREATE TABLE sle.item (entity_id bigint PRIMARY KEY, sku text NOT NULL,
                       price numeric NOT NULL, special numeric,
                       CONSTRAINT special_below_price CHECK (special < price));
CREATE TABLE sle.item_text (value_id serial PRIMARY KEY,
                            entity_id bigint NOT NULL REFERENCES sle.item,
                            attribute_id int NOT NULL, value text,
                            UNIQUE (entity_id, attribute_id));
INSERT INTO sle.item VALUES (1, 'mug', 10, NULL);
INSERT INTO sle.item_text (entity_id, attribute_id, value) VALUES (1, 1, 'a mug');
SELECT staging.enable_versioning('sle.item');
SELECT staging.add_attribute_table('sle.item_text', 'sle.item');
GRANT SELECT, UPDATE ON sle.item, sle.item_text TO regress_sle_clerk;
RESET ROLE;
SELECT staging.create_update('sle sale', now() + interval '1 day') AS sale \gset
-- The sale renames entity 1, gives it a special price and a new text.
SET ROLE regress_sle_owner;
SET staging.version = :sale;
UPDATE sle.item SET sku = 'mug SECRET', special = 8 WHERE entity_id = 1;
UPDATE sle.item_text SET value = 'text SECRET' WHERE attribute_id = 1;
RESET staging.version;
RESET ROLE;

-- The clerk's live price would be below the sale's special price: the
-- edit fails (23514), showing nothing of the sale, also to an exception
-- handler.
SET ROLE regress_sle_clerk;
\set VERBOSITY default
UPDATE sle.item SET price = 5 WHERE entity_id = 1;
CREATE FUNCTION pg_temp.try_edit() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    msg text;
    detail text;
    ctx text;
BEGIN
    UPDATE sle.item SET price = 5 WHERE entity_id = 1;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, ctx = PG_EXCEPTION_CONTEXT;
    RETURN concat_ws(' | ', state, msg, detail,
                     CASE WHEN ctx LIKE '%SECRET%' OR ctx LIKE '%special%' THEN 'context shows the sale' END);
END
$$;
SELECT pg_temp.try_edit();
-- A live edit that the sale's version accepts goes through.
UPDATE sle.item SET price = 12 WHERE entity_id = 1;
SELECT sku, price, special FROM sle.item;
DROP FUNCTION pg_temp.try_edit();
RESET ROLE;

-- The owner sees PostgreSQL's own error.
SET ROLE regress_sle_owner;
\set VERBOSITY terse
UPDATE sle.item SET price = 5 WHERE entity_id = 1;
\set VERBOSITY default
SET staging.version = :sale;
SELECT sku, price, special FROM sle.item;
RESET staging.version;
RESET ROLE;

-- Nor do the owner's triggers tell the clerk: a NOTICE (or WARNING) they
-- raise while the rows of the sale are laid out again does not reach it;
-- the owner, who may read every version, gets them.
SET ROLE regress_sle_owner;
CREATE FUNCTION sle.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'audit %: %, %, %', TG_OP, NEW.sku, NEW.price, NEW.special;
    RAISE WARNING 'audit %: %', TG_OP, NEW.sku;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit BEFORE INSERT OR UPDATE ON sle.item
    FOR EACH ROW EXECUTE FUNCTION sle.audit();
RESET ROLE;
SET ROLE regress_sle_clerk;
UPDATE sle.item SET price = 13 WHERE entity_id = 1;
SELECT sku, price, special FROM sle.item;
SHOW client_min_messages;
\set VERBOSITY terse
UPDATE sle.item SET price = 5 WHERE entity_id = 1;
\set VERBOSITY default
SHOW client_min_messages;
RESET ROLE;
SET ROLE regress_sle_owner;
UPDATE sle.item SET price = 14 WHERE entity_id = 1;
RESET ROLE;

DROP SCHEMA sle CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP ROLE regress_sle_owner, regress_sle_clerk;
