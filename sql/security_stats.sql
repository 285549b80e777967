-- Known limits (README "Who may see and change the future"): ANALYZE
-- samples every version row, so pg_stats shows values that exist only in
-- future versions to every role that may read the column, and planner
-- estimates follow them; EXPLAIN ANALYZE counts the rows the version
-- filter removed.  Row-level security has the same channels.  The
-- mitigation for the statistics views, checked here: REVOKE SELECT ON
-- pg_stats (and pg_stats_ext, pg_stats_ext_exprs) FROM PUBLIC.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE SCHEMA st;
CREATE TABLE st.product (entity_id int PRIMARY KEY, sku text NOT NULL, price int NOT NULL);
INSERT INTO st.product SELECT g, 'sku-' || g, 10 + g % 3 FROM generate_series(1, 100) g;
SELECT staging.enable_versioning('st.product');
CREATE STATISTICS st.product_sku_price ON sku, price FROM st.product;
CREATE STATISTICS st.product_price_expr ON (price * 2) FROM st.product;
SELECT staging.create_update('secret sale', now() + interval '1 day') AS sale \gset
SET staging.version = :sale;
UPDATE st.product SET price = 4242 WHERE entity_id <= 60;
RESET staging.version;
ANALYZE st.product;
CREATE ROLE regress_st_shopper;
GRANT USAGE ON SCHEMA st TO regress_st_shopper;
GRANT SELECT ON st.product TO regress_st_shopper;
-- The rows the planner expects a statement to return.
CREATE FUNCTION st.estimated_rows(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan->0->'Plan'->>'Plan Rows')::bigint;
END
$$;
-- The rows EXPLAIN ANALYZE says a statement's filters removed.
CREATE FUNCTION st.rows_removed(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN (SELECT sum(n::text::bigint) FROM jsonb_path_query(plan, 'strict $.**."Rows Removed by Filter"') n);
END
$$;

SET ROLE regress_st_shopper;
-- The shopper reads the live prices only...
SELECT count(*) AS rows, count(*) FILTER (WHERE price = 4242) AS future_prices FROM st.product;
-- ...but the statistics views show the future price,
SELECT 4242 = ANY (most_common_vals::text::int[]) AS future_price_in_pg_stats
  FROM pg_stats WHERE schemaname = 'st' AND tablename = 'product' AND attname = 'price';
-- (not pg_stats_ext and pg_stats_ext_exprs: they show only the
-- statistics of tables a role owns, the owner's below)
SELECT count(*) AS pg_stats_ext_rows FROM pg_stats_ext WHERE statistics_schemaname = 'st';
SELECT count(*) AS pg_stats_ext_exprs_rows FROM pg_stats_ext_exprs WHERE statistics_schemaname = 'st';
-- planner estimates follow them (a guessed value is confirmed),
SELECT st.estimated_rows('SELECT * FROM st.product WHERE price = 4242') > 30 AS estimate_counts_future_rows;
-- and EXPLAIN ANALYZE counts the rows the version filter removed.
SELECT st.rows_removed('SELECT * FROM st.product') AS rows_removed_by_filter;
RESET ROLE;
SELECT most_common_vals::text LIKE '%4242%' AS future_price_in_pg_stats_ext
  FROM pg_stats_ext WHERE statistics_schemaname = 'st' AND statistics_name = 'product_sku_price';
SELECT 8484 = ANY (most_common_vals::text::int[]) AS future_price_in_pg_stats_ext_exprs
  FROM pg_stats_ext_exprs WHERE statistics_schemaname = 'st' AND statistics_name = 'product_price_expr';

-- The mitigation: the statistics views for nobody but superusers (and
-- whom the DBA grants them); planner estimates and EXPLAIN stay.
REVOKE SELECT ON pg_catalog.pg_stats, pg_catalog.pg_stats_ext, pg_catalog.pg_stats_ext_exprs FROM PUBLIC;
SET ROLE regress_st_shopper;
SELECT count(*) FROM pg_stats WHERE schemaname = 'st';
SELECT count(*) FROM pg_stats_ext WHERE statistics_schemaname = 'st';
SELECT count(*) FROM pg_stats_ext_exprs WHERE statistics_schemaname = 'st';
SELECT count(*) FROM pg_catalog.pg_statistic;
SELECT count(*) FROM pg_catalog.pg_statistic_ext_data;
RESET ROLE;
GRANT SELECT ON pg_catalog.pg_stats, pg_catalog.pg_stats_ext, pg_catalog.pg_stats_ext_exprs TO PUBLIC;

SELECT staging.delete_update(:sale);
DROP SCHEMA st CASCADE;
DROP ROLE regress_st_shopper;
