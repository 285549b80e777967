-- Preview tokens at their edges: how long they last, and what a preview
-- lets a session do (read its version, not change it).
CREATE SCHEMA pt;
CREATE TABLE pt.products (entity_id int PRIMARY KEY, sku text NOT NULL);
INSERT INTO pt.products VALUES (1, 'tee');
SELECT staging.enable_versioning('pt.products');
SELECT staging.create_update('pt sale', '2101-03-04 05:06:07+00') AS sale \gset
SET staging.version = :sale;
UPDATE pt.products SET sku = 'tee (sale)';
RESET staging.version;
CREATE ROLE regress_pt_editor;
CREATE ROLE regress_pt_storefront;
GRANT USAGE ON SCHEMA pt TO regress_pt_editor, regress_pt_storefront;
GRANT SELECT, INSERT, UPDATE, DELETE ON pt.products TO regress_pt_editor, regress_pt_storefront;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_pt_editor;

-- A token lasts at least valid_for: its expiry (whole seconds) is rounded
-- up, so a short one is not born expired.
SET ROLE regress_pt_editor;
SELECT split_part(staging.sign_preview(:sale, '1 hour'), '.', 2)::bigint
       >= extract(epoch FROM now() + interval '1 hour') AS lasts_an_hour;
SELECT staging.preview(staging.sign_preview(:sale, '1 millisecond')) = :sale AS short_token_opens;
RESET staging.version;
-- Beyond the range of timestamps: a bad argument (22023), like a negative
-- interval.
\set VERBOSITY default
SELECT staging.sign_preview(:sale, '1000000 years');
SELECT staging.sign_preview(:sale, '-1000000 years');
SELECT staging.sign_preview(:sale, '200000 years') ~ '^[0-9]+\.[0-9]+\.[0-9a-f]{64}$' AS long_token;
SELECT staging.sign_preview(:sale) AS token \gset
RESET ROLE;

-- A storefront that opened the preview reads the update's version ...
SET ROLE regress_pt_storefront;
SELECT staging.preview(:'token') = :sale AS opened;
SELECT sku FROM pt.products;
-- ... but does not change it, whatever its table privileges (42501).
UPDATE pt.products SET sku = 'tee (storefront)';
INSERT INTO pt.products VALUES (2, 'mug');
DELETE FROM pt.products;
SELECT sku FROM pt.products;
-- The live version and the past stay writable as before.
RESET staging.version;
UPDATE pt.products SET sku = 'tee' RETURNING sku;
RESET ROLE;
-- An editor writes at the update's version.
SET ROLE regress_pt_editor;
SET staging.version = :sale;
UPDATE pt.products SET sku = 'tee (big sale)' RETURNING sku;
RESET staging.version;
RESET ROLE;
SET staging.version = 'all';
SELECT entity_id, sku, created_in = :sale AS at_sale FROM pt.products ORDER BY created_in;
RESET staging.version;

-- Rotating the secret ends the previews that its tokens opened, not only
-- the tokens (42501); a new token opens the version again.
SET ROLE regress_pt_storefront;
SELECT staging.preview(:'token') = :sale AS opened;
SELECT sku FROM pt.products;
RESET ROLE;
SELECT staging.rotate_preview_secret() IS NOT NULL AS rotated;
SET ROLE regress_pt_storefront;
SELECT sku FROM pt.products;
SELECT staging.current_version();
SHOW staging.version;
RESET ROLE;
SET ROLE regress_pt_editor;
SELECT staging.sign_preview(:sale) AS new_token \gset
RESET ROLE;
SET ROLE regress_pt_storefront;
SELECT staging.preview(:'new_token') = :sale AS opened_again;
SELECT sku FROM pt.products;
RESET staging.version;
RESET ROLE;

SELECT staging.delete_update(:sale);
DROP SCHEMA pt CASCADE;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_pt_editor;
DROP ROLE regress_pt_editor, regress_pt_storefront;
