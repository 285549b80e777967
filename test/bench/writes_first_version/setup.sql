-- 50k products with 10 EAV attribute rows each, twice: a plain main table
-- (the baseline updates only its main row), and a versioned one.
CREATE TABLE plain_products (entity_id bigint PRIMARY KEY, sku text, price numeric, description text);
INSERT INTO plain_products SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 50000) g;
CREATE TABLE plain_products_varchar (
    value_id bigserial PRIMARY KEY,
    entity_id bigint NOT NULL REFERENCES plain_products ON DELETE CASCADE,
    attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0, value text,
    UNIQUE (entity_id, attribute_id, store_id));
INSERT INTO plain_products_varchar (entity_id, attribute_id, value)
SELECT g, a, 'value ' || a FROM generate_series(1, 50000) g, generate_series(1, 10) a;
CREATE TABLE sequence_products (sequence_value bigint PRIMARY KEY);
INSERT INTO sequence_products SELECT generate_series(1, 50000);
CREATE TABLE products (
    row_id      bigserial PRIMARY KEY,
    entity_id   bigint NOT NULL REFERENCES sequence_products,
    created_in  bigint NOT NULL DEFAULT staging.live_version(),
    updated_in  bigint NOT NULL DEFAULT 9223372036854775807,
    sku text, price numeric, description text,
    CHECK (created_in < updated_in),
    EXCLUDE USING gist (int8range(entity_id, entity_id, '[]') WITH =,
                        int8range(created_in, updated_in) WITH &&)
        DEFERRABLE INITIALLY IMMEDIATE);
CREATE INDEX ON products (entity_id);
CREATE INDEX ON products (created_in);
CREATE INDEX ON products (updated_in);
INSERT INTO products (entity_id, sku, price, description)
SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 50000) g;
CREATE TABLE products_varchar (
    value_id bigserial PRIMARY KEY,
    row_id bigint NOT NULL REFERENCES products ON DELETE CASCADE,
    attribute_id int NOT NULL, store_id int NOT NULL DEFAULT 0, value text,
    UNIQUE (row_id, attribute_id, store_id));
INSERT INTO products_varchar (row_id, attribute_id, value)
SELECT p.row_id, a, 'value ' || a FROM products p, generate_series(1, 10) a;
INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products');
INSERT INTO staging.attribute_table VALUES ('products_varchar', 'products', 'entity_id');
SELECT staging._enable_versioned_writes('products');
