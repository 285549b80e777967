-- Reading: the session version.  Every query shape sees exactly the rows
-- valid at staging.version, cached plans follow later changes of it, and
-- user predicates stay index quals.
CREATE SCHEMA sv;
-- EXPLAIN (COSTS OFF) of a query, less the "Disabled: true" lines that
-- PostgreSQL 18 prints under the nodes that an enable_* setting disfavours.
CREATE FUNCTION sv.explain(query text) RETURNS TABLE("QUERY PLAN" text) LANGUAGE plpgsql AS $$
BEGIN
    FOR "QUERY PLAN" IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        IF "QUERY PLAN" !~ '^\s*Disabled: true$' THEN
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
-- A view created before the table is versioned.
CREATE TABLE sv.products (
    row_id     bigint PRIMARY KEY,
    entity_id  int NOT NULL,
    sku        text NOT NULL,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL
);
CREATE INDEX ON sv.products (entity_id, updated_in);
CREATE INDEX products_lower_sku ON sv.products (lower(sku));
CREATE TABLE sv.sequence_products (sequence_value int PRIMARY KEY);
CREATE TABLE sv.prices (
    row_id bigint NOT NULL REFERENCES sv.products ON DELETE CASCADE,
    store  int NOT NULL,
    price  numeric NOT NULL,
    PRIMARY KEY (row_id, store)
);
-- entity 1: three versions; 2: always; 3: appears at 1000; 4: ends at 2100
INSERT INTO sv.products VALUES
    (11, 1, 'tee v1',     1,          1000),
    (12, 1, 'tee v1000',  1000,       4102444800),
    (13, 1, 'tee v2100',  4102444800, 9223372036854775807),
    (21, 2, 'mug',        1,          9223372036854775807),
    (31, 3, 'cap',        1000,       9223372036854775807),
    (41, 4, 'old',        1,          4102444800);
INSERT INTO sv.prices VALUES (11, 0, 10), (12, 0, 12), (13, 0, 15), (21, 0, 5),
    (31, 0, 8), (41, 0, 1), (41, 1, 2);
CREATE TABLE sv.orders (order_id int PRIMARY KEY, entity_id int NOT NULL);
INSERT INTO sv.orders VALUES (100, 1), (101, 3), (102, 4), (103, 9);
CREATE VIEW sv.v_before AS SELECT entity_id, sku FROM sv.products;
INSERT INTO staging.versioned_table VALUES ('sv.products', 'entity_id', 'sv.sequence_products');
INSERT INTO staging.attribute_table VALUES ('sv.prices', 'sv.products', 'entity_id');
CREATE VIEW sv.v_after AS SELECT entity_id, sku FROM sv.products;
SELECT staging.versioned_kind('sv.products'), staging.versioned_kind('sv.prices');

-- The setting: 'live' by default, a number, a timestamp, 'all'.
SHOW staging.version;
SELECT staging.current_version() = staging.live_version() AS live;
SET staging.version = 1000;
SELECT staging.current_version();
SET staging.version = '2100-01-01 00:00:00+00';
SELECT staging.current_version();
SET staging.version = '2099-12-31 19:00:00-05';
SELECT staging.current_version();
SET staging.version = ' ALL ';
SELECT staging.current_version() IS NULL AS all_is_null;
-- Bad values are rejected when set (22023), and nothing changes.
\set VERBOSITY default
SET staging.version = 'tomorrow-ish';
SET staging.version = -1;
SET staging.version = 0;
SET staging.version = 99999999999999999999;
-- staging.max_version() is the open end: no row is visible there.
SET staging.version = 9223372036854775807;
SET staging.version = '1969-12-31 23:59:59+00';
SET staging.version = '294277-01-01 00:00:00+00';
SET staging.version = 'infinity';
SET staging.version = '';
\set VERBOSITY terse
SHOW staging.version;
-- SHOW and current_setting() give each value in one spelling.
SET staging.version = ' Live ';
SHOW staging.version;
SET staging.version = '+0001000';
SELECT current_setting('staging.version');
RESET staging.version;

-- Plain scans at several versions.
SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
SET staging.version = 999;
SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
SET staging.version = 1000;
SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
SET staging.version = 4102444800;
SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
SET staging.version = 'all';
SELECT entity_id, sku FROM sv.products ORDER BY row_id;
-- Attribute tables are not filtered: they are reached through row_id.
SELECT count(*) FROM sv.prices;

-- Joins: attribute table, inner and outer joins on either side.
SET staging.version = 1000;
SELECT p.entity_id, p.sku, pr.store, pr.price
  FROM sv.products p JOIN sv.prices pr USING (row_id) ORDER BY 1, 3;
SELECT o.order_id, p.sku FROM sv.orders o LEFT JOIN sv.products p USING (entity_id) ORDER BY 1;
SELECT o.order_id, p.sku FROM sv.products p RIGHT JOIN sv.orders o USING (entity_id) ORDER BY 1;
SELECT p.entity_id, o.order_id FROM sv.products p LEFT JOIN sv.orders o USING (entity_id) ORDER BY 1;
SELECT o.order_id, p.entity_id FROM sv.orders o FULL JOIN sv.products p USING (entity_id) ORDER BY 1, 2;
-- Nullable side of an outer join with a condition on it: filtered first.
SELECT o.order_id, p.sku FROM sv.orders o
  LEFT JOIN sv.products p ON p.entity_id = o.entity_id AND p.sku LIKE 'tee%' ORDER BY 1;
SET staging.version = 999;
SELECT o.order_id, p.sku FROM sv.orders o LEFT JOIN sv.products p USING (entity_id) ORDER BY 1;
-- Self-join.
SELECT a.entity_id, a.sku, b.sku FROM sv.products a JOIN sv.products b
    ON b.entity_id = a.entity_id + 1 ORDER BY 1;

-- Subqueries and sublinks.
SET staging.version = 1000;
SELECT * FROM (SELECT entity_id, sku FROM sv.products WHERE entity_id < 4) s ORDER BY 1;
SELECT order_id FROM sv.orders o
 WHERE EXISTS (SELECT 1 FROM sv.products p WHERE p.entity_id = o.entity_id) ORDER BY 1;
SELECT order_id FROM sv.orders o
 WHERE NOT EXISTS (SELECT 1 FROM sv.products p WHERE p.entity_id = o.entity_id) ORDER BY 1;
SELECT order_id FROM sv.orders WHERE entity_id IN (SELECT entity_id FROM sv.products) ORDER BY 1;
SELECT order_id, (SELECT sku FROM sv.products p WHERE p.entity_id = o.entity_id) FROM sv.orders o ORDER BY 1;
SELECT (SELECT count(*) FROM sv.products) AS visible, (SELECT count(*) FROM sv.prices) AS attribute_rows;

-- CTEs: inlined, MATERIALIZED and recursive.
WITH c AS (SELECT entity_id, sku FROM sv.products) SELECT * FROM c ORDER BY 1;
WITH c AS MATERIALIZED (SELECT entity_id, sku FROM sv.products) SELECT * FROM c ORDER BY 1;
WITH RECURSIVE chain AS (
    SELECT entity_id, sku FROM sv.products WHERE entity_id = 1
    UNION ALL
    SELECT p.entity_id, p.sku FROM sv.products p JOIN chain c ON p.entity_id = c.entity_id + 1
) SELECT * FROM chain ORDER BY 1;
SET staging.version = 999;
WITH RECURSIVE chain AS (
    SELECT entity_id, sku FROM sv.products WHERE entity_id = 1
    UNION ALL
    SELECT p.entity_id, p.sku FROM sv.products p JOIN chain c ON p.entity_id = c.entity_id + 1
) SELECT * FROM chain ORDER BY 1;

-- Views created before and after registration; UNION ALL legs.
SET staging.version = 1000;
SELECT * FROM sv.v_before ORDER BY 1;
SELECT * FROM sv.v_after ORDER BY 1;
SELECT entity_id, sku FROM sv.products UNION ALL SELECT entity_id, sku FROM sv.products ORDER BY 1, 2;
SET staging.version = 4102444800;
SELECT * FROM sv.v_before ORDER BY 1;

-- Functions: SQL (inlined set-returning, not inlined), PL/pgSQL.
CREATE FUNCTION sv.products_srf() RETURNS TABLE (entity_id int, sku text)
    LANGUAGE sql STABLE AS 'SELECT entity_id, sku FROM sv.products';
CREATE FUNCTION sv.sku_sql(e int) RETURNS text
    LANGUAGE sql VOLATILE AS 'SELECT sku FROM sv.products WHERE entity_id = e';
CREATE FUNCTION sv.sku_plpgsql(e int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT sku FROM sv.products WHERE entity_id = e);
END $$;
SET staging.version = 1000;
SELECT * FROM sv.products_srf() ORDER BY 1;
EXPLAIN (COSTS OFF) SELECT * FROM sv.products_srf();
SELECT * FROM sv.products_srf() UNION ALL SELECT * FROM sv.products_srf() ORDER BY 1, 2;
EXPLAIN (COSTS OFF) SELECT * FROM sv.products_srf() UNION ALL SELECT * FROM sv.products_srf();
SELECT sv.sku_sql(1), sv.sku_plpgsql(1), sv.sku_plpgsql(3);
SET staging.version = 999;
SELECT * FROM sv.products_srf() ORDER BY 1;
-- PL/pgSQL's cached plan follows every change of the setting.
SELECT sv.sku_sql(1), sv.sku_plpgsql(1), sv.sku_plpgsql(3);
SET staging.version = 4102444800;
SELECT sv.sku_sql(1), sv.sku_plpgsql(1), sv.sku_plpgsql(4);
RESET staging.version;
SELECT sv.sku_sql(1), sv.sku_plpgsql(1), sv.sku_plpgsql(3);
-- Two versions in one query: a function that reads at another version.
CREATE FUNCTION sv.products_at(v bigint) RETURNS TABLE (entity_id int, sku text)
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := current_setting('staging.version');
BEGIN
    PERFORM set_config('staging.version', v::text, true);
    RETURN QUERY SELECT p.entity_id, p.sku FROM sv.products p;
    PERFORM set_config('staging.version', saved, true);
END $$;
SET staging.version = 999;
SELECT now.entity_id, now.sku AS at_999, later.sku AS at_2100
  FROM sv.products now FULL JOIN sv.products_at(4102444800) later USING (entity_id)
 ORDER BY 1;
SHOW staging.version;

-- UPDATE and DELETE hit only the rows visible at the session version.
SET staging.version = 1000;
BEGIN;
UPDATE sv.products SET sku = sku || '!' RETURNING row_id, sku;
SET LOCAL staging.version = 'all';
SELECT row_id, sku FROM sv.products ORDER BY row_id;
ROLLBACK;
BEGIN;
DELETE FROM sv.products WHERE entity_id IN (1, 4) RETURNING row_id;
SET LOCAL staging.version = 'all';
SELECT row_id FROM sv.products ORDER BY row_id;
ROLLBACK;
-- UPDATE ... FROM, with the versioned table on either side.
BEGIN;
UPDATE sv.orders o SET entity_id = -o.entity_id FROM sv.products p
 WHERE p.entity_id = o.entity_id RETURNING order_id;
ROLLBACK;
-- INSERT ... SELECT
CREATE TABLE sv.snapshot (entity_id int, sku text);
INSERT INTO sv.snapshot SELECT entity_id, sku FROM sv.products;
SELECT * FROM sv.snapshot ORDER BY 1;
-- MERGE: the versioned table as target and as source.
BEGIN;
MERGE INTO sv.products t USING sv.orders o ON t.entity_id = o.entity_id
 WHEN MATCHED THEN UPDATE SET sku = t.sku || ' (ordered)';
SET LOCAL staging.version = 'all';
SELECT row_id, sku FROM sv.products ORDER BY row_id;
ROLLBACK;
BEGIN;
MERGE INTO sv.snapshot s USING sv.products p ON s.entity_id = p.entity_id
 WHEN MATCHED THEN DELETE
 WHEN NOT MATCHED THEN INSERT VALUES (p.entity_id, p.sku);
SET LOCAL staging.version = 999;
MERGE INTO sv.snapshot s USING sv.products p ON s.entity_id = p.entity_id
 WHEN MATCHED THEN DELETE
 WHEN NOT MATCHED THEN INSERT VALUES (p.entity_id, p.sku);
SELECT * FROM sv.snapshot ORDER BY 1;
ROLLBACK;

-- Cursors keep the version they started with.
SET staging.version = 999;
BEGIN;
DECLARE c CURSOR FOR SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
FETCH 1 FROM c;
SET staging.version = 1000;
FETCH ALL FROM c;
SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
COMMIT;
-- ... from DECLARE on, also when nothing was fetched before the change,
-- and the attribute rows with them (as WITH HOLD cursors, filled at
-- COMMIT, always did).
SET staging.version = 999;
BEGIN;
DECLARE c CURSOR FOR SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
DECLARE a CURSOR FOR SELECT row_id, price FROM sv.prices ORDER BY row_id, store;
SET staging.version = 1000;
FETCH ALL FROM c;
FETCH ALL FROM a;
COMMIT;
SET staging.version = 999;
DECLARE h CURSOR WITH HOLD FOR SELECT entity_id, sku FROM sv.products ORDER BY entity_id;
SET staging.version = 1000;
FETCH ALL FROM h;
CLOSE h;

-- Prepared statements, custom and generic plans, over many changes.
PREPARE by_entity(int) AS SELECT sku FROM sv.products WHERE entity_id = $1;
PREPARE all_skus AS SELECT string_agg(sku, ', ' ORDER BY entity_id) FROM sv.products;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_entity(1);
SET staging.version = 999;
EXECUTE by_entity(1);
EXECUTE all_skus;
SET staging.version = 1000;
EXECUTE by_entity(1);
EXECUTE all_skus;
SET staging.version = 4102444800;
EXECUTE by_entity(1);
EXECUTE all_skus;
SET staging.version = 'all';
EXECUTE all_skus;
SET staging.version = 999;
EXECUTE all_skus;
SET plan_cache_mode = force_custom_plan;
EXECUTE by_entity(1);
SET staging.version = 1000;
EXECUTE by_entity(1);
EXECUTE all_skus;
RESET plan_cache_mode;
DO $$
DECLARE
    v bigint;
    seen text := '';
BEGIN
    FOREACH v IN ARRAY ARRAY[1, 999, 1000, 4102444800, 1, 1000]
    LOOP
        PERFORM set_config('staging.version', v::text, false);
        seen := seen || v || ': ' || (SELECT string_agg(sku, ', ' ORDER BY entity_id) FROM sv.products) || E'\n';
    END LOOP;
    RAISE NOTICE E'\n%', seen;
END $$;
DEALLOCATE by_entity;
DEALLOCATE all_skus;

-- Behind a transaction pooler: SET LOCAL lasts for the transaction.
RESET staging.version;
BEGIN;
SET LOCAL staging.version = 1000;
SELECT staging.current_version(), count(*) FROM sv.products;
COMMIT;
SELECT staging.current_version() = staging.live_version() AS back_to_live, count(*) FROM sv.products;

-- The live version moves: sessions read the new one at once.
UPDATE staging.live_state SET version = 1000;
SELECT staging.current_version(), string_agg(sku, ', ' ORDER BY entity_id) FROM sv.products;
BEGIN;
UPDATE staging.live_state SET version = 1;
SELECT staging.current_version(), string_agg(sku, ', ' ORDER BY entity_id) FROM sv.products;
ROLLBACK;
SELECT staging.current_version();
UPDATE staging.live_state SET version = 1;
SELECT staging.current_version();

-- Indexable user predicates stay index quals, also with a function that
-- is not leakproof (lower()), and the filter itself can use an index.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM sv.explain($$SELECT sku FROM sv.products WHERE entity_id = 2$$);
SELECT * FROM sv.explain($$SELECT sku FROM sv.products WHERE lower(sku) = 'mug'$$);
SELECT sku FROM sv.products WHERE lower(sku) = 'mug';
SELECT * FROM sv.explain($$SELECT o.order_id, p.sku FROM sv.orders o LEFT JOIN sv.products p USING (entity_id)$$);
RESET enable_seqscan;
RESET enable_bitmapscan;
-- The version is not planned in as a constant.
EXPLAIN (COSTS OFF) SELECT sku FROM sv.products WHERE entity_id = 1;

-- Parallel workers read the same version as the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(row_id) FROM sv.products;
SET staging.version = 999;
SELECT count(*), sum(row_id) FROM sv.products;
SET staging.version = 1000;
SELECT count(*), sum(row_id) FROM sv.products;
RESET staging.version;
UPDATE staging.live_state SET version = 4102444800;
SELECT count(*), sum(row_id) FROM sv.products;
UPDATE staging.live_state SET version = 1;
SELECT count(*), sum(row_id) FROM sv.products;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- Referential integrity checks see every row: an attribute row may point
-- at a version row that the session does not see.
SET staging.version = 999;
INSERT INTO sv.prices VALUES (13, 7, 99);
DELETE FROM sv.prices WHERE store = 7;

-- COPY of a table is a backup: every row.
COPY sv.products (row_id) TO stdout;
-- COPY of a query reads at the session version.
COPY (SELECT row_id FROM sv.products ORDER BY 1) TO stdout;

-- row_security = off (as pg_dump sets it): every row, for those who may.
SET row_security = off;
SELECT count(*) FROM sv.products;
RESET row_security;
RESET staging.version;

-- Inheritance: no versioned table takes part in it (the rows of a child
-- would be neither versioned nor filtered when it is read directly).
CREATE TABLE sv.products_extra () INHERITS (sv.products);
-- Registered by hand all the same (as here), children of a versioned
-- parent are filtered, and so is a versioned child read through a parent
-- that is not versioned.
DELETE FROM staging.versioned_table WHERE relid = 'sv.products'::regclass;
CREATE TABLE sv.products_extra () INHERITS (sv.products);
INSERT INTO staging.versioned_table VALUES ('sv.products', 'entity_id', 'sv.sequence_products');
INSERT INTO staging.attribute_table VALUES ('sv.prices', 'sv.products', 'entity_id');
INSERT INTO sv.products_extra VALUES (51, 5, 'extra old', 1, 1000), (52, 5, 'extra new', 1000, 9223372036854775807);
SET staging.version = 999;
SELECT entity_id, sku FROM sv.products ORDER BY 1;
SET staging.version = 1000;
SELECT entity_id, sku FROM sv.products ORDER BY 1;
DROP TABLE sv.products_extra;
CREATE TABLE sv.plain_parent (row_id bigint, entity_id int, sku text, created_in bigint, updated_in bigint);
CREATE TABLE sv.versioned_child () INHERITS (sv.plain_parent);
CREATE TABLE sv.sequence_versioned_child (sequence_value int PRIMARY KEY);
INSERT INTO sv.versioned_child VALUES (61, 6, 'child old', 1, 1000), (62, 6, 'child new', 1000, 9223372036854775807);
INSERT INTO sv.plain_parent VALUES (71, 7, 'parent row', 5000, 6000);
INSERT INTO staging.versioned_table VALUES ('sv.versioned_child', 'entity_id', 'sv.sequence_versioned_child');
SET staging.version = 999;
SELECT entity_id, sku FROM sv.plain_parent ORDER BY 1;
SET staging.version = 1000;
SELECT entity_id, sku FROM sv.plain_parent ORDER BY 1;
SET enable_seqscan = off;
CREATE INDEX ON sv.versioned_child (entity_id);
SELECT * FROM sv.explain($$SELECT entity_id FROM sv.plain_parent WHERE entity_id = 6$$);
SELECT entity_id FROM sv.plain_parent WHERE entity_id = 6;
RESET enable_seqscan;
DELETE FROM staging.versioned_table WHERE relid = 'sv.versioned_child'::regclass;
DROP TABLE sv.plain_parent CASCADE;
DROP TABLE sv.sequence_versioned_child;

-- A materialized view holds what its CREATE or REFRESH read: the session
-- version of the session that ran it, whatever its readers set.
SET staging.version = 999;
CREATE MATERIALIZED VIEW sv.skus AS SELECT entity_id, sku FROM sv.products;
SET staging.version = 1000;
SELECT * FROM sv.skus ORDER BY 1;
REFRESH MATERIALIZED VIEW sv.skus;
SET staging.version = 999;
SELECT * FROM sv.skus ORDER BY 1;
DROP MATERIALIZED VIEW sv.skus;
SET staging.version = 1000;

-- Unregistering takes effect at once, also for cached plans.
PREPARE count_products AS SELECT count(*) FROM sv.products;
EXECUTE count_products;
DELETE FROM staging.versioned_table WHERE relid = 'sv.products'::regclass;
EXECUTE count_products;
DEALLOCATE count_products;

DROP SCHEMA sv CASCADE;
