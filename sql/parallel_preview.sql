-- The preview right in parallel plans and across clients of a pooled
-- connection: a role without preview rights that opened a preview with a
-- token reads that version also when its plan runs in parallel workers
-- (the filter functions are PARALLEL SAFE; the workers read what the
-- leader resolved and checked); RESET ALL and DISCARD ALL end the
-- preview; the right is checked for the role that chose the version.
CREATE SCHEMA pp;
CREATE TABLE pp.item (entity_id int PRIMARY KEY, price int NOT NULL);
INSERT INTO pp.item SELECT i, 10 * i FROM generate_series(1, 200) i;
SELECT staging.enable_versioning('pp.item');
SELECT staging.create_update('pp sale', now() + interval '10 days') AS sale \gset
SET staging.version = :sale;
UPDATE pp.item SET price = price - 1 WHERE entity_id <= 50;
RESET staging.version;
ANALYZE pp.item;
CREATE ROLE regress_pp_shopper;
GRANT USAGE ON SCHEMA pp TO regress_pp_shopper;
GRANT SELECT ON pp.item TO regress_pp_shopper;
SELECT staging.sign_preview(:sale) AS token \gset

-- What the sale shows, read by the superuser without parallelism.
SET staging.version = :sale;
SELECT count(*), sum(price) FROM pp.item;
RESET staging.version;

-- Every plan below runs in a parallel worker (debug_parallel_query on 16
-- and later, force_parallel_mode on 15), and this tells whether it did.
SELECT set_config(name, 'on', false) AS forced FROM pg_settings
 WHERE name IN ('debug_parallel_query', 'force_parallel_mode');
CREATE FUNCTION pp.workers_launched(query text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Workers Launched')::int;
END $$;
GRANT EXECUTE ON FUNCTION pp.workers_launched(text) TO regress_pp_shopper;

-- Errors print their SQLSTATE only (their messages name the version).
\set VERBOSITY sqlstate
SET ROLE regress_pp_shopper;
-- Without a preview: the live version in a worker, the sale is denied.
SELECT count(*), sum(price) FROM pp.item;
SELECT pp.workers_launched('SELECT sum(price) FROM pp.item') > 0 AS in_worker;
SET staging.version = :sale;
SELECT count(*), sum(price) FROM pp.item;
RESET staging.version;
-- With the token: the sale, read in a worker.
SELECT staging.preview(:'token') = :sale AS opened;
SELECT count(*), sum(price) FROM pp.item;
SELECT pp.workers_launched('SELECT sum(price) FROM pp.item') > 0 AS in_worker;
-- ... but not 'all', and not another future version.
SET staging.version = 'all';
SELECT count(*) FROM pp.item;
SELECT set_config('staging.version', (:sale + 1)::text, false) IS NOT NULL AS set;
SELECT count(*) FROM pp.item;
-- The grant itself cannot be set by hand.
SET staging.preview_grant = '1:9223372036854775807:10';
-- RESET ALL (what connection poolers run between clients) ends it.
RESET ALL;
SET staging.version = :sale;
SELECT count(*) FROM pp.item;
RESET staging.version;

-- A preview for one transaction (staging.preview(token, true)).
BEGIN;
SELECT staging.preview(:'token', true) = :sale AS opened;
SELECT count(*), sum(price) FROM pp.item;
COMMIT;
SELECT count(*), sum(price) FROM pp.item;
BEGIN;
SET LOCAL staging.version = :sale;
SELECT count(*) FROM pp.item;
ROLLBACK;

-- DISCARD ALL ends a session's preview: the next client of the same
-- server connection cannot read the sale with SET LOCAL.
SELECT staging.preview(:'token') = :sale AS opened;
RESET ROLE;
DISCARD ALL;
SET ROLE regress_pp_shopper;
BEGIN;
SET LOCAL staging.version = :sale;
SELECT count(*) FROM pp.item;
ROLLBACK;
RESET ROLE;

-- The right is checked for the role that chose the version: a SECURITY
-- DEFINER function of a superuser does not read ahead for its caller.
CREATE FUNCTION pp.total() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog
    AS 'SELECT sum(price) FROM pp.item';
GRANT EXECUTE ON FUNCTION pp.total() TO regress_pp_shopper;
SELECT pp.total();
SET ROLE regress_pp_shopper;
SELECT pp.total();
SET staging.version = :sale;
SELECT pp.total();
RESET staging.version;
-- With a preview the caller may read the sale, through the function too.
SELECT staging.preview(:'token') = :sale AS opened;
SELECT pp.total();
RESET ROLE;
RESET ALL;

-- A PARALLEL SAFE function runs in the workers, which plan its query
-- themselves: they read the registrations, the version and the right
-- as the leader would, and so does a query on a table that is not
-- versioned.
SELECT set_config(name, 'on', false) AS forced FROM pg_settings
 WHERE name IN ('debug_parallel_query', 'force_parallel_mode');
CREATE TABLE pp.plain (price int);
INSERT INTO pp.plain VALUES (1), (2);
CREATE FUNCTION pp.total_safe() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT sum(price) FROM pp.item';
CREATE FUNCTION pp.total_plpgsql() RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$BEGIN RETURN (SELECT sum(price) FROM pp.item); END$$;
CREATE FUNCTION pp.plain_safe() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT sum(price) FROM pp.plain';
GRANT SELECT ON pp.plain TO regress_pp_shopper;
SELECT pp.workers_launched('SELECT pp.total_safe()') > 0 AS in_worker;
SELECT pp.total_safe(), pp.total_plpgsql(), pp.plain_safe();
SET staging.version = :sale;
SELECT pp.total_safe(), pp.total_plpgsql(), pp.plain_safe();
RESET staging.version;
SET ROLE regress_pp_shopper;
SELECT pp.total_safe(), pp.total_plpgsql(), pp.plain_safe();
SET staging.version = :sale;
SELECT pp.total_safe();
SELECT pp.total_plpgsql();
SELECT staging.preview(:'token') = :sale AS opened;
SELECT pp.total_safe(), pp.total_plpgsql();
RESET ROLE;
RESET ALL;

-- A timestamp without a time zone is read in the session's TimeZone when
-- it is set, and means that version in the workers too (they parse the
-- setting again, before they know the session's TimeZone): it is kept as
-- the version's start in UTC.
SELECT set_config(name, 'on', false) AS forced FROM pg_settings
 WHERE name IN ('debug_parallel_query', 'force_parallel_mode');
SET timezone = 'Asia/Tokyo';
SET staging.version = '2035-01-01 14:00';
SHOW staging.version;
SELECT staging.current_version() = staging.to_version('2035-01-01 14:00+09') AS tokyo_time;
SELECT pp.workers_launched('SELECT staging.current_version()') > 0 AS in_worker;
RESET ALL;

DROP SCHEMA pp CASCADE;
DROP ROLE regress_pp_shopper;
