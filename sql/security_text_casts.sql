-- A table's owner may write the cast to text of a type it owns (an enum,
-- a composite type).  The extension compares and shows column values as
-- text: when a version goes live (advance, the scheduler: as the
-- extension's owner) for changelog subscriptions with a column list, and
-- in staging.diff (as its caller).  Neither runs such a cast: the values
-- are converted by the type's output function, so the owner's code never
-- runs with the rights of the extension's owner or of an editor.
SET timezone = 'UTC';
CREATE ROLE regress_stc_owner;
CREATE ROLE regress_stc_editor;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_stc_editor;
CREATE SCHEMA stc AUTHORIZATION regress_stc_owner;
SET ROLE regress_stc_owner;
CREATE TABLE stc.calls (who name, became_superuser boolean);
GRANT INSERT ON stc.calls TO PUBLIC;
CREATE TYPE stc.mood AS ENUM ('calm', 'angry');
-- The cast notes who runs it, and tries to make its owner a superuser.
CREATE FUNCTION stc.mood_text(stc.mood) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_stc_owner SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO stc.calls VALUES (current_user, done);
    RETURN 'always the same';
END
$$;
CREATE CAST (stc.mood AS text) WITH FUNCTION stc.mood_text(stc.mood);
-- (a cast to text of a domain's base type, domains over domains included,
-- is the domain's cast)
CREATE DOMAIN stc.mood_d AS stc.mood;
CREATE DOMAIN stc.mood_dd AS stc.mood_d;
CREATE TABLE stc.item (entity_id bigint PRIMARY KEY, mood stc.mood, sku text, ok boolean, deep stc.mood_dd);
CREATE TABLE stc.item_mood (value_id serial PRIMARY KEY,
                            entity_id bigint NOT NULL REFERENCES stc.item,
                            attribute_id int NOT NULL, mood stc.mood,
                            UNIQUE (entity_id, attribute_id));
INSERT INTO stc.item VALUES (1, 'calm', 'mug', true, 'calm'), (2, 'calm', 'cup', true, 'calm');
INSERT INTO stc.item_mood (entity_id, attribute_id, mood) VALUES (1, 1, 'calm'), (2, 1, 'calm');
SELECT staging.enable_versioning('stc.item');
SELECT staging.add_attribute_table('stc.item_mood', 'stc.item');
GRANT USAGE ON SCHEMA stc TO regress_stc_editor;
GRANT SELECT ON stc.item, stc.item_mood TO regress_stc_editor;
RESET ROLE;
SELECT staging.create_changelog('stc_search', 'stc.item');
SELECT staging.subscribe('stc_search', 'stc.item', ARRAY['mood']);
SELECT staging.create_changelog('stc_deep', 'stc.item');
SELECT staging.subscribe('stc_deep', 'stc.item', ARRAY['deep']);
SELECT staging.subscribe('stc_search', 'stc.item_mood', ARRAY['mood']);
SELECT staging.create_update('stc sale', '2042-06-07 08:09:10+00') AS sale \gset
-- The owner changes the moods at the sale (entity 1 in the main table,
-- entity 2 in the attribute table) and a boolean of entity 1 (shown as
-- its cast to text shows it).
SET ROLE regress_stc_owner;
SET staging.version = :sale;
UPDATE stc.item SET mood = 'angry', ok = false, deep = 'angry' WHERE entity_id = 1;
UPDATE stc.item_mood SET mood = 'angry' WHERE row_id IN (SELECT row_id FROM stc.item WHERE entity_id = 2);
RESET staging.version;
TRUNCATE stc.calls;
RESET ROLE;
-- An editor compares the versions.
SET ROLE regress_stc_editor;
SELECT entity_id, change, field, old_value, new_value
  FROM staging.diff('stc.item', staging.live_version(), :sale) ORDER BY 1, 3;
RESET ROLE;
SELECT count(*) AS cast_calls FROM stc.calls;
-- The sale goes live: both entities are logged, their moods changed.
DELETE FROM stc.stc_search_cl;
DELETE FROM stc.stc_deep_cl;
SELECT staging.advance('2042-06-07 08:09:10+00') = :sale AS live;
SELECT entity_id FROM stc.stc_search_cl ORDER BY 1;
SELECT entity_id FROM stc.stc_deep_cl ORDER BY 1;
SELECT count(*) AS cast_calls FROM stc.calls;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_stc_owner';
-- Clean up (and back to the beginning for the tests that follow).
SELECT staging.drop_changelog('stc_search');
SELECT staging.drop_changelog('stc_deep');
DROP SCHEMA stc CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
UPDATE staging.live_state SET version = 1;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_stc_editor;
DROP ROLE regress_stc_editor;
DROP ROLE regress_stc_owner;
