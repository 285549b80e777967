-- Work the extension does on other owners' tables runs with the rights
-- of each table's owner, as a security-restricted operation: an owner's
-- trigger that tries ALTER ROLE ... SUPERUSER when an editor (not a
-- superuser) reschedules, deletes or advances updates, or when a clerk
-- inserts an entity, runs as the owner and cannot escalate.
SET timezone = 'UTC';
CREATE ROLE regress_so_owner;
CREATE ROLE regress_so_editor;
CREATE ROLE regress_so_clerk;
CREATE ROLE regress_so_other;
GRANT EXECUTE ON FUNCTION staging.create_update(text, timestamptz, timestamptz, text),
    staging.reschedule_update(bigint, timestamptz, timestamptz),
    staging.delete_update(bigint), staging.advance(timestamptz),
    staging.sign_preview(bigint, interval) TO regress_so_editor;
CREATE SCHEMA so AUTHORIZATION regress_so_owner;
GRANT USAGE ON SCHEMA so TO regress_so_editor, regress_so_clerk;
GRANT USAGE, CREATE ON SCHEMA so TO regress_so_other;

-- Another role's versioned table, that the owner may read (live only).
SET ROLE regress_so_other;
CREATE TABLE so.other (entity_id bigint PRIMARY KEY, note text);
INSERT INTO so.other VALUES (1, 'live');
SELECT staging.enable_versioning('so.other');
GRANT SELECT ON so.other TO regress_so_owner;
RESET ROLE;

SET ROLE regress_so_owner;
CREATE TABLE so.product (entity_id bigint PRIMARY KEY, sku text, price numeric);
CREATE TABLE so.product_text (row_id bigint REFERENCES so.product, attribute_id int, value text,
                              UNIQUE (row_id, attribute_id));
INSERT INTO so.product VALUES (1, 'a', 10), (2, 'b', 20);
INSERT INTO so.product_text VALUES (1, 73, 'A'), (2, 73, 'B');
SELECT staging.enable_versioning('so.product');
SELECT staging.add_attribute_table('so.product_text', 'so.product');
GRANT SELECT, INSERT, UPDATE ON so.product TO regress_so_clerk, regress_so_editor;
GRANT SELECT, INSERT, UPDATE ON so.product_text TO regress_so_clerk, regress_so_editor;
-- What each trigger saw, and whether its ALTER ROLE worked.
-- (other_rows: the rows of so.other it could read at the version it
-- runs at, -1 when refused.)
CREATE TABLE so.spy_log (tbl text, op text, role name, is_superuser boolean, escalated boolean,
                         other_rows bigint);
GRANT INSERT ON so.spy_log TO PUBLIC;
CREATE FUNCTION so.spy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    escalated boolean := true;
    other_rows bigint;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_so_owner SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        escalated := false;
    END;
    BEGIN
        SELECT pg_catalog.count(*) INTO other_rows FROM so.other;
    EXCEPTION WHEN insufficient_privilege THEN
        other_rows := -1;
    END;
    INSERT INTO so.spy_log
    SELECT TG_TABLE_NAME, TG_OP, current_user, r.rolsuper, escalated, other_rows
      FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER spy AFTER INSERT OR UPDATE OR DELETE ON so.product
    FOR EACH ROW EXECUTE FUNCTION so.spy();
CREATE TRIGGER spy AFTER INSERT OR UPDATE OR DELETE ON so.product_text
    FOR EACH ROW EXECUTE FUNCTION so.spy();
CREATE TRIGGER spy AFTER INSERT ON so.sequence_product
    FOR EACH ROW EXECUTE FUNCTION so.spy();
RESET ROLE;

-- Two updates with changes of entity 1 (written by the owner).
SET ROLE regress_so_editor;
-- one clock for the whole test: version ids follow from it exactly
SELECT date_trunc('second', now()) AS t0 \gset
SELECT staging.create_update('sale', (:'t0'::timestamptz) + interval '1 day', (:'t0'::timestamptz) + interval '2 days') AS sale \gset
SELECT staging.create_update('new price', (:'t0'::timestamptz) + interval '3 days') AS np \gset
RESET ROLE;
SET ROLE regress_so_other;
SET staging.version = :sale;
INSERT INTO so.other VALUES (2, 'future');
RESET staging.version;
RESET ROLE;
SET ROLE regress_so_owner;
SET staging.version = :sale;
UPDATE so.product SET price = 5 WHERE entity_id = 1;
UPDATE so.product_text SET value = 'A on sale' WHERE row_id = (SELECT row_id FROM so.product WHERE entity_id = 1);
SET staging.version = :np;
UPDATE so.product SET price = 12 WHERE entity_id = 1;
RESET staging.version;
TRUNCATE so.spy_log;
RESET ROLE;

-- The editor moves the sale (rows move, the rollback rows are dropped and
-- added again: UPDATE, DELETE and INSERT of both tables) and deletes the
-- other update.
SET ROLE regress_so_editor;
SELECT staging.reschedule_update(:sale, (:'t0'::timestamptz) + interval '1 day 1 hour') = :sale + 3600 AS moved;
SELECT staging.reschedule_update(:sale + 3600, (:'t0'::timestamptz) + interval '1 day 1 hour', (:'t0'::timestamptz) + interval '2 days 1 hour') = :sale + 3600 AS moved;
SELECT staging.delete_update(:np);
RESET ROLE;
-- A clerk inserts a new entity (its id goes into the sequence table).
SET ROLE regress_so_clerk;
INSERT INTO so.product (entity_id, sku, price) VALUES (3, 'c', 30);
INSERT INTO so.product (sku, price) VALUES ('d', 40);
RESET ROLE;

-- Every trigger ran as the owner, not as a superuser, and ALTER ROLE
-- failed; the owner is no superuser.
SELECT tbl, op, role, is_superuser, escalated, other_rows, count(*) > 0 AS fired
  FROM so.spy_log GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_so_owner';

-- advance: the changelog's log table belongs to the owner, who watches it.
CREATE SCHEMA so_cl;
SELECT staging.create_changelog('so_product', 'so.product') IS NOT NULL AS created;
ALTER TABLE so.so_product_cl OWNER TO regress_so_owner;
SET ROLE regress_so_owner;
CREATE TRIGGER spy AFTER INSERT ON so.so_product_cl FOR EACH ROW EXECUTE FUNCTION so.spy();
TRUNCATE so.spy_log;
RESET ROLE;
SET ROLE regress_so_editor;
SELECT staging.advance((:'t0'::timestamptz) + interval '1 day 2 hours') = :sale + 3600 AS live;
RESET ROLE;
SELECT tbl, op, role, is_superuser, escalated, other_rows, count(*) > 0 AS fired
  FROM so.spy_log GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_so_owner';

-- TRUNCATE of a watched table logs its entities as the log's owner too
-- (the editor's: TRUNCATE of a versioned table is for roles that may
-- read every version).
SELECT staging.subscribe('so_product', 'so.product_text');
GRANT TRUNCATE ON so.product_text TO regress_so_editor;
TRUNCATE so.spy_log;
SET ROLE regress_so_editor;
TRUNCATE so.product_text;
RESET ROLE;
SELECT tbl, op, role, is_superuser, escalated, other_rows, count(*) > 0 AS fired
  FROM so.spy_log GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_so_owner';

-- The statement runs in a security-restricted operation.
SET ROLE regress_so_owner;
CREATE OR REPLACE FUNCTION so.spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE so_spy_temp (x int);
    RETURN NULL;
END
$$;
RESET ROLE;
SET ROLE regress_so_editor;
SELECT staging.reschedule_update(:sale + 3600, (:'t0'::timestamptz) + interval '1 day 1 hour', NULL);
RESET ROLE;

DROP SCHEMA so, so_cl CASCADE;
-- Back to the beginning for the tests that follow.
DELETE FROM staging.updates WHERE name = 'sale';
UPDATE staging.live_state SET version = 1;
DROP OWNED BY regress_so_owner, regress_so_editor, regress_so_clerk, regress_so_other;
DROP ROLE regress_so_owner, regress_so_editor, regress_so_clerk, regress_so_other;
