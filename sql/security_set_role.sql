-- A connection that switches roles (an application's login role that
-- runs each request as the user's role with SET ROLE, as PostgREST does):
-- the version an editor's request chose, or the preview a shopper's
-- request opened, does not let the next request's role read ahead.  After
-- SET ROLE (or SET SESSION AUTHORIZATION) the right of the new role counts;
-- inside a SECURITY DEFINER function, still that of the role that chose.
SET timezone = 'UTC';
CREATE ROLE regress_ssr_owner;
CREATE ROLE regress_ssr_editor;
CREATE ROLE regress_ssr_shop;
CREATE ROLE regress_ssr_other;
CREATE ROLE regress_ssr_login NOINHERIT;
GRANT regress_ssr_editor, regress_ssr_shop, regress_ssr_other TO regress_ssr_login;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_ssr_editor;
CREATE SCHEMA ssr AUTHORIZATION regress_ssr_owner;
GRANT USAGE ON SCHEMA ssr TO regress_ssr_editor, regress_ssr_shop, regress_ssr_other;
SET ROLE regress_ssr_owner;
CREATE TABLE ssr.item (entity_id bigint PRIMARY KEY, sku text NOT NULL);
INSERT INTO ssr.item VALUES (1, 'mug');
SELECT staging.enable_versioning('ssr.item');
GRANT SELECT ON ssr.item TO regress_ssr_editor, regress_ssr_shop, regress_ssr_other;
-- what a role reads, or the SQLSTATE of its error
CREATE FUNCTION ssr.skus() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT string_agg(sku || ' until ' ||
                              CASE WHEN updated_in = staging.max_version() THEN 'the end'
                                   ELSE 'the sale' END, ', ' ORDER BY sku)
              FROM ssr.item);
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
-- the owner's reader that runs with its rights
CREATE FUNCTION ssr.owner_skus() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS 'SELECT ssr.skus()';
GRANT EXECUTE ON FUNCTION ssr.skus(), ssr.owner_skus() TO PUBLIC;
RESET ROLE;
SELECT staging.create_update('ssr sale', now() + interval '1 day') AS sale \gset
SET ROLE regress_ssr_owner;
SET staging.version = :sale;
UPDATE ssr.item SET sku = 'mug SECRET';
RESET staging.version;
RESET ROLE;

SET SESSION AUTHORIZATION regress_ssr_login;
-- The editor's request chooses the sale, or every version, or live.
SET ROLE regress_ssr_editor;
SET staging.version = :sale;
SELECT ssr.skus() AS editor;
-- The shop's request, with the editor's choice still set.
SET ROLE regress_ssr_shop;
SELECT ssr.skus() AS shop;
SELECT ssr.owner_skus() AS shop_through_owner;
SET ROLE regress_ssr_editor;
SET staging.version = 'all';
SET ROLE regress_ssr_shop;
SELECT ssr.skus() AS shop;
SET ROLE regress_ssr_editor;
SET staging.version = 'live';
SELECT ssr.skus() AS editor;
SET ROLE regress_ssr_shop;
SELECT ssr.skus() AS shop;
-- Back to the editor: its choice counts again.
SET ROLE regress_ssr_editor;
SET staging.version = :sale;
SET ROLE regress_ssr_shop;
SET ROLE regress_ssr_editor;
SELECT ssr.skus() AS editor;
RESET staging.version;
-- A preview the shop's request opened is the shop's.
SELECT staging.sign_preview(:sale) AS token \gset
SET ROLE regress_ssr_shop;
SELECT staging.preview(:'token') = :sale AS opened;
SELECT ssr.skus() AS shop;
SET ROLE regress_ssr_other;
SELECT ssr.skus() AS other;
SET ROLE regress_ssr_shop;
SELECT ssr.skus() AS shop;
RESET staging.version;
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- The same with SET SESSION AUTHORIZATION (to a role without a preview).
SET SESSION AUTHORIZATION regress_ssr_editor;
SET staging.version = :sale;
SELECT ssr.skus() AS editor;
SET SESSION AUTHORIZATION regress_ssr_other;
SELECT ssr.skus() AS other;
RESET SESSION AUTHORIZATION;
RESET staging.version;

DROP SCHEMA ssr CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_ssr_editor;
DROP ROLE regress_ssr_owner, regress_ssr_editor, regress_ssr_shop, regress_ssr_other,
          regress_ssr_login;
