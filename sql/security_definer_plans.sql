-- A SECURITY DEFINER function runs its queries as its owner for every
-- caller, and PL/pgSQL keeps their plans for the session: behind a pooler
-- or PostgREST that SET ROLE per request, the owner's request and a
-- shop's request call the same function in one session.  A plan made when
-- the owner (or an editor) called its own function, and so chose the
-- version itself, must not show updated_in as stored to a later caller
-- who may not see it (which entities a future update changes, and when).
SET client_min_messages = warning;
CREATE ROLE regress_sdp_owner;
CREATE ROLE regress_sdp_editor;
CREATE ROLE regress_sdp_shop;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_sdp_editor;
CREATE SCHEMA sdp AUTHORIZATION regress_sdp_owner;
GRANT USAGE, CREATE ON SCHEMA sdp TO regress_sdp_editor;
GRANT USAGE ON SCHEMA sdp TO regress_sdp_shop;
SET ROLE regress_sdp_owner;
CREATE TABLE sdp.item (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO sdp.item VALUES (1, 'a'), (2, 'b');
SELECT staging.enable_versioning('sdp.item');
GRANT SELECT ON sdp.item TO regress_sdp_editor, regress_sdp_shop;
RESET ROLE;
SELECT staging.create_update('sdp sale', '2041-07-13 08:41:00+00') AS sale \gset
-- The sale changes entity 1.
SET ROLE regress_sdp_owner;
SET staging.version = :sale;
UPDATE sdp.item SET sku = 'a-sale' WHERE entity_id = 1;
RESET staging.version;
-- The owner's API: where each live row ends, in a query without
-- parameters (planned once) and with one (generic plans forced).
CREATE FUNCTION sdp.ends() RETURNS TABLE (entity_id bigint, lasts boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN QUERY SELECT i.entity_id, i.updated_in = staging.max_version() FROM sdp.item i ORDER BY 1;
END $$;
CREATE FUNCTION sdp.end_of(e bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    r bigint;
BEGIN
    SELECT i.updated_in INTO r FROM sdp.item i WHERE i.entity_id = e;
    RETURN r = staging.max_version();
END $$;
GRANT EXECUTE ON FUNCTION sdp.ends(), sdp.end_of(bigint) TO regress_sdp_shop;
RESET ROLE;
SET plan_cache_mode = force_generic_plan;

-- The owner's request: it sees where entity 1's live row ends.
SET ROLE regress_sdp_owner;
SELECT * FROM sdp.ends();
SELECT sdp.end_of(1) AS lasts;
RESET ROLE;
-- The shop's request, next in the same session: every row lasts.
SET ROLE regress_sdp_shop;
SELECT * FROM sdp.ends();
SELECT sdp.end_of(1) AS lasts;
RESET ROLE;

-- The same with an editor's function, which the editor calls first.
SET ROLE regress_sdp_editor;
CREATE FUNCTION sdp.editor_ends() RETURNS TABLE (entity_id bigint, lasts boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN QUERY SELECT i.entity_id, i.updated_in = staging.max_version() FROM sdp.item i ORDER BY 1;
END $$;
GRANT EXECUTE ON FUNCTION sdp.editor_ends() TO regress_sdp_shop;
SELECT * FROM sdp.editor_ends();
RESET ROLE;
SET ROLE regress_sdp_shop;
SELECT * FROM sdp.editor_ends();
RESET ROLE;
-- And back: the owner and the editor still see where rows end.
SET ROLE regress_sdp_owner;
SELECT * FROM sdp.ends();
RESET ROLE;
SET ROLE regress_sdp_editor;
SELECT * FROM sdp.editor_ends();
RESET ROLE;
RESET plan_cache_mode;

DROP SCHEMA sdp CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_sdp_editor;
DROP ROLE regress_sdp_owner, regress_sdp_editor, regress_sdp_shop;
