-- PostgreSQL lets a role granted the TRIGGER privilege on a table create
-- triggers on it, and CREATE OR REPLACE TRIGGER replaces a trigger of the
-- same name.  The extension's own triggers (versioned writes, live-only
-- guards, changelogs) are only for the table's owner to replace: swapped
-- for a grantee's function, they would stop keeping writes out of the
-- future and history (also an editor's, who may otherwise add triggers
-- to versioned tables), previews from writing live-only tables, and
-- changelogs from logging.
SET timezone = 'UTC';
CREATE ROLE regress_stp_owner;
CREATE ROLE regress_stp_clerk;
CREATE ROLE regress_stp_editor;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_stp_editor;
CREATE SCHEMA stp AUTHORIZATION regress_stp_owner;
CREATE SCHEMA stp_clerk AUTHORIZATION regress_stp_clerk;
GRANT USAGE ON SCHEMA stp_clerk TO regress_stp_editor;
CREATE FUNCTION public.stp_try(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT staging.create_update('stp sale', '2043-07-08 09:10:11+00') AS sale \gset
SET ROLE regress_stp_owner;
CREATE TABLE stp.item (entity_id bigint PRIMARY KEY, sku text);
CREATE TABLE stp.item_text (value_id serial PRIMARY KEY,
                            entity_id bigint NOT NULL REFERENCES stp.item,
                            attribute_id int NOT NULL, value text,
                            UNIQUE (entity_id, attribute_id));
CREATE TABLE stp.orders (id int, note text);
CREATE TABLE stp.stock (entity_id bigint, qty int);
CREATE TABLE stp.notes (id int, note text);
INSERT INTO stp.item VALUES (1, 'mug');
INSERT INTO stp.item_text (entity_id, attribute_id, value) VALUES (1, 1, 'one');
SELECT staging.enable_versioning('stp.item');
SELECT staging.add_attribute_table('stp.item_text', 'stp.item');
SELECT staging.live_only('stp.orders');
GRANT USAGE ON SCHEMA stp TO regress_stp_clerk, regress_stp_editor;
GRANT SELECT, INSERT, UPDATE, TRIGGER ON stp.item, stp.item_text, stp.orders, stp.stock, stp.notes
   TO regress_stp_clerk, regress_stp_editor;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA stp TO regress_stp_clerk, regress_stp_editor;
RESET ROLE;
SELECT staging.create_changelog('stp_search', 'stp.item');
SELECT staging.subscribe('stp_search', 'stp.stock');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'stp.stock'::regclass ORDER BY 1;
SET ROLE regress_stp_clerk;
-- A trigger that puts new rows into the sale, or rows into history.
CREATE FUNCTION stp_clerk.bend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'item' THEN
        NEW.created_in := pg_catalog.current_setting('stp.sale')::bigint;
    ELSIF TG_TABLE_NAME = 'item_text' THEN
        NEW.row_id := 1;
    END IF;
    RETURN NEW;
END
$$;
GRANT EXECUTE ON FUNCTION stp_clerk.bend() TO regress_stp_editor;
SELECT public.stp_try('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON stp.item FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
SELECT public.stp_try('CREATE OR REPLACE TRIGGER staging_live_only BEFORE INSERT OR UPDATE OR DELETE ON stp.orders FOR EACH STATEMENT EXECUTE FUNCTION stp_clerk.bend()');
SELECT public.stp_try('CREATE OR REPLACE TRIGGER stp_search_cl AFTER INSERT OR UPDATE OR DELETE ON stp.stock FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
-- A trigger of its own on a plain table stays the clerk's right.
SELECT public.stp_try('CREATE TRIGGER zzz BEFORE INSERT ON stp.notes FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
SELECT public.stp_try('CREATE TRIGGER zzz BEFORE INSERT ON stp.orders FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
RESET ROLE;
-- An editor may add triggers to a versioned table, not replace the
-- extension's.
SET ROLE regress_stp_editor;
SELECT public.stp_try('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON stp.item FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
SELECT public.stp_try('CREATE OR REPLACE TRIGGER staging_write BEFORE INSERT OR UPDATE OR DELETE ON stp.item_text FOR EACH ROW EXECUTE FUNCTION stp_clerk.bend()');
SELECT public.stp_try('CREATE OR REPLACE TRIGGER staging_write_statement BEFORE INSERT OR UPDATE OR DELETE ON stp.item FOR EACH STATEMENT EXECUTE FUNCTION stp_clerk.bend()');
RESET ROLE;
SET ROLE regress_stp_clerk;
-- Live writes of the clerk stay live.
SET stp.sale = :sale;
INSERT INTO stp.item (entity_id, sku) VALUES (2, 'cup');
UPDATE stp.item SET sku = 'mug 2' WHERE entity_id = 1;
RESET ROLE;
SELECT c.relname, t.tgname, p.proname
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE c.relnamespace = 'stp'::regnamespace AND NOT t.tgisinternal
 ORDER BY 1, 2;
SET staging.version = 'all';
SELECT entity_id, sku, created_in = 1 OR created_in = staging.live_version() AS live_write,
       updated_in = staging.max_version() AS current
  FROM stp.item ORDER BY 1, created_in;
RESET staging.version;
-- Clean up.
SELECT staging.drop_changelog('stp_search');
SELECT staging.delete_update(:sale);
DROP SCHEMA stp, stp_clerk CASCADE;
DROP FUNCTION public.stp_try(text);
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_stp_editor;
DROP ROLE regress_stp_editor;
DROP ROLE regress_stp_clerk;
DROP ROLE regress_stp_owner;
