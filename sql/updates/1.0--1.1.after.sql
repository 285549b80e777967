-- The part of the upgrade from 1.0 to 1.1 that needs 1.1's code: it
-- follows every code file of sql/install in staging--1.0--1.1.sql.

-- The exclusion constraint of each table versioned under 1.0 gets the
-- index that enable_versioning gives it under 1.1: a hash index by entity
-- with the operator class staging.version_box_ops (30_versioning.sql), the
-- same overlaps found by reading one bucket instead of a gist tree.  The
-- constraint keeps its name and is checked again as its index is built,
-- under the table's ACCESS EXCLUSIVE lock.
DO $$
DECLARE
    k record;
BEGIN
    -- The versions' constraint is the one whose index uses _version_box
    -- (the table's owner may have exclusion constraints of its own); its
    -- key expression is taken as it is (it names the entity column).
    FOR k IN SELECT c.conrelid::regclass AS tbl, c.conname,
                    pg_catalog.pg_get_indexdef(c.conindid, 1, false) AS key,
                    c.condeferrable, c.condeferred
               FROM staging.versioned_table v
               JOIN pg_catalog.pg_constraint c ON c.conrelid = v.relid AND c.contype = 'x'
               JOIN pg_catalog.pg_index i ON i.indexrelid = c.conindid
              WHERE EXISTS (SELECT FROM pg_catalog.pg_depend d
                             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.conindid
                               AND d.refclassid = 'pg_catalog.pg_proc'::regclass
                               AND d.refobjid = 'staging._version_box(bigint, bigint, bigint)'::regprocedure)
                AND i.indnatts = 1
                AND i.indclass[0] <> (SELECT o.oid FROM pg_catalog.pg_opclass o
                                       JOIN pg_catalog.pg_am a ON a.oid = o.opcmethod
                                       WHERE o.opcname = 'version_box_ops' AND a.amname = 'hash'
                                         AND o.opcnamespace = 'staging'::regnamespace) LOOP
        EXECUTE pg_catalog.format(
            'ALTER TABLE %1$s DROP CONSTRAINT %2$I, '
            'ADD CONSTRAINT %2$I EXCLUDE USING hash (%3$s staging.version_box_ops WITH OPERATOR(staging.&&&))%4$s',
            k.tbl, k.conname, k.key,
            CASE WHEN NOT k.condeferrable THEN ''
                 WHEN k.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
                 ELSE ' DEFERRABLE INITIALLY IMMEDIATE' END);
    END LOOP;
END
$$;
