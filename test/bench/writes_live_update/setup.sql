-- 100k products twice: a plain table, and a versioned one (every row
-- created at the live version, so an UPDATE at the live version changes
-- it in place) with the write triggers.
CREATE TABLE plain_products (entity_id bigint PRIMARY KEY, sku text, price numeric, description text);
INSERT INTO plain_products SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 100000) g;
CREATE TABLE sequence_products (sequence_value bigint PRIMARY KEY);
INSERT INTO sequence_products SELECT generate_series(1, 100000);
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
SELECT g, 'sku-' || g, g, 'Description ' || g FROM generate_series(1, 100000) g;
INSERT INTO staging.versioned_table VALUES ('products', 'entity_id', 'sequence_products');
SELECT staging._enable_versioned_writes('products');
-- The same shape without the write triggers: what the table shape costs.
CREATE TABLE products_shape (LIKE products INCLUDING ALL);
INSERT INTO products_shape SELECT * FROM products;
