-- Code of a role without preview rights never runs inside another
-- role's writes with access to the future.
-- 1. A trigger sees, in NEW and OLD, every row that any writer writes:
-- an editor's rows of a future update, and the version rows that a live
-- edit lays out again; on a sequence table, it runs as the owner, who
-- adds the ids of new entities there, reading every version.  On a
-- versioned table, an attribute table or a sequence table, only its
-- owner, superusers and roles that may execute staging.sign_preview()
-- may create one, whatever TRIGGER privilege was granted (42501).
-- 2. A role granted REFERENCES may give a table of its own a foreign key
-- that cascades from a versioned table: PostgreSQL runs the cascade, and
-- the role's triggers and rules on its table, as that role inside the
-- writer's statement.  That code reads where its role may, not where
-- the writer (an editor at a future update) may.
SET client_min_messages = warning;
CREATE ROLE regress_tp_owner;
CREATE ROLE regress_tp_editor;
CREATE ROLE regress_tp_spy;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_tp_editor;
CREATE SCHEMA tp AUTHORIZATION regress_tp_owner;
CREATE SCHEMA tp_spy AUTHORIZATION regress_tp_spy;
GRANT USAGE ON SCHEMA tp TO regress_tp_editor, regress_tp_spy;
SET ROLE regress_tp_owner;
CREATE TABLE tp.product (entity_id bigint PRIMARY KEY, sku text NOT NULL);
CREATE TABLE tp.product_dec (row_id bigint REFERENCES tp.product ON DELETE CASCADE,
                             attribute_id int, value numeric, UNIQUE (row_id, attribute_id));
INSERT INTO tp.product VALUES (1, 'mug'), (2, 'cup');
INSERT INTO tp.product_dec VALUES (1, 77, 10), (2, 77, 20);
SELECT staging.enable_versioning('tp.product');
SELECT staging.add_attribute_table('tp.product_dec', 'tp.product');
CREATE TABLE tp.note (id int PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tp TO regress_tp_editor;
GRANT SELECT, TRIGGER, REFERENCES ON tp.product, tp.product_dec, tp.note TO regress_tp_spy;
GRANT TRIGGER ON tp.sequence_product TO regress_tp_spy;
RESET ROLE;
SELECT staging.create_update('tp sale', '2041-03-07 11:13:00+00', '2041-03-09 11:13:00+00') AS sale \gset

-- 1. The spy's triggers, which would keep what they see.
SET ROLE regress_tp_spy;
CREATE TABLE tp_spy.loot (n serial, what text);
CREATE FUNCTION tp_spy.keep() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO tp_spy.loot (what)
    VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || coalesce(NEW::text, OLD::text));
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER spy BEFORE INSERT OR UPDATE OR DELETE ON tp.product
    FOR EACH ROW EXECUTE FUNCTION tp_spy.keep();
CREATE TRIGGER spy BEFORE INSERT OR UPDATE OR DELETE ON tp.product_dec
    FOR EACH ROW EXECUTE FUNCTION tp_spy.keep();
CREATE CONSTRAINT TRIGGER spy_late AFTER INSERT OR UPDATE ON tp.product
    FOR EACH ROW EXECUTE FUNCTION tp_spy.keep();
CREATE FUNCTION tp_spy.peek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tp_spy.loot (what)
    SELECT current_user || ' at ' || current_setting('staging.version') || ': ' ||
           string_agg(sku, ', ' ORDER BY sku)
      FROM tp.product;
    RETURN NEW;
END $$;
GRANT USAGE ON SCHEMA tp_spy TO PUBLIC;
GRANT INSERT ON tp_spy.loot TO PUBLIC;
GRANT USAGE ON SEQUENCE tp_spy.loot_n_seq TO PUBLIC;
CREATE TRIGGER spy BEFORE INSERT ON tp.sequence_product
    FOR EACH ROW EXECUTE FUNCTION tp_spy.peek();
-- the grant still holds on a table that is not versioned
CREATE TRIGGER spy BEFORE INSERT ON tp.note FOR EACH ROW EXECUTE FUNCTION tp_spy.keep();

-- 2. A table of the spy's own that a cascade reaches, with a trigger
-- that reads the versioned table.
CREATE TABLE tp_spy.ref (row_id bigint REFERENCES tp.product ON DELETE CASCADE);
CREATE FUNCTION tp_spy.look() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO tp_spy.loot (what)
        SELECT 'cascade at ' || current_setting('staging.version') || ': ' ||
               string_agg(sku, ', ' ORDER BY sku)
          FROM tp.product;
    EXCEPTION WHEN insufficient_privilege THEN
        INSERT INTO tp_spy.loot (what) VALUES ('cascade: ' || SQLSTATE);
    END;
    RETURN OLD;
END $$;
CREATE TRIGGER look BEFORE DELETE ON tp_spy.ref FOR EACH ROW EXECUTE FUNCTION tp_spy.look();
RESET ROLE;

-- The editor renames entity 1 in the sale and creates entity 3 there.
SET ROLE regress_tp_editor;
SET staging.version = :sale;
UPDATE tp.product SET sku = 'mug SECRET' WHERE entity_id = 1;
INSERT INTO tp.product VALUES (3, 'new SECRET');
RESET staging.version;
INSERT INTO tp.note VALUES (1);
RESET ROLE;

-- The spy learns the row_ids that exist with its foreign key (as with a
-- unique key, existence is the accepted probe) and references them all.
SET ROLE regress_tp_spy;
DO $$
BEGIN
    FOR r IN 1..10 LOOP
        BEGIN
            INSERT INTO tp_spy.ref VALUES (r);
        EXCEPTION WHEN foreign_key_violation THEN
            NULL;
        END;
    END LOOP;
END $$;
SELECT count(*) AS referenced FROM tp_spy.ref;
RESET ROLE;

-- The editor removes entity 3 from the sale: the cascade deletes the
-- spy's row, in the editor's statement.
SET ROLE regress_tp_editor;
SET staging.version = :sale;
DELETE FROM tp.product WHERE entity_id = 3;
RESET staging.version;
RESET ROLE;

-- A rule of the spy's on its table is run by the cascade too: it reads
-- as the spy, which may not read the sale, so the editor's DELETE fails
-- (code that a cascade runs could always make a write fail).
SET ROLE regress_tp_spy;
CREATE RULE look AS ON DELETE TO tp_spy.ref
    DO ALSO INSERT INTO tp_spy.loot (what)
    SELECT 'rule: ' || string_agg(sku, ', ' ORDER BY sku) FROM tp.product;
RESET ROLE;
SET ROLE regress_tp_editor;
SET staging.version = :sale;
DELETE FROM tp.product WHERE entity_id = 1;
RESET staging.version;
RESET ROLE;

-- What the spy has: the note, and its cascade trigger's refusal.
SET ROLE regress_tp_spy;
SELECT what FROM tp_spy.loot ORDER BY n;
RESET ROLE;

-- A cascade opens nothing to a role that chose a version it may not
-- read: a clerk who sets the sale's version and deletes an order (a table
-- that is not versioned) runs the owner's trigger on the order lines the
-- cascade reaches, which reads the versioned table as the owner; it reads
-- with the clerk's right, so the clerk's DELETE fails (42501) and the
-- audit log keeps nothing of the sale.
CREATE ROLE regress_tp_clerk;
GRANT USAGE ON SCHEMA tp TO regress_tp_clerk;
SET ROLE regress_tp_owner;
CREATE TABLE tp.orders (id int PRIMARY KEY);
CREATE TABLE tp.order_lines (order_id int REFERENCES tp.orders ON DELETE CASCADE, entity_id bigint);
CREATE TABLE tp.audit (what text);
CREATE FUNCTION tp.audit_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tp.audit
    SELECT 'line of ' || string_agg(sku, ', ') FROM tp.product WHERE entity_id = OLD.entity_id;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_line BEFORE DELETE ON tp.order_lines FOR EACH ROW EXECUTE FUNCTION tp.audit_line();
INSERT INTO tp.orders VALUES (1);
INSERT INTO tp.order_lines VALUES (1, 2);
GRANT SELECT, DELETE ON tp.orders TO regress_tp_clerk;
GRANT SELECT ON tp.audit TO regress_tp_clerk;
RESET ROLE;
SET ROLE regress_tp_editor;
SET staging.version = :sale;
UPDATE tp.product SET sku = 'cup SECRET' WHERE entity_id = 2;
RESET staging.version;
RESET ROLE;
SET ROLE regress_tp_clerk;
SET staging.version = :sale;
DELETE FROM tp.orders;
RESET staging.version;
DELETE FROM tp.orders;
SELECT what FROM tp.audit;
RESET ROLE;

-- The owner and the editor may create triggers on the versioned tables.
SET ROLE regress_tp_owner;
CREATE FUNCTION tp.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER audit BEFORE UPDATE ON tp.product FOR EACH ROW EXECUTE FUNCTION tp.audit();
RESET ROLE;
GRANT TRIGGER ON tp.product_dec TO regress_tp_editor;
SET ROLE regress_tp_editor;
CREATE TRIGGER audit BEFORE UPDATE ON tp.product_dec FOR EACH ROW EXECUTE FUNCTION tp.audit();
RESET ROLE;
SELECT tgrelid::regclass, tgname FROM pg_trigger
 WHERE tgrelid IN ('tp.product'::regclass, 'tp.product_dec'::regclass,
                   'tp.sequence_product'::regclass, 'tp.note'::regclass)
   AND tgname IN ('spy', 'spy_late', 'audit')
 ORDER BY 1, 2;

DROP SCHEMA tp_spy CASCADE;
DROP SCHEMA tp CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_tp_editor;
DROP ROLE regress_tp_owner, regress_tp_editor, regress_tp_spy, regress_tp_clerk;
