-- Two pairs of schemas with the same objects (10 tables with a primary key,
-- a secondary index and a foreign key each): small_live/small_import hold
-- ~10 MB in all, big_live/big_import ~1 GB.  The swap is O(objects), so
-- swapping either pair should take the same time.
CREATE FUNCTION pg_temp.make_catalog(schema_name text, rows_per_table int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    EXECUTE format('CREATE TABLE %I.entity (id int PRIMARY KEY, sku text NOT NULL)', schema_name);
    EXECUTE format('INSERT INTO %I.entity SELECT g, ''sku-'' || g FROM generate_series(1, %s) g',
                   schema_name, rows_per_table);
    FOR t IN 1 .. 9 LOOP
        EXECUTE format('CREATE TABLE %I.attr_%s (id bigserial PRIMARY KEY,'
                       ' entity_id int NOT NULL REFERENCES %I.entity, value numeric, filler text)',
                       schema_name, t, schema_name);
        EXECUTE format('INSERT INTO %I.attr_%s (entity_id, value, filler)'
                       ' SELECT g, g, repeat(''x'', 60) FROM generate_series(1, %s) g',
                       schema_name, t, rows_per_table);
        EXECUTE format('CREATE INDEX ON %I.attr_%s (entity_id)', schema_name, t);
    END LOOP;
END
$$;
SELECT pg_temp.make_catalog('small_live', 4000);
SELECT staging.clone_schema('small_live', 'small_import', with_data => true);
SELECT pg_temp.make_catalog('big_live', 400000);
SELECT staging.clone_schema('big_live', 'big_import', with_data => true);
SELECT nspname, pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS size
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE nspname IN ('small_live', 'small_import', 'big_live', 'big_import') AND relkind = 'r'
 GROUP BY 1;
