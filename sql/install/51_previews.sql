-- Previews: signed tokens that let any session read a future version.
COMMENT ON TABLE staging.preview_secret IS
    'The secret that signs preview tokens; readable only by the extension owner.';
REVOKE ALL ON staging.preview_secret FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging._random_secret() RETURNS bytea
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'staging_random_secret';
COMMENT ON FUNCTION staging._random_secret() IS
    'A new random preview secret (32 bytes from the strong random source).';
REVOKE ALL ON FUNCTION staging._random_secret() FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.rotate_preview_secret() RETURNS timestamptz
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
INSERT INTO staging.preview_secret (singleton, secret, rotated_at)
VALUES (true, staging._random_secret(), pg_catalog.now())
ON CONFLICT (singleton) DO UPDATE
   SET secret = excluded.secret, rotated_at = excluded.rotated_at
RETURNING rotated_at
$$;
COMMENT ON FUNCTION staging.rotate_preview_secret() IS
    'Replaces the preview secret: every token signed before stops working.';
REVOKE ALL ON FUNCTION staging.rotate_preview_secret() FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.sign_preview(version bigint, valid_for interval DEFAULT '1 hour')
    RETURNS text
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_sign_preview';
COMMENT ON FUNCTION staging.sign_preview(bigint, interval) IS
    'A token (HMAC-SHA256 signed) that lets any session read that version until now() + valid_for. '
    'Roles that may execute it may also read every version themselves.';
REVOKE ALL ON FUNCTION staging.sign_preview(bigint, interval) FROM PUBLIC;

CREATE OR REPLACE FUNCTION staging.preview(token text) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text) IS
    'Checks a preview token and lets this session read its version (like SET staging.version); returns the version.';
CREATE OR REPLACE FUNCTION staging.preview(token text, is_local boolean) RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'staging_preview';
COMMENT ON FUNCTION staging.preview(text, boolean) IS
    'staging.preview(token) that, with is_local, lasts only until the end of the transaction (like SET LOCAL).';

