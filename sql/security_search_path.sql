-- The statements the write triggers run as the table's owner never use
-- an operator or function of the caller's search_path: an editor who puts
-- a schema of its own with an "=" first, then writes at a future version
-- (split rows, history copies, merges into later versions, attribute
-- rows), never gets it run as the owner.
SET timezone = 'UTC';
CREATE ROLE regress_ssp_owner;
CREATE ROLE regress_ssp_editor;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_ssp_editor;
GRANT CREATE ON DATABASE contrib_regression TO regress_ssp_editor;
CREATE SCHEMA ssp AUTHORIZATION regress_ssp_owner;
GRANT USAGE ON SCHEMA ssp TO regress_ssp_editor;
SET ROLE regress_ssp_owner;
CREATE TABLE ssp.item (entity_id bigint PRIMARY KEY, sku text, price numeric);
CREATE TABLE ssp.item_text (row_id bigint REFERENCES ssp.item, attribute_id int, value text,
                            UNIQUE (row_id, attribute_id));
INSERT INTO ssp.item VALUES (1, 'a', 10);
INSERT INTO ssp.item_text VALUES (1, 73, 'A');
SELECT staging.enable_versioning('ssp.item');
SELECT staging.add_attribute_table('ssp.item_text', 'ssp.item');
GRANT SELECT, INSERT, UPDATE, DELETE ON ssp.item, ssp.item_text TO regress_ssp_editor;
RESET ROLE;
SELECT staging.create_update('ssp sale', now() + interval '1 day', now() + interval '2 days') AS sale \gset
SELECT staging.create_update('ssp later', now() + interval '3 days') AS later \gset
SELECT staging.create_changelog('ssp_item', 'ssp.item') IS NOT NULL AS created;

-- The editor's operators: they say when they run as someone else.
SET ROLE regress_ssp_editor;
CREATE SCHEMA ssp_evil;
GRANT USAGE ON SCHEMA ssp_evil TO PUBLIC;
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'text', 'numeric', 'name', 'oid'] LOOP
        EXECUTE format($f$
            CREATE FUNCTION ssp_evil.spy_eq(%1$s, %1$s) RETURNS boolean LANGUAGE plpgsql AS $b$
            BEGIN
                IF current_user <> 'regress_ssp_editor' THEN
                    RAISE NOTICE 'the editor''s operator ran as %%', current_user;
                END IF;
                RETURN $1::text OPERATOR(pg_catalog.=) $2::text;
            END
            $b$$f$, t);
        EXECUTE format('CREATE OPERATOR ssp_evil.= (FUNCTION = ssp_evil.spy_eq, LEFTARG = %1$s, RIGHTARG = %1$s)', t);
    END LOOP;
END
$do$;
CREATE FUNCTION ssp_evil.min(bigint) RETURNS bigint
    LANGUAGE sql AS 'SELECT NULL::bigint';
SET search_path = ssp_evil, pg_catalog, public;
-- Writes at the later update (a version row and its attribute rows are
-- created), at the sale (temporary: rollback copies; merges into the
-- later version), and at live (history copies, merges into both; the
-- deleted attribute row leaves the versions that did not set it).
SET staging.version = :later;
UPDATE ssp.item SET price = 12;
SET staging.version = :sale;
UPDATE ssp.item SET price = 5, sku = 'a-sale';
UPDATE ssp.item_text t SET value = 'A on sale' FROM ssp.item i WHERE t.row_id = i.row_id;
INSERT INTO ssp.item (entity_id, sku, price) VALUES (2, 'b', 20);
RESET staging.version;
UPDATE ssp.item SET sku = 'a2';
UPDATE ssp.item_text t SET value = 'A2' FROM ssp.item i WHERE t.row_id = i.row_id;
DELETE FROM ssp.item_text t USING ssp.item i WHERE t.row_id = i.row_id;
-- New entities at live: an id taken by the column default, an explicit
-- one (both added to the sequence table as its owner).
INSERT INTO ssp.item (sku, price) VALUES ('c', 30);
INSERT INTO ssp.item (entity_id, sku, price) VALUES (7, 'd', 40);
RESET search_path;
RESET ROLE;
-- Every version as the writes meant it.
SET staging.version = 'all';
SELECT i.entity_id, i.sku, i.price, t.value,
       i.created_in = 1 OR i.created_in > 1000000 AS ok_from
  FROM ssp.item i LEFT JOIN ssp.item_text t ON t.row_id = i.row_id
 ORDER BY i.entity_id, i.created_in;
RESET staging.version;
SELECT sequence_value FROM ssp.sequence_item ORDER BY 1;

DROP SCHEMA ssp, ssp_evil CASCADE;
DELETE FROM staging.updates WHERE id IN (:sale, :later);
REVOKE CREATE ON DATABASE contrib_regression FROM regress_ssp_editor;
DROP OWNED BY regress_ssp_editor;
DROP ROLE regress_ssp_owner, regress_ssp_editor;
