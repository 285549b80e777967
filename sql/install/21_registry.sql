-------------------------------------------------------------------------------
-- Versioned tables: the registry
-------------------------------------------------------------------------------

-- The tables of 20_state_registry.sql: what they are, who may use them.
COMMENT ON TABLE staging.live_state IS
    'One row: the live version of this database (1 before any update went live).';
GRANT SELECT ON staging.live_state TO PUBLIC;

COMMENT ON TABLE staging.versioned_table IS
    'Registry: each versioned main table, its entity column and sequence table.';
COMMENT ON COLUMN staging.versioned_table.saved IS
    'What staging.disable_versioning restores: the entity key, the entity column''s '
    'default or identity, the unique keys replaced by plain indexes.';
-- Owners register their own tables (staging._registry_guard checks).
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.versioned_table TO PUBLIC;

COMMENT ON TABLE staging.attribute_table IS
    'Registry: each attribute table linked by row_id to a versioned main table, '
    'with the name its entity column had before.';
COMMENT ON COLUMN staging.attribute_table.entity_column IS
    'The column that referred to the main table''s entity before versioning.';
COMMENT ON COLUMN staging.attribute_table.saved IS
    'What staging.disable_versioning restores: the name and actions of the foreign key to the entity, '
    'the type of the column.';
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.attribute_table TO PUBLIC;

-- Every change of a registration invalidates the backends' caches and the
-- cached plans of the table concerned.
CREATE OR REPLACE FUNCTION staging._registry_changed() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_registry_changed';
COMMENT ON FUNCTION staging._registry_changed() IS
    'Trigger: invalidates cached registrations and plans when the registry changes.';
REVOKE ALL ON FUNCTION staging._registry_changed() FROM PUBLIC;
CREATE OR REPLACE TRIGGER registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON staging.versioned_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_changed();
CREATE OR REPLACE TRIGGER registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON staging.attribute_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_changed();

CREATE OR REPLACE FUNCTION staging.versioned_kind(tbl regclass) RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'staging_versioned_kind';
COMMENT ON FUNCTION staging.versioned_kind(regclass) IS
    '''main'' for a versioned main table, ''attribute'' for one of its attribute tables, NULL otherwise.';

-- pg_restore loads the dumped row of staging.live_state into a database
-- where CREATE EXTENSION already inserted one: the restored row replaces
-- it instead of failing on the primary key.  As the extension's owner:
-- the database owner restores it with INSERT privilege only, which the
-- restore guard (95_restore.sql) allows only into a new database.
CREATE OR REPLACE FUNCTION staging._live_state_restore() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE staging.live_state SET version = NEW.version WHERE singleton = NEW.singleton;
    RETURN CASE WHEN FOUND THEN NULL ELSE NEW END;
END
$$;
COMMENT ON FUNCTION staging._live_state_restore() IS
    'Trigger: an insert of the live_state row (pg_restore) updates the existing row.';
REVOKE ALL ON FUNCTION staging._live_state_restore() FROM PUBLIC;
CREATE OR REPLACE TRIGGER live_state_restore
    BEFORE INSERT ON staging.live_state
    FOR EACH ROW EXECUTE FUNCTION staging._live_state_restore();

-- The relation a registry row links its table to: the sequence table of
-- a versioned table, the main table of an attribute table.
CREATE OR REPLACE FUNCTION staging._registry_link(registry name, registration jsonb) RETURNS regclass
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT (CASE registry WHEN 'versioned_table' THEN registration->>'sequence_table'
                      ELSE registration->>'main_table' END)::regclass
$$;
COMMENT ON FUNCTION staging._registry_link(name, jsonb) IS
    'The sequence table (versioned_table) or main table (attribute_table) a registry row names.';

-- Only the owner of a table may change its registration (the helpers
-- below run as their caller, who needs to write the registry).  A
-- relation that no longer exists is being dropped: its row may go.  A
-- temporary table is never registered, as enable_versioning refuses it:
-- it goes away with its session without the DROP that forgets it, and
-- every role may create one (the owner of a versioned table writes at
-- the updates, which tells their schedule).  A row may only name a
-- relation that exists: an OID that names none yet would register the
-- table (or TOAST table) that someone creates next.
CREATE OR REPLACE FUNCTION staging._registry_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rel regclass;
    owner oid;
BEGIN
    IF TG_OP <> 'DELETE'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = NEW.relid) THEN
        RAISE EXCEPTION 'cannot register relation %: it does not exist', NEW.relid::pg_catalog.oid
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Register existing tables, with staging.enable_versioning or staging.add_attribute_table.';
    END IF;
    FOREACH rel IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.relid]
        WHEN 'DELETE' THEN ARRAY[OLD.relid]
        ELSE ARRAY[OLD.relid, NEW.relid] END
    LOOP
        SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid = rel;
        IF FOUND AND NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to change its versioning', rel
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run it as the table''s owner (or a member of the owning role).';
        END IF;
    END LOOP;
    -- The sequence table or main table it links the table to: the
    -- extension writes that one as its owner for writers of the table.
    IF TG_OP <> 'DELETE' THEN
        rel := staging._registry_link(TG_TABLE_NAME, pg_catalog.to_jsonb(NEW));
        SELECT c.relowner INTO owner FROM pg_catalog.pg_class c WHERE c.oid = rel;
        IF FOUND AND NOT pg_catalog.pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table % to link table % to it', rel, NEW.relid
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run it as a role that owns both tables (or is a member of both owning roles).';
        END IF;
        FOREACH rel IN ARRAY ARRAY[NEW.relid, rel] LOOP
            IF EXISTS (SELECT FROM pg_catalog.pg_class c
                        WHERE c.oid = rel AND c.relpersistence = 't') THEN
                RAISE EXCEPTION 'cannot register %: it is a temporary table', rel
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Versioned tables must outlive the session; use a permanent table.';
            END IF;
        END LOOP;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION staging._registry_guard() IS
    'Trigger: only the owner of a table may register or unregister it.';
CREATE OR REPLACE TRIGGER registry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON staging.versioned_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_guard();
CREATE OR REPLACE TRIGGER registry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON staging.attribute_table
    FOR EACH ROW EXECUTE FUNCTION staging._registry_guard();

-- DROP TABLE (and DROP SCHEMA ... CASCADE, DROP OWNED) forgets the
-- registrations of the dropped tables.  A sequence table goes only with
-- its versioned table: dropped alone (with CASCADE) it would take the
-- entity column's default and foreign key with it.
CREATE OR REPLACE FUNCTION staging._forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    orphan record;
    kept regclass;
BEGIN
    -- Attribute tables that stay while their main table goes lose the
    -- triggers of versioned writes, as with disable_versioning.
    FOR kept IN
        SELECT a.relid FROM staging.attribute_table a
          JOIN pg_catalog.pg_event_trigger_dropped_objects() d
            ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objsubid = 0 AND d.objid = a.main_table::pg_catalog.oid
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_dropped_objects() d2
                            WHERE d2.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                              AND d2.objsubid = 0 AND d2.objid = a.relid::pg_catalog.oid)
    LOOP
        PERFORM staging._drop_attribute_write_triggers(kept);
    END LOOP;
    DELETE FROM staging.attribute_table a
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0 AND a.relid::pg_catalog.oid = d.objid;
    DELETE FROM staging.versioned_table v
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0 AND v.relid::pg_catalog.oid = d.objid;
    SELECT v.relid, d.object_identity INTO orphan
      FROM staging.versioned_table v
      JOIN pg_catalog.pg_event_trigger_dropped_objects() d
        ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0 AND d.objid = v.sequence_table::pg_catalog.oid
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot drop table %, the sequence table of versioned table %',
                        orphan.object_identity, orphan.relid
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Call staging.disable_versioning(%L) first, or drop table %s too.',
                                           orphan.relid::text, orphan.relid);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._forget_dropped() IS
    'Event trigger: removes the registrations of dropped tables and the write triggers of attribute tables whose main table was dropped; refuses to drop the sequence table of a versioned table that stays.';
REVOKE ALL ON FUNCTION staging._forget_dropped() FROM PUBLIC;
-- (Re)created on every install and upgrade: nothing refers to it.
DROP EVENT TRIGGER IF EXISTS staging_forget_dropped;
CREATE EVENT TRIGGER staging_forget_dropped ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION staging._forget_dropped();
COMMENT ON EVENT TRIGGER staging_forget_dropped IS
    'Removes the registrations of dropped versioned and attribute tables.';

