-------------------------------------------------------------------------------
-- Invalidations: recording and publishing (schema swaps, go-lives)
-------------------------------------------------------------------------------

COMMENT ON COLUMN staging.invalidations.commit_lsn IS
    'A WAL position at or after the end of the commit record of this invalidation (an upper bound, '
    'taken by staging.publish_invalidations() once it saw the commit): a standby that replayed it has the change.';
COMMENT ON COLUMN staging.invalidations.published_at IS
    'When NOTIFY staging_invalidation was queued: in the recording transaction (sent at its commit), '
    'or, with staging.invalidate_after_replay = on, by staging.publish_invalidations(); NULL while waiting.';
COMMENT ON COLUMN staging.invalidations.lagging IS
    'The standbys (application_name) that had not replayed commit_lsn when staging.replay_wait_timeout '
    'forced the publication; NULL when every connected standby had.';
COMMENT ON INDEX staging.invalidations_pending IS
    'The invalidations that staging.publish_invalidations() still has to publish or date with their commit LSN.';

-- The NOTIFY payload of an invalidation: its row as JSON.  A payload must
-- be shorter than 8000 bytes; a go-live of hundreds of updates at once (a
-- server down for weeks, advance() far ahead) lists more ids than that,
-- so then detail's lists are left out and detail says "truncated": true
-- (the row keeps them: listeners read it by id).
CREATE OR REPLACE FUNCTION staging._invalidation_payload(inv staging.invalidations)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    payload text := row_to_json(inv)::text;
BEGIN
    IF octet_length(payload) < 8000 THEN
        RETURN payload;
    END IF;
    inv.detail := coalesce((SELECT jsonb_object_agg(d.key, d.value) FROM jsonb_each(inv.detail) d
                             WHERE jsonb_typeof(d.value) <> 'array'), '{}')
                  || '{"truncated": true}';
    RETURN row_to_json(inv)::text;
END
$$;
COMMENT ON FUNCTION staging._invalidation_payload(staging.invalidations) IS
    'The NOTIFY staging_invalidation payload of an invalidation: its row as JSON, without detail''s lists '
    '(and with "truncated": true) when that would not fit NOTIFY''s 8000 bytes.';
REVOKE ALL ON FUNCTION staging._invalidation_payload(staging.invalidations) FROM PUBLIC;

-- One place that records an invalidation: the row, and the NOTIFY in the
-- same transaction unless invalidate_after_replay asks to wait for the
-- standbys (then staging.publish_invalidations() sends it).  Called by
-- the SECURITY DEFINER functions of swaps and go-lives.
CREATE OR REPLACE FUNCTION staging._record_invalidation(kind text, detail jsonb)
    RETURNS staging.invalidations
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    recorded staging.invalidations;
BEGIN
    INSERT INTO staging.invalidations (kind, detail)
    VALUES (kind, detail)
    RETURNING * INTO recorded;
    IF NOT coalesce(current_setting('staging.invalidate_after_replay', true)::boolean, false) THEN
        UPDATE staging.invalidations i SET published_at = clock_timestamp()
         WHERE i.id = recorded.id
        RETURNING * INTO recorded;
        PERFORM pg_notify('staging_invalidation', staging._invalidation_payload(recorded));
    END IF;
    RETURN recorded;
END
$$;
COMMENT ON FUNCTION staging._record_invalidation(text, jsonb) IS
    'Inserts an invalidation row and queues NOTIFY staging_invalidation (delivered at commit), '
    'or leaves it to staging.publish_invalidations() when staging.invalidate_after_replay is on.';
REVOKE ALL ON FUNCTION staging._record_invalidation(text, jsonb) FROM PUBLIC;

-- A version went live (advance, or a replicated change of live_state):
-- the invalidation names the versions and the updates that started or
-- ended with it.
CREATE OR REPLACE FUNCTION staging._record_go_live(old_live bigint, new_live bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM staging._record_invalidation('go_live', jsonb_build_object(
        'from_version', old_live,
        'to_version', new_live,
        'started', coalesce((SELECT jsonb_agg(u.id ORDER BY u.id) FROM staging.updates u
                              WHERE u.id > old_live AND u.id <= new_live), '[]'),
        'ended', coalesce((SELECT jsonb_agg(u.id ORDER BY u.id) FROM staging.updates u
                            WHERE u.rollback_id > old_live AND u.rollback_id <= new_live), '[]')));
END
$$;
COMMENT ON FUNCTION staging._record_go_live(bigint, bigint) IS
    'Records the invalidation of a go-live from old_live to new_live (kind go_live).';
REVOKE ALL ON FUNCTION staging._record_go_live(bigint, bigint) FROM PUBLIC;

-- Dates committed invalidations with their commit LSN and, with
-- staging.invalidate_after_replay = on, sends the NOTIFY of each, in
-- order, once every connected streaming standby replayed it, or once
-- staging.replay_wait_timeout passed (naming the standbys that lag).  The
-- scheduler calls it in each database it serves; pg_cron can too.
-- Logical replication walsenders are not standbys: they are left out.
CREATE OR REPLACE FUNCTION staging.publish_invalidations() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    after_replay boolean := coalesce(current_setting('staging.invalidate_after_replay', true)::boolean, false);
    wait_for interval := coalesce(current_setting('staging.replay_wait_timeout', true), '10s')::interval;
    inv staging.invalidations;
    behind text[];
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'staging.publish_invalidations() runs on the primary, not on a standby'
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'Call it on the primary; standbys hear of invalidations from their listeners there.';
    END IF;
    -- Committed rows are visible: their commit record is in the WAL before
    -- the current insert position.
    UPDATE staging.invalidations i SET commit_lsn = pg_current_wal_insert_lsn()
     WHERE i.commit_lsn IS NULL;
    FOR inv IN SELECT * FROM staging.invalidations i
                WHERE i.published_at IS NULL AND i.commit_lsn IS NOT NULL
                ORDER BY i.id FOR UPDATE SKIP LOCKED LOOP
        behind := NULL;
        IF after_replay THEN
            SELECT array_agg(coalesce(nullif(r.application_name, ''), r.pid::text) ORDER BY r.application_name)
              INTO behind
              FROM pg_stat_replication r
             WHERE r.state IN ('streaming', 'catchup')
               AND NOT EXISTS (SELECT FROM pg_replication_slots s
                                WHERE s.active_pid = r.pid AND s.slot_type = 'logical')
               AND (r.replay_lsn IS NULL OR r.replay_lsn < inv.commit_lsn);
            -- In order: a later invalidation never overtakes a waiting one.
            EXIT WHEN behind IS NOT NULL AND clock_timestamp() < inv.created_at + wait_for;
        END IF;
        UPDATE staging.invalidations i SET published_at = clock_timestamp(), lagging = behind
         WHERE i.id = inv.id
        RETURNING * INTO inv;
        IF behind IS NOT NULL THEN
            RAISE LOG 'staging: invalidation % published after staging.replay_wait_timeout; standbys lagging: %',
                inv.id, array_to_string(behind, ', ');
        END IF;
        PERFORM pg_notify('staging_invalidation', staging._invalidation_payload(inv));
    END LOOP;
    RETURN (SELECT count(*) FROM staging.invalidations i WHERE i.published_at IS NULL);
END
$$;
COMMENT ON FUNCTION staging.publish_invalidations() IS
    'Records the commit LSN of committed invalidations and, with staging.invalidate_after_replay = on, '
    'sends NOTIFY staging_invalidation for those every connected standby replayed (or after '
    'staging.replay_wait_timeout, naming the lagging standbys); returns how many still wait.';
REVOKE ALL ON FUNCTION staging.publish_invalidations() FROM PUBLIC;
