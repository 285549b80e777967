-- Progress reports of long operations: staging.progress_interval paces the
-- NOTICEs of clone_schema, compare_schemas, swap_schemas,
-- enable_versioning and add_attribute_table.  Their times are in each
-- NOTICE's DETAIL, which VERBOSITY terse hides: the output stays stable.
\set VERBOSITY terse
SET client_min_messages = notice;
SHOW staging.progress_interval;
-- below -1 is refused (the message's range differs between versions)
DO $$
BEGIN
    PERFORM set_config('staging.progress_interval', '-2', false);
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'progress_interval = -2 refused: %', SQLSTATE;
END
$$;
SET staging.progress_interval = '1min';
SHOW staging.progress_interval;

CREATE SCHEMA pr_live;
CREATE TABLE pr_live.product (
    entity_id int PRIMARY KEY,
    sku       text NOT NULL CONSTRAINT product_sku_key UNIQUE
);
CREATE TABLE pr_live.product_varchar (
    value_id     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_id    int NOT NULL REFERENCES pr_live.product,
    attribute_id int NOT NULL,
    value        text
);
CREATE INDEX product_varchar_value ON pr_live.product_varchar (value);
CREATE MATERIALIZED VIEW pr_live.attribute_count AS
    SELECT attribute_id, count(*) AS n FROM pr_live.product_varchar GROUP BY attribute_id;
INSERT INTO pr_live.product SELECT g, 'sku-' || g FROM generate_series(1, 3) g;
INSERT INTO pr_live.product_varchar (entity_id, attribute_id, value)
SELECT p, a, 'value ' || a || ' of ' || p FROM generate_series(1, 3) p, generate_series(71, 72) a;

-- Every step reported (0), with row counts; a summary at the end.
SET staging.progress_interval = 0;
SELECT staging.enable_versioning('pr_live.product');
SELECT staging.add_attribute_table('pr_live.product_varchar', 'pr_live.product');
SELECT staging.clone_schema('pr_live', 'pr_import', with_data => true);
INSERT INTO pr_import.product (sku) VALUES ('sku-4');
SELECT * FROM staging.compare_schemas('pr_live', 'pr_import');
-- the swap reports its nested row count, then its own steps
SELECT staging.swap_schemas('pr_live', 'pr_import', max_difference_pct => 50);
SELECT count(*) FROM pr_live.product;

-- The default (10 s): these quick calls print nothing; nor does -1.
RESET staging.progress_interval;
SELECT staging.clone_schema('pr_live', 'pr_quiet');
SELECT * FROM staging.compare_schemas('pr_live', 'pr_quiet');
SET staging.progress_interval = -1;
SELECT staging.swap_schemas('pr_live', 'pr_import');
SELECT count(*) FROM pr_live.product;

-- The pacing, on the helper itself: a step is reported once the interval
-- has passed since the start or the last report, the summary only when a
-- step was; operations are told apart by name.
SET staging.progress_interval = '400ms';
SELECT staging._progress_begin('quiet');
SELECT staging._progress('quiet', 'step 1');
SELECT staging._progress_end('quiet', 'quiet is done');
SELECT staging._progress_begin('paced');
SELECT staging._progress('paced', 'step 1');
SELECT staging._progress_begin('inner');
SELECT pg_sleep(0.5);
SELECT staging._progress('paced', 'step 2');
SELECT staging._progress('paced', 'step 3');
SELECT staging._progress('inner', 'inner step 1');
SELECT staging._progress_end('inner', 'inner is done');
SELECT staging._progress_end('paced', 'paced is done');
SET staging.progress_interval = -1;
SELECT staging._progress_begin('never');
SELECT pg_sleep(0.5);
SELECT staging._progress('never', 'step 1');
SELECT staging._progress_end('never', 'never is done');
RESET staging.progress_interval;

SET client_min_messages = warning;
DROP SCHEMA pr_live, pr_import, pr_quiet CASCADE;
