-- A catalog of 1M products in database bench, of 100k in bench_plain
-- (the extension is created there too): advance() over the same 100k
-- changed products must take about as long in both.  With the changelogs
-- installed, a changelog subscribes the catalog, so advance() logs the
-- 100k entities that change.
CREATE EXTENSION IF NOT EXISTS staging;
SELECT CASE WHEN current_database() = 'bench' THEN 1000000 ELSE 100000 END AS n \gset
CREATE TABLE sequence_products (sequence_value bigint PRIMARY KEY);
INSERT INTO sequence_products SELECT generate_series(1, :n);
CREATE TABLE products (
    row_id      bigserial PRIMARY KEY,
    entity_id   bigint NOT NULL REFERENCES sequence_products,
    created_in  bigint NOT NULL DEFAULT staging.live_version(),
    updated_in  bigint NOT NULL DEFAULT 9223372036854775807,
    sku text, price numeric,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (int8range(entity_id, entity_id, '[]') WITH =,
                        int8range(created_in, updated_in) WITH &&)
        DEFERRABLE INITIALLY IMMEDIATE);
CREATE INDEX ON products (entity_id);
CREATE INDEX ON products (created_in);
CREATE INDEX ON products (updated_in);
INSERT INTO products (entity_id, sku, price)
SELECT g, 'sku-' || g, g FROM generate_series(1, :n) g;
INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products');
SELECT staging._enable_versioned_writes('products');
SELECT to_regprocedure('staging.create_changelog(text,regclass)') IS NOT NULL AS changelogs \gset
\if :changelogs
SELECT staging.create_changelog('bench_products', 'products');
\endif
