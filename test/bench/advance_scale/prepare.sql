-- Before each run: a new update that changes products 1..100000 (version
-- rows laid out set-based, triggers off), not yet live.
SELECT greatest(staging.live_version(), extract(epoch FROM now())::bigint) + 60 AS s \gset
SELECT staging.create_update('bench ' || :s, staging.to_timestamp(:s));
SET session_replication_role = replica;
UPDATE products SET updated_in = :s
 WHERE entity_id <= 100000 AND updated_in = 9223372036854775807;
INSERT INTO products (entity_id, created_in, sku, price)
SELECT entity_id, :s, sku, price + 1 FROM products WHERE updated_in = :s;
RESET session_replication_role;
VACUUM ANALYZE products;
