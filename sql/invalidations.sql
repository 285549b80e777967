-- Invalidations of go-lives: a row in staging.invalidations and a NOTIFY
-- staging_invalidation whose payload is that row as JSON, also when the
-- go-live names more updates than a NOTIFY payload (8000 bytes) can hold.
SET timezone = 'UTC';
SELECT staging.live_version() AS live_before,
       coalesce((SELECT max(id) FROM staging.invalidations), 0) AS invalidations_before \gset

-- 800 updates, one a minute, made live by one advance(): their ids alone
-- take 8800 bytes.
SELECT count(staging.create_update('Hourly deal ' || g, '2040-01-01 00:00+00'::timestamptz + g * interval '1 minute'))
  FROM generate_series(1, 800) g;
SELECT staging.advance('2040-01-02 00:00+00') = staging.to_version('2040-01-01 13:20+00') AS all_live;

-- The row lists every update that started.
SELECT kind, detail->'from_version' AS from_version, jsonb_array_length(detail->'started') AS started,
       jsonb_array_length(detail->'ended') AS ended, published_at IS NOT NULL AS published
  FROM staging.invalidations ORDER BY id DESC LIMIT 1;
-- The payload leaves the lists out and says so; the rest is the row.
SELECT octet_length(p) < 8000 AS fits, (p::jsonb)->'detail' AS detail,
       (p::jsonb) - 'detail' = (to_jsonb(i) - 'detail') AS rest_is_the_row
  FROM staging.invalidations i, staging._invalidation_payload(i) p
 ORDER BY i.id DESC LIMIT 1;

-- A go-live of a few updates: the payload is the row as JSON.
SELECT staging.create_update('One more', '2040-02-01 00:00+00') = staging.to_version('2040-02-01 00:00+00') AS created;
SELECT staging.advance('2040-02-02 00:00+00') = staging.to_version('2040-02-01 00:00+00') AS live;
SELECT staging._invalidation_payload(i) = row_to_json(i)::text AS payload_is_the_row,
       i.detail - 'from_version' AS detail
  FROM staging.invalidations i ORDER BY i.id DESC LIMIT 1;

-- Not for everyone.
CREATE ROLE inv_clerk;
SET ROLE inv_clerk;
SELECT staging._invalidation_payload(i) FROM staging.invalidations i LIMIT 1;
RESET ROLE;
DROP ROLE inv_clerk;

-- Clean up: this database's live version goes back to what it was for
-- the tests that follow.
DELETE FROM staging.updates WHERE name LIKE 'Hourly deal %' OR name = 'One more';
DELETE FROM staging.invalidations WHERE id > :invalidations_before;
UPDATE staging.live_state SET version = :live_before;
