-- State (see sql/install/README): the preview secret's table; its row is
-- inserted by 52_state_preview_secret.sql, once _random_secret() exists.

-- Previews.  The secret that signs preview tokens: readable only by the
-- extension's owner (row security without policies also keeps members of
-- pg_read_all_data out).  It is not dumped: a restored database gets a new
-- one, which invalidates tokens signed before, like a rotation.
CREATE TABLE staging.preview_secret (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    rotated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE staging.preview_secret ENABLE ROW LEVEL SECURITY;

