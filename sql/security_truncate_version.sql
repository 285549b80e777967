-- Functions that read every version row for the extension (the TRUNCATE
-- trigger of a changelog subscription, the changelog step of advance())
-- run as the extension's owner.  Their setting of staging.version ends
-- with them: the session that called them keeps its own choice of
-- version, checked for its own role, so neither a clerk who may truncate
-- a subscribed table nor a role that may only run advance() reads the
-- future after the call.
SET timezone = 'UTC';
CREATE ROLE regress_stv_owner;
CREATE ROLE regress_stv_clerk;
CREATE ROLE regress_stv_scheduler;
GRANT EXECUTE ON FUNCTION staging.advance(timestamptz) TO regress_stv_scheduler;
CREATE SCHEMA stv AUTHORIZATION regress_stv_owner;
GRANT USAGE ON SCHEMA stv TO regress_stv_clerk, regress_stv_scheduler;
SET ROLE regress_stv_owner;
CREATE TABLE stv.item (entity_id bigint PRIMARY KEY, sku text NOT NULL);
INSERT INTO stv.item VALUES (1, 'mug');
SELECT staging.enable_versioning('stv.item');
CREATE TABLE stv.stock (entity_id bigint, qty int);
INSERT INTO stv.stock VALUES (1, 5);
GRANT SELECT ON stv.item TO regress_stv_clerk, regress_stv_scheduler;
GRANT SELECT, TRUNCATE ON stv.stock TO regress_stv_clerk;
RESET ROLE;
SELECT staging.create_changelog('stv_search', 'stv.item');
SELECT staging.subscribe('stv_search', 'stv.stock', NULL);
SELECT staging.create_update('stv sale', now() + interval '1 day') AS sale \gset
SELECT staging.create_update('stv later sale', now() + interval '2 days') AS later \gset
SET ROLE regress_stv_owner;
SET staging.version = :sale;
UPDATE stv.item SET sku = 'mug SECRET' WHERE entity_id = 1;
SET staging.version = :later;
UPDATE stv.item SET sku = 'mug SECRET 2' WHERE entity_id = 1;
RESET staging.version;
RESET ROLE;

-- What a role reads of stv.item at its session version (or 42501).
\set read_item 'DO $$ BEGIN RAISE NOTICE ''read: %'', (SELECT string_agg(sku, '', '') FROM stv.item); EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE ''%'', SQLSTATE; END $$;'

-- The clerk truncates the subscribed table (and rolls back): the future
-- stays closed, 'all' too.
SET ROLE regress_stv_clerk;
BEGIN;
SET LOCAL staging.version = :sale;
TRUNCATE stv.stock;
:read_item
ROLLBACK;
BEGIN;
SET LOCAL staging.version = 'all';
TRUNCATE stv.stock;
:read_item
ROLLBACK;
-- Its truncate is still logged, and its own version still read.
BEGIN;
SET LOCAL staging.version = 'live';
TRUNCATE stv.stock;
:read_item
SHOW staging.version;
COMMIT;
RESET ROLE;
SELECT entity_id FROM stv.stv_search_cl;

-- The scheduler makes the sale live (and rolls back): the later sale
-- stays closed.
SET ROLE regress_stv_scheduler;
BEGIN;
SET LOCAL staging.version = :later;
SELECT staging.advance(now() + interval '1 day 1 hour') = :sale AS sale_live;
:read_item
ROLLBACK;
SELECT staging.live_version() < :sale AS sale_not_live;
RESET ROLE;

SELECT staging.drop_changelog('stv_search');
DROP SCHEMA stv CASCADE;
DELETE FROM staging.updates WHERE id IN (:sale, :later);
REVOKE EXECUTE ON FUNCTION staging.advance(timestamptz) FROM regress_stv_scheduler;
DROP ROLE regress_stv_owner, regress_stv_clerk, regress_stv_scheduler;
