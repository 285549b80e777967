-------------------------------------------------------------------------------
-- Changelogs (for indexers)
-------------------------------------------------------------------------------

-- A changelog <name>_cl lists the entities that changed, for indexers.  Row
-- triggers written in C (src/changelog.c) log each entity at most once per
-- transaction and only when a subscribed column really changed.  Each row
-- carries the id of the transaction that wrote it (txid), so consumers read
-- batches bounded by two snapshots, as PgQ does: a change is delivered once
-- its transaction is visible in a batch's snapshot and was not in the
-- previous one, whatever order transactions commit in.

-- The registries of 80_state_changelog.sql.
COMMENT ON TABLE staging.changelog IS
    'Registry: each changelog, its main table, entity column and log table <name>_cl.';
GRANT SELECT ON staging.changelog TO PUBLIC;
COMMENT ON TABLE staging.changelog_subscription IS
    'Registry: each table a changelog watches, and the columns whose changes it logs (NULL: all).';
GRANT SELECT ON staging.changelog_subscription TO PUBLIC;
COMMENT ON TABLE staging.changelog_consumer IS
    'Registry: each consumer of a changelog and how far it got (snapshots bounding its batches).';
-- Row security limits each role to the consumers of the logs it may read.
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.changelog_consumer TO PUBLIC;
COMMENT ON POLICY readers_of_the_log ON staging.changelog_consumer IS
    'A role sees and moves only the consumers of the changelogs whose log table it may read.';
COMMENT ON SEQUENCE staging.changelog_batch_seq IS
    'Batch ids handed out by staging.next_batch.';
GRANT USAGE ON SEQUENCE staging.changelog_batch_seq TO PUBLIC;

CREATE OR REPLACE FUNCTION staging._changelog_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'staging_changelog_trigger';
COMMENT ON FUNCTION staging._changelog_trigger() IS
    'Row trigger of a changelog subscription (argument: the changelog name): logs the entity of each real change.';
REVOKE ALL ON FUNCTION staging._changelog_trigger() FROM PUBLIC;
-- A restore by the database owner (pg_restore --no-owner) creates the
-- triggers of the subscriptions on its tables.  Only a subscribed table
-- logs anything: on any other table the trigger raises an error.
GRANT EXECUTE ON FUNCTION staging._changelog_trigger() TO pg_database_owner;

-- The changelog's registry row, or a clear error.
CREATE OR REPLACE FUNCTION staging._changelog(name text) RETURNS staging.changelog
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog;
BEGIN
    SELECT * INTO cl FROM staging.changelog c WHERE c.name = _changelog.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'changelog "%" does not exist', name
            USING ERRCODE = '22023',
                  HINT = 'Create it with staging.create_changelog(name, main_table); staging.changelog lists the existing ones.';
    END IF;
    RETURN cl;
END
$$;
COMMENT ON FUNCTION staging._changelog(text) IS
    'The registry row of a changelog; 22023 when there is none.';

-- Consumers of a changelog are the roles that may read its log table.
CREATE OR REPLACE FUNCTION staging._changelog_check_reader(cl staging.changelog) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT has_table_privilege(cl.log_table, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for changelog "%"', cl.name
            USING ERRCODE = '42501',
                  HINT = format('Consumers need SELECT on %s: GRANT SELECT ON %s TO %I.',
                                cl.log_table, cl.log_table, current_user);
    END IF;
END
$$;
COMMENT ON FUNCTION staging._changelog_check_reader(staging.changelog) IS
    'Raises 42501 unless the current role may read the changelog''s log table.';

-- Creating, subscribing, unsubscribing and dropping run with the caller's
-- rights and write the registries: a clear error for those who may not.
CREATE OR REPLACE FUNCTION staging._changelog_check_admin(name text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NOT (has_table_privilege('staging.changelog', 'INSERT')
            AND has_table_privilege('staging.changelog', 'DELETE')
            AND has_table_privilege('staging.changelog_subscription', 'INSERT')
            AND has_table_privilege('staging.changelog_subscription', 'UPDATE')
            AND has_table_privilege('staging.changelog_subscription', 'DELETE')) THEN
        RAISE EXCEPTION 'permission denied to change changelog "%"', name
            USING ERRCODE = '42501',
                  HINT = 'Creating, subscribing, unsubscribing and dropping changelogs is for the owner of the extension or a superuser.';
    END IF;
END
$$;
COMMENT ON FUNCTION staging._changelog_check_admin(text) IS
    'Raises 42501 unless the current role may write the changelog registries.';

-- First key of the advisory locks that keep prunes and new consumers apart
-- (the second is the log table's OID).
CREATE OR REPLACE FUNCTION staging._changelog_lock_key() RETURNS int
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 1935767855;          -- 'stag' in ASCII
COMMENT ON FUNCTION staging._changelog_lock_key() IS
    'First key of the advisory locks between staging.prune_changelog and staging.add_consumer.';

-- Drops the triggers of one subscription, if they exist.
CREATE OR REPLACE FUNCTION staging._changelog_drop_triggers(cl staging.changelog, tbl regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t name;
BEGIN
    FOR t IN SELECT tgname FROM pg_trigger
              WHERE tgrelid = tbl AND tgname IN (cl.name || '_cl', cl.name || '_cl_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t, tbl);
    END LOOP;
END
$$;
COMMENT ON FUNCTION staging._changelog_drop_triggers(staging.changelog, regclass) IS
    'Drops the triggers <name>_cl and <name>_cl_truncate of one changelog subscription.';
REVOKE ALL ON FUNCTION staging._changelog_drop_triggers(staging.changelog, regclass) FROM PUBLIC;

-- TRUNCATE fires no row trigger: before it empties a watched table, log
-- every entity it holds (live rows only, for versioned tables).  It reads
-- as the extension's owner and writes the log as the log's owner, like the
-- row trigger.  It reads every version row through its own setting of
-- staging.version, which PostgreSQL restores, with the role that chose
-- it, when the function returns: set by hand here, the setting would
-- outlive the call as the extension owner's choice, and the session that
-- truncated would read any version.
CREATE OR REPLACE FUNCTION staging._changelog_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(TG_ARGV[0]);
    tbl regclass := TG_RELID;
    main regclass;
    entity name;
    entities bigint[];
    n bigint;
BEGIN
    -- Only the tables subscribed to the changelog (anyone who may create
    -- the trigger could put it on another table).
    IF NOT EXISTS (SELECT FROM staging.changelog_subscription s
                    WHERE s.changelog = cl.name AND s.tbl::oid = TG_RELID) THEN
        RAISE EXCEPTION 'table % is not subscribed to changelog "%"', TG_RELID::regclass, cl.name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Drop its trigger "%s_cl_truncate", or subscribe it with staging.subscribe.', cl.name);
    END IF;
    -- The live rows, whatever version this session reads (every version
    -- row is read, see above).  The entities are read here; the log table is written as its owner
    -- (its triggers never run with the extension's rights).
    CASE staging.versioned_kind(tbl)
    WHEN 'attribute' THEN
        SELECT a.main_table, v.entity_column INTO main, entity
          FROM staging.attribute_table a JOIN staging.versioned_table v ON v.relid = a.main_table
         WHERE a.relid = tbl;
        EXECUTE format('SELECT array_agg(DISTINCT m.%I::pg_catalog.int8) FROM %s a JOIN %s m '
                       'ON m.row_id = a.row_id WHERE staging._visible_at(m.created_in, m.updated_in, $1)',
                       entity, tbl, main)
            INTO entities USING staging.live_version();
    WHEN 'main' THEN
        EXECUTE format('SELECT array_agg(DISTINCT %I::pg_catalog.int8) FROM %s '
                       'WHERE staging._visible_at(created_in, updated_in, $1)',
                       cl.entity_column, tbl)
            INTO entities USING staging.live_version();
    ELSE
        -- A table that is not versioned may have changed the type of its
        -- entity column since it was subscribed: its casts (its owner's
        -- code) run as its owner, in a security-restricted operation, and
        -- only jsonb comes back (see staging._owner_jsonb).
        SELECT array_agg((j #>> '{}')::pg_catalog.int8) INTO entities
          FROM unnest(staging._owner_jsonb(tbl,
                   format('SELECT DISTINCT pg_catalog.to_jsonb(%I::pg_catalog.int8) FROM %s WHERE %1$I IS NOT NULL',
                          cl.entity_column, tbl))) j;
    END CASE;
    n := 0;
    IF entities IS NOT NULL THEN
        n := staging._run_as_owner(cl.log_table,
                 format('INSERT INTO %s (entity_id) SELECT pg_catalog.unnest(%L::pg_catalog.int8[])',
                        cl.log_table, entities));
    END IF;
    IF n > 0 THEN
        PERFORM pg_notify(cl.name || '_cl', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION staging._changelog_truncate() IS
    'Statement trigger BEFORE TRUNCATE of a changelog subscription: logs every entity of the table.';
REVOKE ALL ON FUNCTION staging._changelog_truncate() FROM PUBLIC;
-- For a restore by the database owner, as _changelog_trigger.
GRANT EXECUTE ON FUNCTION staging._changelog_truncate() TO pg_database_owner;

-- (Re)creates the trigger of one subscription; the trigger is named after
-- the log table, so two changelogs on one table never collide.  It fires on
-- every UPDATE (no column list): which columns count, and how the table
-- leads to its entity, are read from the registries when it runs, so they
-- follow staging.subscribe and staging.enable_versioning.
CREATE OR REPLACE FUNCTION staging._changelog_create_trigger(cl staging.changelog, tbl regclass)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    trigger_name name := cl.name || '_cl';
BEGIN
    PERFORM staging._changelog_drop_triggers(cl, tbl);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION staging._changelog_trigger(%L)',
                   trigger_name, tbl, cl.name);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION staging._changelog_truncate(%L)',
                   trigger_name || '_truncate', tbl, cl.name);
    -- Also in logical replication's apply workers (session_replication_role
    -- = replica): a subscriber logs the live changes it receives.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', tbl, trigger_name);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', tbl, trigger_name || '_truncate');
END
$$;
COMMENT ON FUNCTION staging._changelog_create_trigger(staging.changelog, regclass) IS
    'Creates (or replaces) the C row trigger of one changelog subscription.';
REVOKE ALL ON FUNCTION staging._changelog_create_trigger(staging.changelog, regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.subscribe(name text, tbl regclass, columns name[] DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    kind text := staging.versioned_kind(tbl);
    missing name;
    entity_type regtype;
    related regclass;
BEGIN
    PERFORM staging._changelog_check_admin(cl.name);
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'the table to subscribe to changelog "%" must not be NULL', name
            USING ERRCODE = '22023',
                  HINT = 'Pass the main table, one of its attribute tables or a table with the entity column.';
    END IF;
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p', 'f') THEN
        RAISE EXCEPTION '% is not a table, so changelog "%" cannot watch it', tbl, name
            USING ERRCODE = '22023',
                  HINT = 'Subscribe the tables it reads from.';
    END IF;
    IF (SELECT relpersistence FROM pg_class WHERE oid = tbl) = 't' THEN
        RAISE EXCEPTION 'table % is temporary, so changelog "%" cannot watch it', tbl, name
            USING ERRCODE = '22023',
                  HINT = 'A temporary table goes away with its session without a DROP TABLE that would forget it: watch a permanent table.';
    END IF;
    -- A partitioned table's trigger is cloned on its partitions: a table
    -- and a partition of it cannot both be subscribed.
    SELECT s.tbl INTO related FROM staging.changelog_subscription s
     WHERE s.changelog = cl.name AND s.tbl <> subscribe.tbl
       AND (s.tbl IN (SELECT relid FROM pg_partition_ancestors(subscribe.tbl))
            OR s.tbl IN (SELECT relid FROM pg_partition_tree(subscribe.tbl)))
     LIMIT 1;
    IF related IS NOT NULL THEN
        RAISE EXCEPTION 'table % is in one partition tree with table %, subscribed to changelog "%" already',
                tbl, related, name
            USING ERRCODE = '22023',
                  HINT = format('A partitioned table''s subscription covers its partitions: subscribe either, '
                                'after staging.unsubscribe(%L, %L) if needed.', name, related::text);
    END IF;
    IF tbl = cl.log_table THEN
        RAISE EXCEPTION 'table % is the log table of changelog "%"', tbl, name
            USING ERRCODE = '22023',
                  HINT = 'Subscribe the tables whose changes it logs: the main table, its attribute tables or tables with the entity column.';
    END IF;
    IF kind = 'attribute' THEN
        IF (SELECT main_table FROM staging.attribute_table WHERE relid = tbl) <> cl.main_table THEN
            RAISE EXCEPTION 'table % is an attribute table of %, not of %, the main table of changelog "%"',
                tbl, (SELECT main_table FROM staging.attribute_table WHERE relid = tbl), cl.main_table, name
                USING ERRCODE = '22023',
                      HINT = 'Subscribe it to a changelog of its own main table.';
        END IF;
    ELSE
        SELECT atttypid INTO entity_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = cl.entity_column AND attnum > 0 AND NOT attisdropped;
        IF entity_type IS NULL THEN
            RAISE EXCEPTION 'table % has neither the entity column "%" nor a row_id link to %',
                tbl, cl.entity_column, cl.main_table
                USING ERRCODE = '22023',
                      HINT = 'Subscribe the main table, one of its attribute tables (staging.add_attribute_table) or a table with the entity column.';
        END IF;
        IF entity_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
            RAISE EXCEPTION 'entity column "%" of table % has type %, not an integer type', cl.entity_column, tbl, entity_type
                USING ERRCODE = '22023',
                      HINT = 'Subscribe a table whose entity column is smallint, integer or bigint.';
        END IF;
    END IF;
    IF array_position(columns, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'columns of the subscription of % to changelog "%" must not contain NULL', tbl, name
            USING ERRCODE = '22023',
                  HINT = 'List column names, or pass NULL (not an array with NULL) for all columns.';
    END IF;
    IF columns IS NOT NULL THEN
        SELECT c INTO missing FROM unnest(columns) c
         WHERE NOT EXISTS (SELECT FROM pg_attribute a
                            WHERE a.attrelid = tbl AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column "%" of table % does not exist', missing, tbl
                USING ERRCODE = '42703',
                      HINT = 'List columns of the table, or pass NULL for all.';
        END IF;
        IF cardinality(columns) = 0 THEN
            RAISE EXCEPTION 'columns of the subscription of % to changelog "%" must list at least one column', tbl, name
                USING ERRCODE = '22023',
                      HINT = 'List column names, or pass NULL for all columns.';
        END IF;
    END IF;
    -- Subscribing again replaces the column list.
    INSERT INTO staging.changelog_subscription AS s (changelog, tbl, columns)
    VALUES (cl.name, tbl, columns)
    ON CONFLICT ON CONSTRAINT changelog_subscription_pkey
    DO UPDATE SET columns = excluded.columns;
    PERFORM staging._changelog_create_trigger(cl, tbl);
END
$$;
COMMENT ON FUNCTION staging.subscribe(text, regclass, name[]) IS
    'Logs the entities of real changes of a table''s columns (all when NULL) in a changelog; subscribing again replaces the columns.';

CREATE OR REPLACE FUNCTION staging.unsubscribe(name text, tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
BEGIN
    PERFORM staging._changelog_check_admin(cl.name);
    DELETE FROM staging.changelog_subscription s WHERE s.changelog = cl.name AND s.tbl = unsubscribe.tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not subscribed to changelog "%"', tbl, name
            USING ERRCODE = '22023',
                  HINT = 'The table staging.changelog_subscription lists the tables of each changelog.';
    END IF;
    PERFORM staging._changelog_drop_triggers(cl, tbl);
END
$$;
COMMENT ON FUNCTION staging.unsubscribe(text, regclass) IS
    'Stops logging the changes of a table in a changelog.';

CREATE OR REPLACE FUNCTION staging.create_changelog(name text, main_table regclass) RETURNS regclass
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    entity name;
    log_table regclass;
    schema name := (SELECT nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                     WHERE c.oid = main_table);
BEGIN
    IF main_table IS NULL THEN
        RAISE EXCEPTION 'the main table of changelog "%" must not be NULL', name
            USING ERRCODE = '22023',
                  HINT = 'Pass the versioned (or plain) table whose entities the changelog logs.';
    END IF;
    IF name IS NULL OR name !~ '^[a-z_][a-z0-9_]*$' OR length(name) > 50 THEN
        RAISE EXCEPTION 'invalid changelog name "%"', name
            USING ERRCODE = '22023',
                  HINT = 'Use at most 50 lower-case letters, digits and underscores: the log table is <name>_cl and NOTIFY uses that name.';
    END IF;
    IF EXISTS (SELECT FROM staging.changelog c WHERE c.name = create_changelog.name) THEN
        RAISE EXCEPTION 'changelog "%" already exists', name
            USING ERRCODE = '42710', HINT = 'Drop it with staging.drop_changelog first, or choose another name.';
    END IF;
    PERFORM staging._changelog_check_admin(name);
    -- <name>_cl must be free (a relation's row type takes its name too).
    IF EXISTS (SELECT FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = schema AND t.typname = name || '_cl')
       OR EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = schema AND c.relname = name || '_cl') THEN
        RAISE EXCEPTION 'cannot create changelog "%": relation or type %.% already exists',
                name, quote_ident(schema), quote_ident(name || '_cl')
            USING ERRCODE = '42P07',
                  HINT = 'The log table of a changelog is <name>_cl in the main table''s schema: choose another name, or rename or drop that object.';
    END IF;
    -- The entity column: the registered one of a versioned table, else the
    -- single-column primary key, else entity_id.
    entity := coalesce(
        (SELECT entity_column FROM staging.versioned_table WHERE relid = main_table),
        (SELECT a.attname FROM pg_index i JOIN pg_attribute a
                ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE i.indrelid = main_table AND i.indisprimary AND i.indnatts = 1),
        'entity_id');
    IF NOT EXISTS (SELECT FROM pg_attribute a
                    WHERE a.attrelid = main_table AND a.attname = entity AND a.attnum > 0
                      AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'cannot create changelog "%": table % has no entity column', name, main_table
            USING ERRCODE = '22023',
                  HINT = 'The entity column is the one of a versioned table, else a single-column primary key, '
                         'else a column entity_id: give the table one of them.';
    END IF;
    EXECUTE format('CREATE TABLE %I.%I ('
                   'version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, '
                   'entity_id bigint NOT NULL, '
                   'txid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(), '
                   'changed_at timestamptz NOT NULL DEFAULT pg_catalog.now())',
                   schema, name || '_cl');
    log_table := format('%I.%I', schema, name || '_cl')::regclass;
    EXECUTE format('CREATE INDEX ON %s (txid, version_id)', log_table);
    EXECUTE format('COMMENT ON TABLE %s IS %L', log_table,
                   format('Changelog "%s": entities of %s that changed (staging.next_batch reads it).', name, main_table));
    INSERT INTO staging.changelog VALUES (name, main_table, entity, log_table);
    PERFORM staging.subscribe(name, main_table);
    RETURN log_table;
END
$$;
COMMENT ON FUNCTION staging.create_changelog(text, regclass) IS
    'Creates the changelog <name>_cl in the main table''s schema and subscribes the main table.';

CREATE OR REPLACE FUNCTION staging.drop_changelog(name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    s record;
BEGIN
    PERFORM staging._changelog_check_admin(cl.name);
    FOR s IN SELECT tbl FROM staging.changelog_subscription WHERE changelog = cl.name LOOP
        PERFORM staging.unsubscribe(cl.name, s.tbl);
    END LOOP;
    DELETE FROM staging.changelog c WHERE c.name = cl.name;
    -- (gone already if it was dropped without our event trigger)
    IF EXISTS (SELECT FROM pg_class WHERE oid = cl.log_table) THEN
        EXECUTE format('DROP TABLE %s', cl.log_table);
    END IF;
END
$$;
COMMENT ON FUNCTION staging.drop_changelog(text) IS
    'Drops a changelog: its triggers, its log table and its consumers.';

-- Deletes the rows of transactions this server never ran: rows a restore
-- brought from another server, whose transaction counter was ahead of
-- this one's.  Every row this server logged has the id of a transaction
-- that committed before the statement's snapshot (below its xmax) or of
-- the current one; a row with a later id would otherwise count as pending
-- for every consumer and be delivered, long after the restore, once this
-- server's counter passes it.  It runs as the extension's owner (the
-- DELETE as the log table's owner), like prune_changelog.
CREATE OR REPLACE FUNCTION staging._changelog_forget_restored(name text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
BEGIN
    -- Anyone may call it, as anyone may call prune_changelog: it removes
    -- only rows no consumer can need.  The bound comes from the DELETE's
    -- own snapshot, the one that decides which rows it sees.
    RETURN staging._run_as_owner(cl.log_table, format(
        'DELETE FROM %s WHERE txid >= pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) '
        '   AND txid IS DISTINCT FROM pg_catalog.pg_current_xact_id_if_assigned()', cl.log_table));
END
$$;
COMMENT ON FUNCTION staging._changelog_forget_restored(text) IS
    'Deletes the changelog rows of transactions this server never ran (restored from a server whose transaction ids were ahead); returns how many.';

CREATE OR REPLACE FUNCTION staging.add_consumer(name text, consumer text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'the consumer name for changelog "%" must not be empty', name
            USING ERRCODE = '22023',
                  HINT = 'Name the consumer, e.g. after the indexer that reads the changelog.';
    END IF;
    PERFORM staging._changelog_check_reader(cl);
    -- The consumer starts at a snapshot taken after no prune runs any more
    -- (prunes skip the changelog while we hold this lock), so nothing it
    -- must receive was pruned for the other consumers' sake.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'staging.add_consumer must run at isolation level READ COMMITTED'
            USING ERRCODE = '25001',
                  HINT = 'Call it in its own transaction, or in one at isolation level READ COMMITTED.';
    END IF;
    PERFORM pg_advisory_xact_lock_shared(staging._changelog_lock_key(), cl.log_table::oid::int);
    -- Rows a restore brought from a server ahead of this one are no
    -- changes committed after this call.
    PERFORM staging._changelog_forget_restored(name);
    INSERT INTO staging.changelog_consumer (changelog, consumer, finished)
    VALUES (cl.name, consumer, pg_current_snapshot());
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'consumer "%" of changelog "%" already exists', consumer, name
        USING ERRCODE = '42710',
              HINT = 'Use it (staging.next_batch), or choose another name.';
END
$$;
COMMENT ON FUNCTION staging.add_consumer(text, text) IS
    'Registers a consumer of a changelog: it receives the changes committed after this call (reindex in full once first).';

-- The consumer's row, locked, or a clear error.
CREATE OR REPLACE FUNCTION staging._changelog_consumer(name text, consumer text)
    RETURNS staging.changelog_consumer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c staging.changelog_consumer;
BEGIN
    PERFORM staging._changelog_check_reader(staging._changelog(name));
    SELECT * INTO c FROM staging.changelog_consumer k
     WHERE k.changelog = name AND k.consumer = _changelog_consumer.consumer
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" of changelog "%" does not exist', consumer, name
            USING ERRCODE = '22023',
                  HINT = 'Register it with staging.add_consumer(changelog, consumer), or take its first batch with staging.next_batch().';
    END IF;
    RETURN c;
END
$$;
COMMENT ON FUNCTION staging._changelog_consumer(text, text) IS
    'The registry row of a consumer, locked for update; 22023 when there is none.';

CREATE OR REPLACE FUNCTION staging.drop_consumer(name text, consumer text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM staging._changelog_consumer(name, consumer);
    DELETE FROM staging.changelog_consumer k WHERE k.changelog = name AND k.consumer = drop_consumer.consumer;
    PERFORM staging.prune_changelog(name);
END
$$;
COMMENT ON FUNCTION staging.drop_consumer(text, text) IS
    'Forgets a consumer; the changes only it had not finished are pruned.';

-- Removes the rows every consumer finished: those of transactions older
-- than every consumer's "finished" snapshot.  A plain DELETE of committed
-- rows takes no lock that writers wait for; concurrent pruners skip.  It
-- runs as the extension's owner: it only removes what nobody needs, so
-- consumers need no DELETE privilege on the log table; the DELETE itself
-- runs as the log table's owner.  Every role may call it, so without any
-- consumer it removes nothing: the rows wait for the first consumer that
-- next_batch registers (which receives every change the log holds), and
-- a role that may not even read the log cannot empty it.
CREATE OR REPLACE FUNCTION staging.prune_changelog(name text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    horizon xid8;
    removed bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(staging._changelog_lock_key(), cl.log_table::oid::int) THEN
        RETURN 0;               -- being pruned, or a consumer is being added
    END IF;
    SELECT min(pg_snapshot_xmin(finished))
      INTO horizon
      FROM staging.changelog_consumer WHERE changelog = cl.name;
    IF horizon IS NULL THEN     -- no consumer: kept for the first one
        RETURN staging._changelog_forget_restored(name);
    END IF;
    -- As the log table's owner: its triggers never run as ours.
    removed := staging._run_as_owner(cl.log_table,
                   format('DELETE FROM %s WHERE txid < %L::pg_catalog.xid8', cl.log_table, horizon));
    RETURN removed + staging._changelog_forget_restored(name);
END
$$;
COMMENT ON FUNCTION staging.prune_changelog(text) IS
    'Deletes the changelog rows every consumer finished (next_batch does it too); returns how many.';

CREATE OR REPLACE FUNCTION staging.next_batch(name text, consumer text, max_entities int DEFAULT 1000)
    RETURNS TABLE(batch_id bigint, entity_id bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cl staging.changelog := staging._changelog(name);
    c staging.changelog_consumer;
    -- The rows of the window after a position, in order.
    window_rows constant text :=
        'SELECT txid, version_id, entity_id FROM %s '
        ' WHERE (txid, version_id) > ($1, $2) AND txid < pg_snapshot_xmax($3) '
        '   AND pg_visible_in_snapshot(txid, $3) AND NOT pg_visible_in_snapshot(txid, $4) '
        ' ORDER BY txid, version_id LIMIT $5';
    -- Of the first $5 rows of the window: the last row before the first
    -- row of the ($6 + 1)-th distinct entity, its position, how many rows
    -- were read and how many distinct entities they hold.
    batch_end constant text :=
        'WITH r AS ('
        '  SELECT txid, version_id, n, sum(f) OVER (ORDER BY n) AS d FROM ('
        '    SELECT txid, version_id, n,'
        '           (row_number() OVER (PARTITION BY entity_id ORDER BY n) = 1)::int AS f FROM ('
        '      SELECT txid, version_id, entity_id,'
        '             row_number() OVER (ORDER BY txid, version_id) AS n'
        '        FROM (' || window_rows || ') w) a) b) '
        'SELECT l.txid, l.version_id, l.n, (SELECT count(*) FROM r), (SELECT max(d) FROM r) '
        '  FROM (SELECT * FROM r WHERE d <= $6 ORDER BY n DESC LIMIT 1) l';
    last_txid xid8;
    last_id bigint;
    scan bigint;
    scanned bigint;
    entities bigint;
BEGIN
    IF max_entities IS NULL OR max_entities < 1 THEN
        RAISE EXCEPTION 'max_entities must be at least 1, not %', max_entities
            USING ERRCODE = '22023',
                  HINT = 'Pass the largest number of entities a batch may hold (1000 by default).';
    END IF;
    -- A consumer seen for the first time is registered: it has finished
    -- nothing, so it receives every change the changelog still holds
    -- (add_consumer registers one that starts with the changes committed
    -- after it).
    PERFORM staging._changelog_check_reader(cl);
    IF consumer <> '' THEN
        INSERT INTO staging.changelog_consumer (changelog, consumer, finished)
        VALUES (cl.name, consumer, '1:1:'::pg_snapshot)
        ON CONFLICT DO NOTHING;
        -- Not rows a restore brought from a server ahead of this one.
        IF FOUND THEN
            PERFORM staging._changelog_forget_restored(name);
        END IF;
    END IF;
    c := staging._changelog_consumer(name, consumer);
    -- A batch not finished is delivered again, as it was.
    IF c.batch_id IS NULL THEN
        FOR i IN 1..2 LOOP
            IF c.window_end IS NULL THEN
                -- Open a window: the changes committed since "finished".
                c.window_end := pg_current_snapshot();
                c.done_txid := pg_snapshot_xmin(c.finished);
                c.done_id := 0;
            END IF;
            -- A batch holds up to max_entities distinct entities: rows of
            -- an entity logged again and again do not make it smaller.
            -- Read max_entities rows, and more (at most 64 times as many)
            -- while they hold fewer entities and the window has more rows.
            scan := max_entities;
            LOOP
                EXECUTE format(batch_end, cl.log_table)
                   INTO last_txid, last_id, c.batch_rows, scanned, entities
                  USING c.done_txid, c.done_id, c.window_end, c.finished, scan, max_entities;
                EXIT WHEN last_txid IS NULL OR scanned < scan OR entities >= max_entities
                          OR scan >= 64::bigint * max_entities OR scan >= 2147483647;
                scan := least(scan * 4, 64::bigint * max_entities, 2147483647);
            END LOOP;
            EXIT WHEN last_txid IS NOT NULL;
            -- The window is exhausted: everything in it is finished.
            c.finished := c.window_end;
            c.window_end := NULL;
            c.done_txid := NULL;
            c.done_id := NULL;
        END LOOP;
        IF last_txid IS NOT NULL THEN
            c.batch_id := nextval('staging.changelog_batch_seq');
            c.batch_end_txid := last_txid;
            c.batch_end_id := last_id;
        END IF;
        UPDATE staging.changelog_consumer k
           SET finished = c.finished, window_end = c.window_end,
               done_txid = c.done_txid, done_id = c.done_id, batch_id = c.batch_id,
               batch_end_txid = c.batch_end_txid, batch_end_id = c.batch_end_id,
               batch_rows = c.batch_rows
         WHERE k.changelog = c.changelog AND k.consumer = c.consumer;
        IF c.window_end IS NULL THEN
            PERFORM staging.prune_changelog(name);
        END IF;
        IF c.batch_id IS NULL THEN
            RETURN;
        END IF;
    END IF;
    -- The rows of a window are those of committed transactions, which no
    -- one prunes before this consumer finished them: the first batch_rows
    -- rows after done_* are the same rows every time.
    RETURN QUERY EXECUTE format(
        'SELECT DISTINCT $6, entity_id FROM (' || window_rows || ') w '
        ' WHERE (txid, version_id) <= ($7, $8) ORDER BY entity_id', cl.log_table)
        USING c.done_txid, c.done_id, c.window_end, c.finished, c.batch_rows,
              c.batch_id, c.batch_end_txid, c.batch_end_id;
END
$$;
COMMENT ON FUNCTION staging.next_batch(text, text, int) IS
    'The next batch of distinct changed entities for a consumer (at most max_entities); the same batch again until finish_batch.';

CREATE OR REPLACE FUNCTION staging.finish_batch(name text, consumer text, batch_id bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c staging.changelog_consumer := staging._changelog_consumer(name, consumer);
BEGIN
    IF c.batch_id IS DISTINCT FROM finish_batch.batch_id OR finish_batch.batch_id IS NULL THEN
        RAISE EXCEPTION 'batch % is not the current batch of consumer "%" of changelog "%"',
            coalesce(finish_batch.batch_id::text, 'NULL'), consumer, name
            USING ERRCODE = '55000',
                  DETAIL = CASE WHEN c.batch_id IS NULL THEN 'The consumer has no unfinished batch.'
                           ELSE format('Its current batch is %s.', c.batch_id) END,
                  HINT = 'Call staging.next_batch and finish the batch id it returns.';
    END IF;
    UPDATE staging.changelog_consumer k
       SET done_txid = c.batch_end_txid, done_id = c.batch_end_id,
           batch_id = NULL, batch_end_txid = NULL, batch_end_id = NULL, batch_rows = NULL
     WHERE k.changelog = c.changelog AND k.consumer = c.consumer;
END
$$;
COMMENT ON FUNCTION staging.finish_batch(text, text, bigint) IS
    'Marks a consumer''s current batch done; in the transaction that writes the index, exactly once.';

-- Pending changes of one consumer: rows not visible in "finished" and not
-- in the part of the current window it finished.
CREATE OR REPLACE FUNCTION staging._changelog_pending(c staging.changelog_consumer,
                                           OUT pending_entities bigint, OUT oldest_pending timestamptz)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    EXECUTE format(
        'SELECT count(DISTINCT entity_id), min(changed_at) FROM %s '
        ' WHERE txid >= pg_snapshot_xmin($1) AND NOT pg_visible_in_snapshot(txid, $1) '
        '   AND NOT (coalesce(pg_visible_in_snapshot(txid, $2), false) '
        '            AND (txid, version_id) <= ($3, $4))',
        (SELECT log_table FROM staging.changelog WHERE name = c.changelog))
       INTO pending_entities, oldest_pending
      USING c.finished, c.window_end, c.done_txid, c.done_id;
END
$$;
COMMENT ON FUNCTION staging._changelog_pending(staging.changelog_consumer) IS
    'How many entities a consumer has not finished, and when the oldest of them changed.';

CREATE OR REPLACE VIEW staging.changelog_status AS
SELECT k.changelog, k.consumer, p.pending_entities,
       now() - p.oldest_pending AS oldest_pending_age,
       k.batch_id AS current_batch
  FROM staging.changelog_consumer k
  JOIN staging.changelog c ON c.name = k.changelog,
       LATERAL staging._changelog_pending(k) p
 WHERE pg_catalog.has_table_privilege(c.log_table, 'SELECT');
COMMENT ON VIEW staging.changelog_status IS
    'Per changelog and consumer: entities pending, age of the oldest pending change, the unfinished batch.';
GRANT SELECT ON staging.changelog_status TO PUBLIC;

-- DROP TABLE of a watched table forgets its subscriptions; dropping a log
-- table drops its changelog, and the triggers that wrote into it.
CREATE OR REPLACE FUNCTION staging._changelog_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    w record;
BEGIN
    DELETE FROM staging.changelog_subscription s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = s.tbl;
    FOR w IN
        SELECT s.tbl, t.tgname AS trigger_name
          FROM staging.changelog c
          JOIN pg_event_trigger_dropped_objects() d
            ON d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = c.log_table
          JOIN staging.changelog_subscription s ON s.changelog = c.name
          JOIN pg_trigger t ON t.tgrelid = s.tbl
                           AND t.tgname IN (c.name || '_cl', c.name || '_cl_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', w.trigger_name, w.tbl);
    END LOOP;
    DELETE FROM staging.changelog c
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = c.log_table;
END
$$;
COMMENT ON FUNCTION staging._changelog_dropped() IS
    'Event trigger: forgets the subscriptions of dropped tables and the changelogs whose log table was dropped.';
REVOKE ALL ON FUNCTION staging._changelog_dropped() FROM PUBLIC;
-- (Re)created on every install and upgrade: nothing refers to it.
DROP EVENT TRIGGER IF EXISTS staging_changelog_dropped;
CREATE EVENT TRIGGER staging_changelog_dropped ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION staging._changelog_dropped();
COMMENT ON EVENT TRIGGER staging_changelog_dropped IS
    'Keeps the changelog registries in step with DROP TABLE.';

-- staging.clone_schema copies the triggers of the source's tables; this
-- subscribes the clone's tables to the same changelogs, so an import into
-- the clone is logged, and after staging.swap_schemas the live tables (the
-- clone's) stay watched.  Only for relations this transaction created.
-- Written in C (src/run_as_owner.c): PUBLIC may execute it (clone_schema
-- runs as its caller), so it refuses (42501) unless the caller is a member
-- of the owners of each subscribed source table and of its clone, and it
-- writes the registry as the registry's owner.
CREATE OR REPLACE FUNCTION staging._changelog_clone(source oid, target oid) RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_changelog_clone';
COMMENT ON FUNCTION staging._changelog_clone(oid, oid) IS
    'Subscribes the tables of a fresh schema clone to the changelogs of their source tables '
    '(for a member of the owners of both).';

-- The SQL text of an expression of type typ as text, for statements the
-- extension runs on other roles' tables with more rights than their
-- owners (advance as the extension's owner, diff as an editor).  A cast to
-- text is the type's owner's code when that owner wrote it (CREATE CAST
-- on an enum or composite type it owns): then the value is converted by
-- the type's output function instead, which only a superuser can write
-- (NULL stays NULL).  A domain's cast is its base type's (domains over
-- domains too).  Other types keep their cast (boolean, inet, ...).
CREATE OR REPLACE FUNCTION staging._text_of(expr text, typ regtype) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
WITH RECURSIVE chain(t) AS (      -- the type and, for a domain, its base types
    SELECT typ::pg_catalog.oid
    UNION ALL
    SELECT d.typbasetype FROM pg_catalog.pg_type d JOIN chain ON d.oid = chain.t
     WHERE d.typtype = 'd'
)
SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_cast c
                           JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
                           JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
                          WHERE c.castsource IN (SELECT chain.t FROM chain)
                            AND c.casttarget = 'pg_catalog.text'::pg_catalog.regtype
                            AND NOT r.rolsuper)
            THEN pg_catalog.format('CASE WHEN pg_catalog.num_nonnulls(%1$s) = 1 THEN pg_catalog.format(%2$L, %1$s) END',
                                   expr, '%s')
            ELSE pg_catalog.format('(%s)::pg_catalog.text', expr)
       END
$$;
COMMENT ON FUNCTION staging._text_of(text, regtype) IS
    'SQL for an expression as text that never runs a cast to text written by a role other than a superuser.';

-- Called by staging.advance in its transaction, after the live
-- version moved from from_version to to_version and once the writers at the
-- versions going live are visible: logs, in every changelog that watches a
-- versioned main table or one of its attribute tables, each entity having
-- a version row that starts or ends in (from_version, to_version].  A
-- subscription with a column list counts such an entity only when the
-- listed columns of what a reader sees changed: the main row (or its
-- existence), or the multiset of its attribute rows, at from_version
-- against to_version, compared as text as the triggers compare values.
CREATE OR REPLACE FUNCTION staging._changelog_advance(from_version bigint, to_version bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET staging.version = 'all'
    AS $$
DECLARE
    cl record;
    w record;
    n bigint;
    cols text;
    rows_at text;
    candidates text;
    found_entities bigint[];
    entities bigint[];
    total bigint := 0;
BEGIN
    -- Rows that stopped being visible count too: read every version row
    -- (the function's own setting, restored with the role that chose it
    -- when the function returns, as for staging._changelog_truncate).
    FOR cl IN
        SELECT DISTINCT c.name, c.log_table
          FROM staging.changelog c
          JOIN staging.changelog_subscription s ON s.changelog = c.name
         ORDER BY c.name
    LOOP
        entities := NULL;
        FOR w IN
            SELECT s.tbl, s.columns, v.relid AS main_table, v.entity_column
              FROM staging.changelog_subscription s
              JOIN staging.versioned_table v
                ON v.relid = s.tbl
                OR v.relid = (SELECT a.main_table FROM staging.attribute_table a WHERE a.relid = s.tbl)
             WHERE s.changelog = cl.name
        LOOP
            candidates := format(
                'SELECT %1$I::pg_catalog.int8 AS e FROM %2$s WHERE %3$s '
                'UNION '
                'SELECT %1$I FROM %2$s WHERE updated_in > $1 AND updated_in <= $2',
                w.entity_column, w.main_table, staging._created_between('$1', '$2'));
            -- The listed columns that still exist (none: every candidate,
            -- so that a renamed column never hides a change).
            cols := NULL;
            IF w.columns IS NOT NULL THEN
                -- (as text, but never through a cast the table's owner
                -- wrote: this runs as the extension's owner)
                SELECT pg_catalog.string_agg(staging._text_of(format('r.%I', a.attname), a.atttypid), ', '
                                             ORDER BY a.attnum)
                  INTO cols
                  FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = w.tbl AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.attname = ANY (w.columns);
                IF cols IS NOT NULL AND
                   (SELECT pg_catalog.count(DISTINCT l) FROM pg_catalog.unnest(w.columns) l) >
                   (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid = w.tbl AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attname = ANY (w.columns)) THEN
                    cols := NULL;
                END IF;
            END IF;
            IF cols IS NULL THEN
                EXECUTE 'SELECT pg_catalog.array_agg(e) FROM (' || candidates || ') u'
                   INTO found_entities USING from_version, to_version;
            ELSE
                -- What a reader of entity u.e sees of the listed columns at
                -- from_version ($1) and at to_version ($2).
                IF w.tbl = w.main_table THEN
                    rows_at := format(
                        'SELECT %1$s FROM %2$s r WHERE r.%3$I = u.e '
                        'AND r.created_in <= $%%1$s AND r.updated_in > $%%1$s',
                        cols, w.main_table, w.entity_column);
                ELSE
                    rows_at := format(
                        'SELECT %1$s FROM %2$s r JOIN %3$s m ON m.row_id = r.row_id '
                        'WHERE m.%4$I = u.e '
                        'AND m.created_in <= $%%1$s AND m.updated_in > $%%1$s',
                        cols, w.tbl, w.main_table, w.entity_column);
                END IF;
                EXECUTE 'SELECT pg_catalog.array_agg(e) FROM (' || candidates || ') u '
                        'WHERE EXISTS ((' || replace(rows_at, '$%1$s', '$1') || ' EXCEPT ALL '
                                          || replace(rows_at, '$%1$s', '$2') || ') UNION ALL ('
                                          || replace(rows_at, '$%1$s', '$2') || ' EXCEPT ALL '
                                          || replace(rows_at, '$%1$s', '$1') || '))'
                   INTO found_entities USING from_version, to_version;
            END IF;
            entities := entities || found_entities;
        END LOOP;
        SELECT pg_catalog.array_agg(DISTINCT e) INTO entities
          FROM pg_catalog.unnest(entities) e;
        n := 0;
        IF entities IS NOT NULL THEN
            -- The entities are read here; the log table is written as its
            -- owner (its triggers never run with the extension's rights).
            n := staging._run_as_owner(cl.log_table,
                     format('INSERT INTO %s (entity_id) SELECT pg_catalog.unnest(%L::pg_catalog.int8[])',
                            cl.log_table, entities));
        END IF;
        IF n > 0 THEN
            PERFORM pg_notify(cl.name || '_cl', '');
        END IF;
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION staging._changelog_advance(bigint, bigint) IS
    'Internal (staging.advance): logs the entities whose visible row changed when the live version moved.';
REVOKE ALL ON FUNCTION staging._changelog_advance(bigint, bigint) FROM PUBLIC;
