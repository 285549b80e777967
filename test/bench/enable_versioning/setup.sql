-- A Magento-sized catalog, kept pristine: 1M products and three EAV
-- attribute tables of 5M rows each.  Entity ids are bigint, like row_id
-- (../enable_versioning_int has them integer).  prepare.sql copies the
-- catalog into the working tables before every run.
CREATE TABLE pristine_entity (
    entity_id  bigint NOT NULL,
    sku        text NOT NULL,
    type_id    text NOT NULL DEFAULT 'simple',
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pristine_entity (entity_id, sku) SELECT g, 'sku-' || g FROM generate_series(1, 1000000) g;
CREATE TABLE pristine_int AS
SELECT g AS value_id, 100 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::bigint AS entity_id, g % 1000 AS value
  FROM generate_series(1, 5000000) g;
CREATE TABLE pristine_decimal AS
SELECT g AS value_id, 200 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::bigint AS entity_id,
       (g % 10000 / 100.0)::numeric(12,4) AS value
  FROM generate_series(1, 5000000) g;
CREATE TABLE pristine_varchar AS
SELECT g AS value_id, 300 + g % 5 AS attribute_id, 0 AS store_id, ((g - 1) / 5 + 1)::bigint AS entity_id,
       'value ' || g AS value
  FROM generate_series(1, 5000000) g;
