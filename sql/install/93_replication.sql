-------------------------------------------------------------------------------
-- Logical replication: staging.live_state on a subscriber
-------------------------------------------------------------------------------

-- Apply and table synchronisation workers run with session_replication_role
-- = replica: triggers fire there only when enabled ALWAYS or REPLICA, and
-- statement triggers not at all for the rows they apply.  On a subscriber
-- that receives staging.live_state (see the README, "Logical replication"):
--   - the initial copy inserts the publisher's row where CREATE EXTENSION
--     already put one: live_state_restore turns it into an update;
--   - a replicated update of the row must invalidate every backend's cached
--     live version (live_state_replicated_changed, a row trigger), and log
--     what went live in the changelogs and publish it as a go_live
--     invalidation, as advance() does on the publisher (live_state_replicated).
ALTER TABLE staging.live_state ENABLE ALWAYS TRIGGER live_state_restore;
ALTER TABLE staging.live_state ENABLE ALWAYS TRIGGER live_state_changed;

CREATE OR REPLACE TRIGGER live_state_replicated_changed
    AFTER INSERT OR UPDATE OR DELETE ON staging.live_state
    FOR EACH ROW EXECUTE FUNCTION staging._live_state_changed();
ALTER TABLE staging.live_state ENABLE REPLICA TRIGGER live_state_replicated_changed;
COMMENT ON TRIGGER live_state_replicated_changed ON staging.live_state IS
    'Logical replication apply: invalidates the cached live version in every backend.';

-- A replicated go-live: what advance() does besides moving the version.
CREATE OR REPLACE FUNCTION staging._live_state_replicated() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF NEW.version > OLD.version THEN
        PERFORM staging._changelog_advance(OLD.version, NEW.version);
        PERFORM staging._record_go_live(OLD.version, NEW.version);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION staging._live_state_replicated() IS
    'Trigger (logical replication apply only): logs and publishes a replicated go-live as advance() does.';
REVOKE ALL ON FUNCTION staging._live_state_replicated() FROM PUBLIC;
CREATE OR REPLACE TRIGGER live_state_replicated
    AFTER UPDATE ON staging.live_state
    FOR EACH ROW EXECUTE FUNCTION staging._live_state_replicated();
ALTER TABLE staging.live_state ENABLE REPLICA TRIGGER live_state_replicated;
COMMENT ON TRIGGER live_state_replicated ON staging.live_state IS
    'Logical replication apply: a replicated go-live is logged and published as advance() does.';
