-- The index layout of a versioned table and who uses which index: the
-- exclusion key, lookups by entity (narrowed to the visible row when an
-- entity has several versions), version ranges for staging's own queries,
-- and the indexes a read at one version leaves out.
CREATE SCHEMA vl;
CREATE TABLE vl.items (entity_id int PRIMARY KEY, name text NOT NULL);
INSERT INTO vl.items SELECT g, 'item ' || g FROM generate_series(1, 2000) g;
SELECT staging.enable_versioning('vl.items');
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'vl.items'::regclass ORDER BY 1;

-- The exclusion key: boxes overlap exactly for the same entity with
-- overlapping versions [created_in, updated_in)
SELECT a, b, staging._version_box(a[1], a[2], a[3]) && staging._version_box(b[1], b[2], b[3]) AS overlap
  FROM (VALUES ('{1,1,5}'::bigint[], '{1,5,9}'::bigint[]),
               ('{1,1,6}', '{1,5,9}'),
               ('{1,1,9}', '{2,1,9}'),
               ('{7,3,4}', '{7,1,9223372036854775807}'),
               ('{7,9223372036854775806,9223372036854775807}', '{7,1,9223372036854775807}')) v(a, b);

-- One version per entity: the filter is one call on the row found
ANALYZE vl.items;
EXPLAIN (COSTS OFF) SELECT name FROM vl.items WHERE entity_id = 5;

-- Three versions per entity (at 'all' rows are written as given): A until
-- the live version + 100, B until + 200, C from then on.  The filter's
-- updated_in bound becomes an index condition, so a lookup skips history.
SET staging.version = 'all';
UPDATE vl.items SET updated_in = staging.live_version() + 100;
INSERT INTO vl.items (entity_id, name, created_in, updated_in)
SELECT entity_id, 'B ' || entity_id, staging.live_version() + 100, staging.live_version() + 200 FROM vl.items;
INSERT INTO vl.items (entity_id, name, created_in, updated_in)
SELECT entity_id, 'C ' || entity_id, staging.live_version() + 200, staging.max_version()
  FROM vl.items WHERE created_in > 1;
RESET staging.version;
ANALYZE vl.items;
EXPLAIN (COSTS OFF) SELECT name FROM vl.items WHERE entity_id = 5;
SELECT name FROM vl.items WHERE entity_id = 5;

-- The exclusion constraint refuses exactly the rows whose versions
-- overlap a version of the same entity (its hash index finds the versions
-- of one entity, the operator decides): each probe, inserted at 'all',
-- fails with 23P01 exactly when a sequential scan finds a row it
-- overlaps (an entity without rows there is free), among them the
-- versions a probe only touches at an end (in a transaction rolled back:
-- the tests below use the rows as they were)
SET staging.version = 'all';
BEGIN;
-- (entities 6 and 777 without their version B: a gap between A and C)
DELETE FROM vl.items WHERE entity_id IN (6, 777) AND name LIKE 'B %';
CREATE TEMP TABLE probes (entity bigint, c bigint, u bigint, refused boolean);
INSERT INTO probes (entity, c, u)
SELECT e, staging.live_version() + d.c, staging.live_version() + d.u
  FROM (VALUES (1), (6), (777), (1999), (2000), (2002)) e(e),
       (VALUES (-10, 1), (99, 100), (99, 101), (100, 101), (150, 250), (199, 200), (200, 201), (300, 9999)) d(c, u);
INSERT INTO probes (entity, c, u) VALUES (5, 1, 2), (5, 1, 9223372036854775807), (2000, 9223372036854775806, 9223372036854775807);
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM probes LOOP
        BEGIN
            INSERT INTO vl.items (entity_id, name, created_in, updated_in) VALUES (p.entity, 'probe', p.c, p.u);
            UPDATE probes SET refused = false WHERE entity = p.entity AND c = p.c AND u = p.u;
        EXCEPTION WHEN exclusion_violation THEN
            UPDATE probes SET refused = true WHERE entity = p.entity AND c = p.c AND u = p.u;
        END;
        -- the probe does not stay (the next probes test the same rows)
        DELETE FROM vl.items WHERE name = 'probe';
    END LOOP;
END
$$;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT refused, count(*) AS probes,
       count(*) FILTER (WHERE refused IS DISTINCT FROM
                        EXISTS (SELECT FROM vl.items i
                                 WHERE i.entity_id = p.entity AND i.created_in < p.u AND p.c < i.updated_in)) AS wrong
  FROM probes p GROUP BY refused ORDER BY refused;
RESET enable_indexscan;
RESET enable_bitmapscan;
-- A new entity and an entity with no row there are free
INSERT INTO vl.items (entity_id, name) VALUES (2001, 'new');
-- Updates are checked as inserts are: moving B's start back into A
SAVEPOINT moved;
UPDATE vl.items SET created_in = created_in - 1 WHERE entity_id = 3 AND name LIKE 'B %';
ROLLBACK TO SAVEPOINT moved;
-- but a statement may move both ends of a boundary (checked at its end)
UPDATE vl.items SET created_in = CASE WHEN name LIKE 'B %' THEN created_in - 1 ELSE created_in END,
                    updated_in = CASE WHEN name LIKE 'B %' THEN updated_in ELSE updated_in - 1 END
 WHERE entity_id = 3 AND name NOT LIKE 'C %';
SELECT name, created_in - staging.live_version() AS c, updated_in - staging.live_version() AS u
  FROM vl.items WHERE entity_id = 3 ORDER BY created_in;
-- The index cannot answer && (an operator of its own is its equality):
-- a query with && finds by any plan what a sequential scan finds
EXPLAIN (COSTS OFF) SELECT count(*) FROM vl.items i
 WHERE staging._version_box(i.entity_id, i.created_in, i.updated_in) && box(point(0, 0), point(10, 9e18));
SELECT count(*) FROM vl.items i
 WHERE staging._version_box(i.entity_id, i.created_in, i.updated_in) && box(point(0, 0), point(10, 9e18));
ROLLBACK;
RESET staging.version;

-- Version ranges: staging's condition lo < created_in <= hi, written for
-- the (updated_in, created_in) index, finds what the plain predicate finds
SET staging.version = 'all';
CREATE FUNCTION vl.created_between(lo bigint, hi bigint, OUT by_index bigint, OUT by_predicate bigint)
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*) FROM vl.items WHERE %s', staging._created_between('$1', '$2'))
       INTO by_index USING lo, hi;
    SELECT count(*) INTO by_predicate FROM vl.items WHERE created_in > lo AND created_in <= hi;
END
$$;
SELECT r.lo, r.hi, c.*
  FROM (VALUES (0, 0), (100, 150), (99, 100), (99, 200), (150, 250), (200, 201)) r(lo, hi),
       vl.created_between(staging.live_version() + r.lo, staging.live_version() + r.hi) c;
SELECT c.* FROM vl.created_between(0, 1) c;
DO $$
BEGIN
    EXECUTE format('PREPARE vl_created(bigint, bigint) AS SELECT entity_id FROM vl.items WHERE %s',
                   staging._created_between('$1', '$2'));
END
$$;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE vl_created(1, 2);
RESET plan_cache_mode;

-- At 'all' the versions index serves order and ranges of versions; a read
-- at one version leaves it out unless the query has a condition on
-- created_in or updated_in
EXPLAIN (COSTS OFF) SELECT name FROM vl.items ORDER BY updated_in LIMIT 1;
RESET staging.version;
EXPLAIN (COSTS OFF) SELECT name FROM vl.items ORDER BY updated_in LIMIT 1;
EXPLAIN (COSTS OFF) SELECT name FROM vl.items WHERE updated_in > 0 ORDER BY updated_in LIMIT 1;
SELECT name FROM vl.items WHERE updated_in > 0 ORDER BY updated_in, entity_id LIMIT 1;
-- a condition in a join counts too (index scans only: PostgreSQL 18 would
-- read b with a plain index scan, 15 with a bitmap one)
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM vl.items b JOIN vl.items c ON c.updated_in = b.updated_in
 WHERE b.entity_id = 5;
SELECT count(*) FROM vl.items b JOIN vl.items c ON c.updated_in = b.updated_in
 WHERE b.entity_id = 5;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_bitmapscan;

-- A plan made at one version serves every version (the filter's bounds
-- are read at execution, and row_security = off reads every version): a
-- join by entity may not count on one row per entity.  A generic plan
-- made at the live version, executed at 'all', counts every version.
CREATE TABLE vl.listing (category_id int, product_id int, position int);
INSERT INTO vl.listing SELECT g % 10, g, g FROM generate_series(1, 100) g;
ANALYZE vl.listing;
PREPARE vl_listing AS SELECT count(*) FROM vl.listing l
  LEFT JOIN vl.items i ON i.entity_id = l.product_id WHERE l.category_id = 3;
SET plan_cache_mode = force_generic_plan;
EXECUTE vl_listing;
SET staging.version = 'all';
EXECUTE vl_listing;
RESET staging.version;
SET row_security = off;
EXECUTE vl_listing;
SELECT count(*) FROM vl.items i LEFT JOIN vl.listing l ON l.product_id = i.entity_id
 WHERE l.product_id IS NULL;
RESET row_security;
RESET plan_cache_mode;
DEALLOCATE vl_listing;

-- The row_id index serves lookups by row_id, and a join where the table
-- is looked up by row_id; a LEFT JOIN by row_id from the table (how
-- listings join attribute rows) leaves it out: it could only sort the
-- table for a merge join.
SET staging.version = 'all';
CREATE TABLE vl.item_values (row_id bigint PRIMARY KEY, value text);
INSERT INTO vl.item_values SELECT row_id, 'value ' || entity_id FROM vl.items;
RESET staging.version;
ANALYZE vl.item_values;
CREATE FUNCTION vl.plan(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || chr(10);
    END LOOP;
    RETURN plan;
END
$$;
EXPLAIN (COSTS OFF) SELECT name FROM vl.items WHERE row_id = 5;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT i.name FROM vl.item_values v
  JOIN vl.items i ON i.row_id = v.row_id WHERE v.value = 'value 5';
SELECT i.name FROM vl.item_values v
  JOIN vl.items i ON i.row_id = v.row_id WHERE v.value = 'value 5';
SET enable_nestloop = off;
SET enable_mergejoin = on;
SELECT vl.plan($$SELECT count(v.value) FROM vl.items i
    LEFT JOIN vl.item_values v ON v.row_id = i.row_id$$) LIKE '%items_row_id_pkey%' AS row_id_index_used;
-- the same join at 'all' may use it
SET staging.version = 'all';
SELECT vl.plan($$SELECT count(v.value) FROM vl.items i
    LEFT JOIN vl.item_values v ON v.row_id = i.row_id$$) LIKE '%items_row_id_pkey%' AS row_id_index_used;
RESET staging.version;
SELECT count(v.value) FROM vl.items i LEFT JOIN vl.item_values v ON v.row_id = i.row_id;
RESET enable_nestloop;
RESET enable_hashjoin;
RESET enable_mergejoin;

DROP SCHEMA vl CASCADE;
