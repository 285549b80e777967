-- The extension itself: versions, the live version, the registry cache and
-- the reserved GUC prefix.  (pg_regress creates the extension first.)

SELECT extname, extversion, nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'staging';

-- Versions are UNIX epoch seconds; 1 is the beginning.
SELECT staging.max_version();
SELECT staging.to_version('2026-11-27 00:00:00+00');
SELECT staging.to_timestamp(1795737600) AT TIME ZONE 'UTC' AS starts;
SELECT staging.to_version(staging.to_timestamp(1795737600)) = 1795737600 AS round_trip;
-- The open end is infinity, both ways (a row that lasts forever ends at
-- staging.to_timestamp(updated_in) = 'infinity').
SELECT staging.to_timestamp(staging.max_version()) AS open_end;
SELECT staging.to_version('infinity') = staging.max_version() AS open_end;
SELECT staging.live_version();

-- The prefix is reserved: a misspelt setting is an error, not a placeholder.
SET staging.no_such_setting = 'on';

-- The registry cache sees a registration at once, in this transaction and
-- after it, and forgets it when the registration goes.
CREATE TABLE plain_products (entity_id int PRIMARY KEY, sku text);
CREATE TABLE sequence_plain_products (sequence_value int PRIMARY KEY);
SELECT staging.versioned_kind('plain_products');
BEGIN;
INSERT INTO staging.versioned_table VALUES ('plain_products', 'entity_id', 'sequence_plain_products');
SELECT staging.versioned_kind('plain_products');
ROLLBACK;
SELECT staging.versioned_kind('plain_products');
INSERT INTO staging.versioned_table VALUES ('plain_products', 'entity_id', 'sequence_plain_products');
SELECT staging.versioned_kind('plain_products');
DELETE FROM staging.versioned_table WHERE relid = 'plain_products'::regclass;
SELECT staging.versioned_kind('plain_products');
DROP TABLE plain_products, sequence_plain_products;
