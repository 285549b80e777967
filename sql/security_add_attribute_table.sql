-- staging.add_attribute_table gives each version row of the main table
-- its own copy of the attribute rows.  Run by a superuser on another
-- role's tables, the copies are written as the attribute table's owner in
-- a security-restricted operation: the owner's triggers and check
-- constraints never run with the caller's rights.
SET timezone = 'UTC';
CREATE ROLE regress_saat_owner;
CREATE SCHEMA saat AUTHORIZATION regress_saat_owner;
SET ROLE regress_saat_owner;
CREATE TABLE saat.calls (what text, who name, became_superuser boolean);
-- Notes who runs it, and tries to make the owner a superuser.
CREATE FUNCTION saat.spy(what text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_saat_owner SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO saat.calls VALUES (what, current_user, done);
    RETURN true;
END
$$;
CREATE FUNCTION saat.spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM saat.spy(TG_TABLE_NAME || ' trigger ' || TG_OP || ' ' || TG_LEVEL);
    RETURN CASE WHEN TG_LEVEL = 'ROW' THEN coalesce(NEW, OLD) END;
END
$$;
CREATE TABLE saat.item (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE saat.item_text (value_id serial PRIMARY KEY,
                             entity_id bigint NOT NULL REFERENCES saat.item,
                             attribute_id int NOT NULL CHECK (saat.spy('check')), value text,
                             UNIQUE (entity_id, attribute_id));
INSERT INTO saat.item VALUES (1, 'mug'), (2, 'cup');
INSERT INTO saat.item_text (entity_id, attribute_id, value) VALUES (1, 1, 'one'), (2, 1, 'two');
SELECT staging.enable_versioning('saat.item');
RESET ROLE;
-- A future version of entity 1: the attribute rows of entity 1 get a copy.
SELECT staging.create_update('saat sale', '2041-05-06 07:08:09+00') AS sale \gset
SET ROLE regress_saat_owner;
SET staging.version = :sale;
UPDATE saat.item SET sku = 'mug (sale)' WHERE entity_id = 1;
RESET staging.version;
CREATE TRIGGER spy BEFORE INSERT OR UPDATE ON saat.item_text FOR EACH ROW EXECUTE FUNCTION saat.spy_trigger();
CREATE TRIGGER spy_statement AFTER INSERT OR UPDATE ON saat.item_text FOR EACH STATEMENT EXECUTE FUNCTION saat.spy_trigger();
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_saat_owner';
-- The superuser links the attribute table.
SELECT staging.add_attribute_table('saat.item_text', 'saat.item');
SELECT what, who = 'regress_saat_owner' AS as_owner, became_superuser, count(*)
  FROM saat.calls GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_saat_owner';
-- Each version row has its attribute row.
SET staging.version = 'all';
SELECT i.entity_id, i.sku, t.value FROM saat.item i JOIN saat.item_text t ON t.row_id = i.row_id
 ORDER BY i.entity_id, i.created_in;
RESET staging.version;
-- Clean up.
SELECT staging.delete_update(:sale);
DROP SCHEMA saat CASCADE;
DROP ROLE regress_saat_owner;
