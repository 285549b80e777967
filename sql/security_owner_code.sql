-- The write model runs as the extension's owner (a superuser, usually)
-- and reads the rows of versioned tables as jsonb: to_jsonb calls the
-- casts to json of the column types, which any role may write for a type
-- it owns.  Such a cast of a table owner's type runs as that owner, never
-- with the extension owner's rights: a role that may create a table and a
-- type does not become superuser by writing its own versioned table at a
-- future update (or live, once the entity has a future).
SET timezone = 'UTC';
CREATE ROLE regress_soc2_mallory;
CREATE SCHEMA soc2 AUTHORIZATION regress_soc2_mallory;
SELECT staging.create_update('soc2 sale', now() + interval '1 day') AS sale \gset
SET ROLE regress_soc2_mallory;
CREATE TABLE soc2.calls (who name, became_superuser boolean);
CREATE TYPE soc2.mood AS ENUM ('calm', 'angry');
-- The cast notes who runs it, and tries to make its owner a superuser.
CREATE FUNCTION soc2.mood_json(soc2.mood) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_soc2_mallory SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO soc2.calls VALUES (current_user, done);
    RETURN pg_catalog.to_json($1::text);
END
$$;
CREATE CAST (soc2.mood AS json) WITH FUNCTION soc2.mood_json(soc2.mood);
CREATE TABLE soc2.item (entity_id bigint PRIMARY KEY, mood soc2.mood, sku text);
CREATE TABLE soc2.item_mood (value_id serial PRIMARY KEY,
                             entity_id bigint NOT NULL REFERENCES soc2.item,
                             attribute_id int NOT NULL, mood soc2.mood,
                             UNIQUE (entity_id, attribute_id));
INSERT INTO soc2.item VALUES (1, 'calm', 'mug');
INSERT INTO soc2.item_mood (entity_id, attribute_id, mood) VALUES (1, 1, 'calm');
SELECT staging.enable_versioning('soc2.item');
SELECT staging.add_attribute_table('soc2.item_mood', 'soc2.item');
-- Writes at the sale (recorded, laid out), then live edits of the entity
-- that now has a future.
SET staging.version = :sale;
UPDATE soc2.item SET mood = 'angry', sku = 'mug (sale)' WHERE entity_id = 1;
UPDATE soc2.item_mood SET mood = 'angry' WHERE attribute_id = 1;
RESET staging.version;
UPDATE soc2.item SET sku = 'mug 2' WHERE entity_id = 1;
UPDATE soc2.item_mood SET mood = 'calm' WHERE attribute_id = 1;
SELECT who, became_superuser, count(*) > 0 AS called FROM soc2.calls GROUP BY 1, 2;
-- The rows are laid out as before.
SET staging.version = 'all';
SELECT i.mood, i.sku, i.created_in = :sale AS from_sale, a.mood AS attribute_mood
  FROM soc2.item i JOIN soc2.item_mood a ON a.row_id = i.row_id
 ORDER BY i.created_in;
RESET staging.version;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_soc2_mallory';

-- A table of its own that an administrator subscribed to a changelog:
-- its entity column's type changed since, to one whose cast to bigint
-- is its owner's.  Its TRUNCATE logs the entities as before, the cast
-- running as the table's owner.
SELECT staging.create_changelog('soc2_search', 'soc2.item');
SET ROLE regress_soc2_mallory;
CREATE TABLE soc2.stock (entity_id bigint, qty int);
INSERT INTO soc2.stock VALUES (1, 5);
RESET ROLE;
SELECT staging.subscribe('soc2_search', 'soc2.stock', ARRAY['qty']);
SET ROLE regress_soc2_mallory;
CREATE TYPE soc2.id AS ENUM ('1');
CREATE FUNCTION soc2.id_int8(soc2.id) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    done boolean := true;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_soc2_mallory SUPERUSER';
    EXCEPTION WHEN insufficient_privilege THEN
        done := false;
    END;
    INSERT INTO soc2.calls VALUES (current_user, done);
    RETURN $1::text::bigint;
END
$$;
CREATE CAST (soc2.id AS bigint) WITH FUNCTION soc2.id_int8(soc2.id);
ALTER TABLE soc2.stock ALTER entity_id TYPE soc2.id USING entity_id::text::soc2.id;
TRUNCATE soc2.calls;
TRUNCATE soc2.stock;
SELECT who, became_superuser, count(*) > 0 AS called FROM soc2.calls GROUP BY 1, 2;
RESET ROLE;
SELECT entity_id FROM soc2.soc2_search_cl;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_soc2_mallory';
SELECT staging.drop_changelog('soc2_search');

DROP SCHEMA soc2 CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP ROLE regress_soc2_mallory;
