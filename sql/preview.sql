-- Previews are privileged: future versions and 'all' are for superusers
-- and roles that may execute staging.sign_preview(); others read one
-- future version through a signed token from staging.preview().
CREATE SCHEMA pv;
CREATE TABLE pv.products (
    row_id     bigint PRIMARY KEY,
    entity_id  int NOT NULL,
    sku        text NOT NULL,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL
);
CREATE TABLE pv.sequence_products (sequence_value int PRIMARY KEY);
INSERT INTO pv.products VALUES
    (1, 1, 'tee',          1,          4102444800),
    (2, 1, 'tee (sale)',   4102444800, 4133980800),
    (3, 1, 'tee (2101)',   4133980800, 9223372036854775807);
INSERT INTO staging.versioned_table VALUES ('pv.products', 'entity_id', 'pv.sequence_products');
CREATE ROLE regress_staging_editor;
CREATE ROLE regress_staging_shopper;
CREATE ROLE regress_staging_reader IN ROLE pg_read_all_data;
GRANT USAGE ON SCHEMA pv TO PUBLIC;
GRANT SELECT ON pv.products TO PUBLIC;
GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) TO regress_staging_editor;
-- The outcome of a statement: 'ok' or its SQLSTATE.
CREATE FUNCTION pv.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pv.try(text) TO PUBLIC;

-- Anyone reads the live version, the past, and up to the current time.
SET ROLE regress_staging_shopper;
SELECT sku FROM pv.products;
SET staging.version = 1000;
SELECT sku FROM pv.products;
SET staging.version = '2020-01-01 00:00+00';
SELECT sku FROM pv.products;
-- The future and 'all' are denied (42501), when read, not when set.
SET staging.version = 4102444800;
SELECT sku FROM pv.products;
SELECT staging.current_version();
PREPARE q AS SELECT sku FROM pv.products;
EXECUTE q;
SET staging.version = 'all';
SELECT sku FROM pv.products;
RESET staging.version;
EXECUTE q;
-- row_security = off asks for every row: denied too.
SET row_security = off;
SELECT sku FROM pv.products;
RESET row_security;
-- COPY of the table would write every version row: denied too; COPY of a
-- query reads the session version.
COPY pv.products TO stdout;
COPY (SELECT sku FROM pv.products) TO stdout;
-- Shoppers can neither sign, nor rotate, nor read the secret.
SELECT staging.sign_preview(4102444800);
SELECT staging.rotate_preview_secret();
SELECT * FROM staging.preview_secret;
RESET ROLE;

-- Editors read the future and 'all', and sign previews.
SET ROLE regress_staging_editor;
SET staging.version = 4102444800;
SELECT sku FROM pv.products;
SET staging.version = 'all';
SELECT sku FROM pv.products ORDER BY row_id;
SET row_security = off;
SELECT count(*) FROM pv.products;
RESET row_security;
RESET staging.version;
COPY pv.products (sku) TO stdout;
SELECT staging.sign_preview(4102444800) AS sale_token \gset
SELECT staging.sign_preview(4133980800, '10 minutes') AS later_token \gset
SELECT staging.sign_preview(4102444800, '2 seconds') AS short_token \gset
SELECT :'sale_token' ~ '^4102444800\.[0-9]+\.[0-9a-f]{64}$' AS token_shape;
SELECT split_part(:'sale_token', '.', 2)::bigint - extract(epoch FROM now())::bigint BETWEEN 3590 AND 3601 AS valid_for_an_hour;
-- Bad arguments: 22023.
SELECT staging.sign_preview(0);
SELECT staging.sign_preview(staging.max_version());
SELECT staging.sign_preview(4102444800, '-1 hour');
SELECT staging.sign_preview(4102444800, '0 seconds');
-- Editors cannot read the secret either.
SELECT * FROM staging.preview_secret;
RESET ROLE;

-- A shopper with a token reads that one version.
SET ROLE regress_staging_shopper;
SELECT staging.preview(:'sale_token');
SHOW staging.version;
SELECT sku FROM pv.products;
PREPARE sale AS SELECT sku FROM pv.products;
EXECUTE sale;
-- ... and no other future version, nor 'all'.
SET staging.version = 4133980800;
SELECT sku FROM pv.products;
SET staging.version = 'all';
SELECT sku FROM pv.products;
-- Back to the previewed version: still allowed.
SET staging.version = 4102444800;
EXECUTE sale;
RESET staging.version;
SELECT sku FROM pv.products;
-- The preview belongs to the role that opened it.
RESET ROLE;
CREATE ROLE regress_staging_other;
GRANT SELECT ON pv.products TO regress_staging_other;
SET ROLE regress_staging_other;
SET staging.version = 4102444800;
SELECT sku FROM pv.products;
RESET staging.version;
RESET ROLE;
SET ROLE regress_staging_shopper;

-- Bad tokens: 42501, and nothing changes.
SET staging.version = 1000;
SELECT staging.preview('4102444800.9999999999.' || repeat('0', 64));     -- forged
SELECT staging.preview(replace(:'later_token', '4133980800.', '4102444800.'));  -- other version
SELECT staging.preview(regexp_replace(:'later_token', '\.([0-9]+)\.', '.9\1.'));  -- later expiry
SELECT staging.preview(left(:'sale_token', -1));                        -- truncated
SELECT staging.preview(:'sale_token' || '0');                           -- extended
SELECT staging.preview(upper(:'sale_token'));                           -- altered signature
SELECT staging.preview('garbage');
SELECT staging.preview('');
SELECT staging.preview('.' || :'sale_token');
SHOW staging.version;
-- A token for one version opens only that version.
SELECT staging.preview(:'later_token');
SELECT sku FROM pv.products;
SET staging.version = 4102444800;
SELECT sku FROM pv.products;
SET staging.version = 4133980800;
SELECT sku FROM pv.products;
RESET staging.version;

-- is_local: the preview lasts for the transaction (transaction poolers).
RESET ROLE;
CREATE ROLE regress_staging_pooled;
GRANT SELECT ON pv.products TO regress_staging_pooled;
SET ROLE regress_staging_pooled;
BEGIN;
SELECT staging.preview(:'sale_token', true);
SELECT sku FROM pv.products;
COMMIT;
SHOW staging.version;
SELECT sku FROM pv.products;
SET staging.version = 4102444800;
SELECT sku FROM pv.products;
RESET staging.version;
-- A failed preview in a transaction changes nothing.
BEGIN;
SELECT staging.preview('1.2.3', true);
ROLLBACK;
SHOW staging.version;
RESET ROLE;

-- Expiry: the token, and the preview it opened, end with valid_for
-- (rounded up to the second: 2 seconds last less than 3).
SET ROLE regress_staging_pooled;
SELECT staging.preview(:'short_token') = 4102444800 AS opened;
SELECT sku FROM pv.products;
SELECT pg_sleep(3.1);
SELECT pv.try('SELECT sku FROM pv.products') AS read_after_expiry;
SELECT pv.try($$SELECT staging.preview('$$ || :'short_token' || $$')$$) AS expired_token;
RESET staging.version;
RESET ROLE;

-- Rotating the secret invalidates every token signed before.
SELECT staging.rotate_preview_secret() = now() AS rotated;
SET ROLE regress_staging_pooled;
SELECT staging.preview(:'sale_token');
RESET ROLE;
SET ROLE regress_staging_editor;
SELECT staging.sign_preview(4102444800) AS new_token \gset
RESET ROLE;
SET ROLE regress_staging_pooled;
SELECT staging.preview(:'new_token');
SELECT sku FROM pv.products;
RESET staging.version;
RESET ROLE;

-- A table's owner reads every version of it (the owner could unregister
-- it anyway), but not of other tables; a cached plan is replanned for
-- another role.
CREATE ROLE regress_staging_owner;
CREATE TABLE pv.owned (row_id bigint PRIMARY KEY, entity_id int NOT NULL,
    created_in bigint NOT NULL, updated_in bigint NOT NULL);
CREATE TABLE pv.sequence_owned (sequence_value int PRIMARY KEY);
INSERT INTO pv.owned VALUES (1, 1, 1, 4102444800), (2, 1, 4102444800, 9223372036854775807);
ALTER TABLE pv.owned OWNER TO regress_staging_owner;
GRANT SELECT ON pv.owned TO PUBLIC;
INSERT INTO staging.versioned_table VALUES ('pv.owned', 'entity_id', 'pv.sequence_owned');
SET ROLE regress_staging_owner;
SET staging.version = 'all';
SELECT count(*) FROM pv.owned;
PREPARE owned_rows AS SELECT count(*) FROM pv.owned;
EXECUTE owned_rows;
SELECT count(*) FROM pv.products;
SET staging.version = 4102444800;
SELECT row_id FROM pv.owned;
-- COPY of its own table (a backup, as pg_dump run by the owner makes)
-- writes every version row; of another's table it is refused.
RESET staging.version;
COPY pv.owned (row_id) TO stdout;
COPY pv.products (sku) TO stdout;
RESET ROLE;
SET ROLE regress_staging_shopper;
COPY pv.owned (row_id) TO stdout;
SET staging.version = 'all';
EXECUTE owned_rows;
RESET staging.version;
EXECUTE owned_rows;
RESET ROLE;
DEALLOCATE owned_rows;
DELETE FROM staging.versioned_table WHERE relid = 'pv.owned'::regclass;
DROP TABLE pv.owned, pv.sequence_owned;
DROP ROLE regress_staging_owner;

-- No role but superusers can read the secret: not by privileges, and not
-- through pg_read_all_data either (row security without policies).
SELECT r.rolname FROM pg_roles r
 WHERE NOT r.rolsuper
   AND has_table_privilege(r.oid, 'staging.preview_secret', 'SELECT')
   AND r.rolname <> 'pg_read_all_data' AND NOT pg_has_role(r.oid, 'pg_read_all_data', 'MEMBER');
SET ROLE regress_staging_reader;
SELECT count(*) AS secrets_seen FROM staging.preview_secret;
RESET ROLE;
SELECT count(*) AS secrets FROM staging.preview_secret;
-- The secret is not an extension configuration table: pg_dump skips it.
SELECT count(*) FROM pg_extension, unnest(extconfig) c WHERE extname = 'staging' AND c = 'staging.preview_secret'::regclass;

DELETE FROM staging.versioned_table WHERE relid = 'pv.products'::regclass;
DROP SCHEMA pv CASCADE;
REVOKE EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) FROM regress_staging_editor;
DROP ROLE regress_staging_editor, regress_staging_shopper, regress_staging_reader,
    regress_staging_other, regress_staging_pooled;
