-- staging.disable_versioning deletes the rows that are not live and
-- renumbers the attribute tables.  Run by a superuser (or a role with the
-- privileges of several owners) on another role's tables, those statements
-- run as each table's owner in a security-restricted operation: the
-- owner's triggers, check constraints, rules and domain checks never run
-- with the caller's rights.
SET timezone = 'UTC';
CREATE ROLE regress_sdv_owner;
CREATE SCHEMA sdv AUTHORIZATION regress_sdv_owner;
SET ROLE regress_sdv_owner;
CREATE TABLE sdv.calls (what text, who name, became_superuser boolean);
-- Notes who runs it, and tries to make the owner a superuser.
CREATE FUNCTION sdv.spy(what text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_sdv_owner SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO sdv.calls VALUES (what, current_user, done);
    RETURN true;
END
$$;
CREATE FUNCTION sdv.spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sdv.spy(TG_TABLE_NAME || ' trigger ' || TG_OP || ' ' || TG_LEVEL);
    RETURN CASE WHEN TG_LEVEL = 'ROW' THEN coalesce(NEW, OLD) END;
END
$$;
CREATE TABLE sdv.item (entity_id bigint PRIMARY KEY, sku text, price numeric CHECK (sdv.spy('item check')));
CREATE TABLE sdv.item_text (value_id serial PRIMARY KEY,
                            entity_id bigint NOT NULL REFERENCES sdv.item,
                            attribute_id int NOT NULL CHECK (sdv.spy('item_text check')), value text,
                            UNIQUE (entity_id, attribute_id));
INSERT INTO sdv.item VALUES (10, 'mug', 10), (20, 'cup', 20);
INSERT INTO sdv.item_text (entity_id, attribute_id, value) VALUES (10, 1, 'one'), (20, 1, 'two');
SELECT staging.enable_versioning('sdv.item');
SELECT staging.add_attribute_table('sdv.item_text', 'sdv.item');
CREATE TRIGGER spy BEFORE INSERT OR UPDATE OR DELETE ON sdv.item FOR EACH ROW EXECUTE FUNCTION sdv.spy_trigger();
CREATE TRIGGER spy_statement AFTER INSERT OR UPDATE OR DELETE ON sdv.item FOR EACH STATEMENT EXECUTE FUNCTION sdv.spy_trigger();
CREATE TRIGGER spy BEFORE UPDATE OR DELETE ON sdv.item_text FOR EACH ROW EXECUTE FUNCTION sdv.spy_trigger();
CREATE TRIGGER spy BEFORE DELETE ON sdv.sequence_item FOR EACH ROW EXECUTE FUNCTION sdv.spy_trigger();
CREATE RULE spy AS ON UPDATE TO sdv.item_text DO ALSO SELECT sdv.spy('item_text rule');
RESET ROLE;
-- A future version of entity 10 (removed by disable_versioning), and an
-- entity that exists only in the future.
-- (Written by the owner: a superuser's own writes would run the owner's
-- triggers with its rights, as PostgreSQL does.)
SELECT staging.create_update('sdv sale', '2041-03-04 05:06:07+00') AS sale \gset
SET ROLE regress_sdv_owner;
SET staging.version = :sale;
UPDATE sdv.item SET sku = 'mug (sale)' WHERE entity_id = 10;
INSERT INTO sdv.item (entity_id, sku, price) VALUES (30, 'pot', 30);
RESET staging.version;
-- A live entity whose row_id is not its entity id: its attribute rows are
-- renumbered.
INSERT INTO sdv.item (entity_id, sku, price) VALUES (40, 'jug', 40);
INSERT INTO sdv.item_text (row_id, attribute_id, value)
SELECT row_id, 1, 'four' FROM sdv.item WHERE entity_id = 40;
SELECT row_id <> entity_id AS renumbered FROM sdv.item WHERE entity_id = 40;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sdv_owner';
TRUNCATE sdv.calls;
-- The superuser turns versioning off.
SELECT staging.disable_versioning('sdv.item');
SELECT what, who = 'regress_sdv_owner' AS as_owner, became_superuser, count(*)
  FROM sdv.calls GROUP BY 1, 2, 3 ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_sdv_owner';
SELECT entity_id, sku FROM sdv.item ORDER BY 1;
SELECT entity_id, attribute_id, value FROM sdv.item_text ORDER BY 1, 2;
-- Clean up.
SELECT staging.delete_update(:sale);
DROP SCHEMA sdv CASCADE;
DROP ROLE regress_sdv_owner;
