-- The statements the write triggers prepare for a table (and for its
-- sequence table) are kept for the session, and forgotten once the table
-- is dropped: a session that outlives many imports (clones, swaps, dropped
-- copies) does not keep them all.
-- In one transaction, rolled back: the updates it makes go live and the
-- live version moves, which the tests after it must not see.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE FUNCTION wp_cycle(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. n LOOP
        CREATE TABLE wp_product (entity_id int PRIMARY KEY, price int);
        CREATE TABLE wp_attr (value_id serial PRIMARY KEY, entity_id int NOT NULL REFERENCES wp_product,
                              attribute_id int NOT NULL, value int, UNIQUE (entity_id, attribute_id));
        INSERT INTO wp_product VALUES (1, 10), (2, 20);
        INSERT INTO wp_attr (entity_id, attribute_id, value) VALUES (1, 1, 11), (2, 1, 21);
        PERFORM staging.enable_versioning('wp_product');
        PERFORM staging.add_attribute_table('wp_attr', 'wp_product');
        -- a history split (prepared copies) and a new entity (sequence table)
        PERFORM staging.advance(staging.to_timestamp(
            staging.create_update('wp', staging.to_timestamp(greatest(staging.live_version(), extract(epoch FROM now())::bigint) + 60))));
        UPDATE wp_product SET price = price + 1 WHERE entity_id = 1;
        INSERT INTO wp_product (price) VALUES (30);
        DROP TABLE wp_attr, wp_product, sequence_wp_product CASCADE;
    END LOOP;
END
$$;
SELECT wp_cycle(1);
-- one more table's statements at most: the first cycle's were forgotten
CREATE TEMP TABLE wp_before AS
SELECT count(*) AS contexts FROM pg_backend_memory_contexts WHERE name = 'staging write plans';
SELECT wp_cycle(20);
-- a write of another table sweeps the dropped ones
CREATE TABLE wp_other (entity_id int PRIMARY KEY, price int);
INSERT INTO wp_other VALUES (1, 1);
SELECT staging.enable_versioning('wp_other') IS NOT NULL AS versioned;
SELECT staging.advance(staging.to_timestamp(
    staging.create_update('wp', staging.to_timestamp(greatest(staging.live_version(), extract(epoch FROM now())::bigint) + 60)))) IS NOT NULL AS advanced;
UPDATE wp_other SET price = 2;
SELECT count(*) <= (SELECT contexts FROM wp_before) + 1 AS bounded
  FROM pg_backend_memory_contexts WHERE name = 'staging write plans';
ROLLBACK;
