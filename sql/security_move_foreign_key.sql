-- staging._move_foreign_key() (executable by PUBLIC: enable_versioning
-- and its kin run as their caller) points a foreign key of the caller's
-- own table at another table, which it locks against writes while it
-- proves the move.  Only where the caller may reference that table (the
-- REFERENCES privilege, as ALTER TABLE ... ADD FOREIGN KEY requires):
-- else 42501 before any lock is taken, so that a role owning a table with
-- a foreign key (a temporary one will do) cannot stop the writes of any
-- table, the scheduler's go-lives included.
SET client_min_messages = warning;
CREATE ROLE regress_mf_owner;
CREATE ROLE regress_mf_shop;
CREATE SCHEMA mf AUTHORIZATION regress_mf_owner;
GRANT USAGE ON SCHEMA mf TO regress_mf_shop;
SET ROLE regress_mf_owner;
CREATE TABLE mf.product (id bigint PRIMARY KEY);
CREATE TABLE mf.old (id bigint PRIMARY KEY);
CREATE TABLE mf.line (product bigint REFERENCES mf.old);
INSERT INTO mf.product VALUES (1);
INSERT INTO mf.old VALUES (1);
INSERT INTO mf.line VALUES (1);
GRANT SELECT ON mf.product TO regress_mf_shop;
RESET ROLE;

SET ROLE regress_mf_shop;
CREATE TEMP TABLE mf_a (id bigint PRIMARY KEY);
CREATE TEMP TABLE mf_b (a bigint REFERENCES mf_a);
INSERT INTO mf_a VALUES (1);
INSERT INTO mf_b VALUES (1);
\set VERBOSITY terse
SELECT staging._move_foreign_key((SELECT oid FROM pg_constraint WHERE conrelid = 'mf_b'::regclass AND contype = 'f'),
                                 'mf.product', 'id');
SELECT staging._move_foreign_key((SELECT oid FROM pg_constraint WHERE conrelid = 'mf_b'::regclass AND contype = 'f'),
                                 'staging.updates', 'id');
SELECT staging._move_foreign_key((SELECT oid FROM pg_constraint WHERE conrelid = 'mf_b'::regclass AND contype = 'f'),
                                 'pg_catalog.pg_authid', 'oid');
\set VERBOSITY default
DROP TABLE mf_b, mf_a;
RESET ROLE;

-- The owner moves a foreign key of its own to its own table.
SET ROLE regress_mf_owner;
SELECT staging._move_foreign_key((SELECT oid FROM pg_constraint WHERE conrelid = 'mf.line'::regclass AND contype = 'f'),
                                 'mf.product', 'id');
SELECT conname, confrelid::regclass FROM pg_constraint WHERE conrelid = 'mf.line'::regclass AND contype = 'f';
RESET ROLE;

DROP SCHEMA mf CASCADE;
DROP ROLE regress_mf_owner, regress_mf_shop;
