-- enable_versioning with integer entity ids, as Magento's: the same
-- catalog as ../enable_versioning/setup.sql (1M products, three EAV
-- attribute tables of 5M rows each) with entity_id integer everywhere.
-- The attribute tables keep their integer link column (renamed row_id,
-- not rewritten); the main table gains row_id bigint (one rewrite).
-- prepare.sql copies the catalog into the working tables before every run.
CREATE TABLE pristine_entity (
    entity_id  integer NOT NULL,
    sku        text NOT NULL,
    type_id    text NOT NULL DEFAULT 'simple',
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pristine_entity (entity_id, sku) SELECT g, 'sku-' || g FROM generate_series(1, 1000000) g;
CREATE TABLE pristine_int AS
SELECT g AS value_id, 100 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::integer AS entity_id, g % 1000 AS value
  FROM generate_series(1, 5000000) g;
CREATE TABLE pristine_decimal AS
SELECT g AS value_id, 200 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::integer AS entity_id,
       (g % 10000 / 100.0)::numeric(12,4) AS value
  FROM generate_series(1, 5000000) g;
CREATE TABLE pristine_varchar AS
SELECT g AS value_id, 300 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::integer AS entity_id,
       'value ' || g AS value
  FROM generate_series(1, 5000000) g;
