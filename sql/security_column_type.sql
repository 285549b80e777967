-- Changing the type of a column rewrites the table and checks again the
-- constraints on that column.  add_attribute_table and
-- disable_versioning widen an attribute table's link column to bigint
-- when the ids need it and give it back its former type; run by a
-- superuser on another role's tables, those rewrites run as the table's
-- owner, in a security-restricted operation: the owner's check
-- constraints never run with the caller's rights.
SET timezone = 'UTC';
CREATE ROLE regress_sct_owner;
CREATE SCHEMA sct AUTHORIZATION regress_sct_owner;
SET ROLE regress_sct_owner;
CREATE TABLE sct.calls (what text, who name, became_superuser boolean);
-- Notes who runs it, and tries to make the owner a superuser.
CREATE FUNCTION sct.spy(what text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_sct_owner SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO sct.calls VALUES (what, current_user, done);
    RETURN true;
END
$$;
CREATE TABLE sct.item (entity_id int PRIMARY KEY, sku text);
CREATE TABLE sct.item_text (value_id serial PRIMARY KEY,
                            entity_id int NOT NULL REFERENCES sct.item CHECK (sct.spy('check of ' || entity_id)),
                            attribute_id int NOT NULL, value text);
INSERT INTO sct.item VALUES (1, 'mug');
INSERT INTO sct.item_text (entity_id, attribute_id, value) VALUES (1, 1, 'one');
SELECT staging.enable_versioning('sct.item');
SELECT staging.add_attribute_table('sct.item_text', 'sct.item');
-- The owner widens the link column (as the extension does when row_ids
-- outgrow it): disable_versioning gives it back its type.
ALTER TABLE sct.item_text ALTER COLUMN row_id TYPE bigint;
TRUNCATE sct.calls;
RESET ROLE;
SELECT staging.disable_versioning('sct.item');
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'sct.item_text'::regclass AND attname = 'entity_id';
SELECT what, who = 'regress_sct_owner' AS as_owner, became_superuser, count(*)
  FROM sct.calls GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sct_owner';
-- _widen_to_fit, which every role may execute, widens only as the owner.
TRUNCATE sct.calls;
SELECT staging._widen_to_fit('sct.item_text', 'entity_id', 1, 3000000000);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'sct.item_text'::regclass AND attname = 'entity_id';
SELECT what, who = 'regress_sct_owner' AS as_owner, became_superuser, count(*)
  FROM sct.calls GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sct_owner';
-- Clean up.
DROP SCHEMA sct CASCADE;
DROP ROLE regress_sct_owner;
