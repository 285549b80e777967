-- staging.clone_schema fills and defines the clone of each table as the
-- table's owner, in a security-restricted operation: an owner whose CHECK
-- constraint, generated column, index expression or materialized view
-- tries ALTER ROLE ... SUPERUSER gains nothing when a superuser or an
-- editor clones the schema.  Whoever lacks the privileges of an owner
-- may not clone that owner's tables.
\set SHOW_CONTEXT never
CREATE ROLE regress_cl_owner;
CREATE ROLE regress_cl_editor;
CREATE ROLE regress_cl_stranger;
GRANT regress_cl_owner TO regress_cl_editor;
DO $$BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_cl_editor, regress_cl_stranger',
                          current_database()); END$$;
CREATE SCHEMA cl_log AUTHORIZATION regress_cl_owner;
CREATE SCHEMA cl_src AUTHORIZATION regress_cl_owner;
GRANT USAGE ON SCHEMA cl_log, cl_src TO PUBLIC;

-- The attacking owner.
SET ROLE regress_cl_owner;
CREATE TABLE cl_log.spy_log (what text, role name, is_superuser boolean, escalated boolean,
                             restricted boolean);
GRANT INSERT ON cl_log.spy_log TO PUBLIC;
CREATE FUNCTION cl_log.spy(what text) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    escalated boolean := true;
    restricted boolean := false;
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE regress_cl_owner SUPERUSER';
    EXCEPTION WHEN OTHERS THEN
        escalated := false;
    END;
    BEGIN
        EXECUTE 'CREATE TEMP TABLE spy_probe (x int)';
        EXECUTE 'DROP TABLE spy_probe';
    EXCEPTION WHEN insufficient_privilege THEN
        restricted := true;    -- security-restricted operation
    END;
    INSERT INTO cl_log.spy_log
    SELECT what, current_user, r.rolsuper, escalated, restricted
      FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN 1;
END
$$;
-- index expressions and generated columns must be immutable
CREATE FUNCTION cl_log.spy_immutable(what text, x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN cl_log.spy(what) * 0 + x;
END
$$;
CREATE TABLE cl_src.product (
    id int PRIMARY KEY,
    price int CHECK (cl_log.spy('check') > 0),
    doubled int GENERATED ALWAYS AS (cl_log.spy_immutable('generated column', price) * 2) STORED
);
CREATE INDEX product_spy ON cl_src.product ((cl_log.spy_immutable('index expression', id)));
INSERT INTO cl_src.product (id, price) VALUES (1, 10);
CREATE MATERIALIZED VIEW cl_src.product_prices AS
    SELECT id, price, cl_log.spy('materialized view') AS spied FROM cl_src.product;
TRUNCATE cl_log.spy_log;
RESET ROLE;

-- A superuser clones the schema with its rows: everything ran as the
-- owner, restricted, and ALTER ROLE failed.
SELECT staging.clone_schema('cl_src', 'cl_dst', true);
SELECT what, role, is_superuser, escalated, restricted, count(*) > 0 AS ran
  FROM cl_log.spy_log GROUP BY 1, 2, 3, 4, 5 ORDER BY 1;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_cl_owner';
SELECT c.relname, c.relowner::regrole, c.relispopulated
  FROM pg_class c WHERE c.relnamespace = 'cl_dst'::regnamespace AND c.relkind IN ('r', 'm')
 ORDER BY 1;
SELECT id, price, doubled FROM cl_dst.product;
SELECT id, price, spied FROM cl_dst.product_prices;

-- An editor with the owner's privileges: the same.
TRUNCATE cl_log.spy_log;
SET ROLE regress_cl_editor;
SELECT staging.clone_schema('cl_src', 'cl_dst2', true);
RESET ROLE;
SELECT what, role, is_superuser, escalated, restricted, count(*) > 0 AS ran
  FROM cl_log.spy_log GROUP BY 1, 2, 3, 4, 5 ORDER BY 1;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_cl_owner';

-- A role without the owner's privileges may not clone its tables (their
-- code would run as that role), and nothing is created.
TRUNCATE cl_log.spy_log;
SET ROLE regress_cl_stranger;
SELECT staging.clone_schema('cl_src', 'cl_dst3', true);
RESET ROLE;
SELECT count(*) AS created FROM pg_namespace WHERE nspname = 'cl_dst3';
SELECT count(*) AS ran FROM cl_log.spy_log;

-- Nor run a statement as an owner whose privileges it does not have.
SET ROLE regress_cl_stranger;
SELECT staging._run_as_clone_owner('cl_src.product', 'SELECT 1', 'pg_catalog');
RESET ROLE;

DROP SCHEMA cl_dst, cl_dst2, cl_src, cl_log CASCADE;
DO $$BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM regress_cl_editor, regress_cl_stranger',
                          current_database()); END$$;
DROP ROLE regress_cl_owner, regress_cl_editor, regress_cl_stranger;
