-- A role without preview rights learns nothing that exists only in a
-- future version, whatever SQL it runs: each attack as that role.
CREATE SCHEMA rs;
CREATE TABLE rs.products (
    row_id     bigint PRIMARY KEY,
    entity_id  int NOT NULL,
    sku        text NOT NULL,
    created_in bigint NOT NULL,
    updated_in bigint NOT NULL
);
CREATE INDEX ON rs.products (entity_id, updated_in);
CREATE INDEX ON rs.products (sku);
CREATE INDEX ON rs.products (lower(sku));
CREATE TABLE rs.sequence_products (sequence_value int PRIMARY KEY);
-- entity 1: live 'tee', a future 'tee (secret)'; entity 2 only in the future
INSERT INTO rs.products VALUES
    (1, 1, 'tee',          1,          4102444800),
    (2, 1, 'tee (secret)', 4102444800, 9223372036854775807),
    (3, 2, 'new (secret)', 4102444800, 9223372036854775807);
INSERT INTO staging.versioned_table VALUES ('rs.products', 'entity_id', 'rs.sequence_products');
ANALYZE rs.products;
CREATE ROLE regress_rs_shopper;
GRANT USAGE ON SCHEMA rs TO regress_rs_shopper;
GRANT SELECT ON rs.products TO regress_rs_shopper;
GRANT CREATE ON SCHEMA rs TO regress_rs_shopper;
CREATE TABLE rs.products_price (
    row_id       bigint NOT NULL REFERENCES rs.products ON DELETE CASCADE,
    attribute_id int NOT NULL,
    value        numeric NOT NULL,
    PRIMARY KEY (row_id, attribute_id)
);
INSERT INTO rs.products_price VALUES (1, 77, 20), (2, 77, 9.99), (3, 77, 5);
INSERT INTO staging.attribute_table VALUES ('rs.products_price', 'rs.products', 'entity_id');
ANALYZE rs.products_price;
GRANT SELECT ON rs.products_price TO regress_rs_shopper;

-- 3. A cheap function that is not leakproof, in WHERE, sees only the
-- rows the filter lets through, whatever it costs and however the table
-- is scanned.
SET ROLE regress_rs_shopper;
CREATE FUNCTION rs.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$
BEGIN
    RAISE NOTICE 'leak: %', $1;
    RETURN true;
END $$;
SELECT sku FROM rs.products WHERE rs.leak(sku);
SELECT sku FROM rs.products WHERE rs.leak(sku) AND entity_id = 1;
SELECT sku FROM rs.products WHERE rs.leak(sku) AND sku LIKE 'tee%';
SELECT sku FROM rs.products WHERE rs.leak(sku) AND ctid = '(0,2)';
SELECT count(*) FROM rs.products p
 WHERE EXISTS (SELECT 1 FROM rs.products q WHERE q.entity_id = p.entity_id AND rs.leak(q.sku));
WITH c AS MATERIALIZED (SELECT sku FROM rs.products WHERE rs.leak(sku)) SELECT count(*) FROM c;
SELECT sku FROM (SELECT sku FROM rs.products UNION ALL SELECT sku FROM rs.products) u WHERE rs.leak(sku);
PREPARE leaky(int) AS SELECT sku FROM rs.products WHERE rs.leak(sku) AND entity_id = $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE leaky(1);
EXECUTE leaky(2);
RESET plan_cache_mode;
SET enable_seqscan = off;
SET enable_indexscan = off;
SELECT sku FROM rs.products WHERE rs.leak(sku) AND sku > 'a';
RESET enable_seqscan;
RESET enable_indexscan;
-- The user's predicates stay index conditions (also on an expression
-- index, with a function that is not leakproof beside them); the filter
-- comes first among the other conditions.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT sku FROM rs.products WHERE sku = 'tee' AND rs.leak(sku);
EXPLAIN (COSTS OFF) SELECT sku FROM rs.products WHERE lower(sku) = 'tee' AND rs.leak(sku);
RESET enable_seqscan;

-- 2. Attribute tables show the attribute rows of visible main rows only:
-- read alone, through any index, with a leaky function, in an anti join.
SELECT value FROM rs.products_price;
SELECT value FROM rs.products_price WHERE row_id = 2;
SELECT count(*) FROM rs.products_price WHERE value < 10;
SELECT value FROM rs.products_price WHERE rs.leak(value::text);
SELECT p.sku FROM rs.products p
 WHERE NOT EXISTS (SELECT 1 FROM rs.products_price a WHERE a.row_id = p.row_id AND a.value < 10);
SELECT a.value FROM rs.products_price a LEFT JOIN rs.products p ON p.row_id = a.row_id;
-- Read in the order of an index (an index scan that enforces the index's
-- copy of the scan's conditions, empty without a WHERE), and only the
-- index's columns (an index-only scan would not see the heap row).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT row_id, value FROM rs.products_price ORDER BY row_id, attribute_id;
SELECT row_id FROM rs.products_price ORDER BY row_id;
EXPLAIN (COSTS OFF) SELECT row_id FROM rs.products_price ORDER BY row_id;
-- a main table as a leg of a UNION ALL, in the order of its primary key
SELECT row_id, sku FROM (SELECT row_id, sku FROM rs.products UNION ALL
                         SELECT row_id, sku FROM rs.products) s ORDER BY row_id;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- Joined to the main table by row_id (inner, or the attribute table on
-- the nullable side), the main table's filter decides: no attribute
-- filter in the plan.  With a leaky function on the attribute table it
-- stays.
SELECT p.sku, a.value FROM rs.products p JOIN rs.products_price a ON a.row_id = p.row_id;
SELECT p.sku, a.value FROM rs.products p
  LEFT JOIN rs.products_price a ON a.row_id = p.row_id AND a.attribute_id = 77;
EXPLAIN (COSTS OFF) SELECT p.sku, a.value FROM rs.products p
  LEFT JOIN rs.products_price a ON a.row_id = p.row_id AND a.attribute_id = 77;
EXPLAIN (COSTS OFF) SELECT value FROM rs.products_price WHERE rs.leak(value::text);
SELECT p.sku, a.value FROM rs.products p JOIN rs.products_price a ON a.row_id = p.row_id
 WHERE rs.leak(a.value::text);
-- A leaky join condition on the attribute table, evaluated in a join that
-- may come before the one with the main table, keeps the filter.
SELECT p.sku, a.value FROM rs.products p
  JOIN rs.products_price a ON a.row_id = p.row_id
  JOIN rs.products q ON rs.leak(a.value::text || '/' || q.sku);
-- Rows kept by an anti join on the attribute table's side are filtered.
SELECT a.value FROM rs.products_price a
 WHERE NOT EXISTS (SELECT 1 FROM rs.products p WHERE p.row_id = a.row_id AND p.sku = 'x');
-- Parallel workers filter attribute rows too.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*), sum(value) FROM rs.products_price;
SELECT count(*), sum(value) FROM rs.products_price;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- COPY of an attribute table would write every version's rows: denied.
COPY rs.products_price TO stdout;
COPY (SELECT value FROM rs.products_price) TO stdout;
-- The future stays denied through an attribute table too.
SET staging.version = 4102444800;
SELECT value FROM rs.products_price;
RESET staging.version;
-- A materialized view stores what its REFRESH reads, as its owner: the
-- future stays denied there too, and the view keeps what it had.
CREATE MATERIALIZED VIEW rs.skus AS SELECT sku FROM rs.products;
SET staging.version = 4102444800;
REFRESH MATERIALIZED VIEW rs.skus;
RESET staging.version;
SELECT sku FROM rs.skus;
RESET ROLE;
-- Who may read the future sees it there.
SET staging.version = 4102444800;
SELECT value FROM rs.products_price ORDER BY value;
SET staging.version = 'all';
SELECT count(*) FROM rs.products_price;
RESET staging.version;

-- A foreign key's check of a key reads every version row without the
-- filter (a row of the attribute table may belong to the future version
-- row 3); a query of the same shape outside such a check is filtered,
-- for a role that may lock rows as for its owner.
INSERT INTO rs.products_price VALUES (3, 78, 1);
GRANT UPDATE ON rs.products TO regress_rs_shopper;
SET ROLE regress_rs_shopper;
SELECT 1 AS found FROM ONLY rs.products x WHERE row_id OPERATOR(pg_catalog.=) 3 FOR KEY SHARE OF x;
PREPARE key_check(bigint) AS
    SELECT 1 AS found FROM ONLY rs.products x WHERE row_id OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x;
SET plan_cache_mode = force_generic_plan;
EXECUTE key_check(3);
RESET plan_cache_mode;
DEALLOCATE key_check;
RESET ROLE;
SELECT 1 AS found FROM ONLY rs.products x WHERE row_id OPERATOR(pg_catalog.=) 3 FOR KEY SHARE OF x;

DROP SCHEMA rs CASCADE;
DROP OWNED BY regress_rs_shopper;
DROP ROLE regress_rs_shopper;
