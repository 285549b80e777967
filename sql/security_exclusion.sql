-- The version constraint's error (23P01) names the conflicting row's
-- key: the versions it spans.  A clerk who moves a live row to the id of
-- an entity that exists only in a future update (UPDATE or MERGE of the
-- entity column) would read there when the update starts and ends.  For a writer who may not read
-- every version, the detail is left out, as PostgreSQL leaves it out for
-- tables with row-level security; the owner still sees it.
SET client_min_messages = warning;
CREATE ROLE regress_ex_owner;
CREATE ROLE regress_ex_clerk;
CREATE SCHEMA ex AUTHORIZATION regress_ex_owner;
GRANT USAGE ON SCHEMA ex TO regress_ex_clerk;
SET ROLE regress_ex_owner;
CREATE TABLE ex.product (entity_id bigint PRIMARY KEY, sku text);
INSERT INTO ex.product VALUES (1, 'mug');
SELECT staging.enable_versioning('ex.product');
GRANT SELECT, INSERT, UPDATE, DELETE ON ex.product TO regress_ex_clerk;
RESET ROLE;
SELECT staging.create_update('ex sale', '2030-01-01 00:00+00', '2030-01-02 00:00+00') AS sale \gset
SET staging.version = :sale;
INSERT INTO ex.product (entity_id, sku) VALUES (2, 'SECRET');
RESET staging.version;

SET ROLE regress_ex_clerk;
RESET staging.version;		-- chosen by the clerk, as in its own session
\set VERBOSITY default
SELECT entity_id, sku FROM ex.product ORDER BY 1;
UPDATE ex.product SET entity_id = 2 WHERE entity_id = 1;
MERGE INTO ex.product t USING (VALUES (1)) s(e) ON t.entity_id = s.e
  WHEN MATCHED THEN UPDATE SET entity_id = 2;
RESET ROLE;
-- the owner, who may read every version, gets PostgreSQL's detail
SET ROLE regress_ex_owner;
RESET staging.version;
UPDATE ex.product SET entity_id = 2 WHERE entity_id = 1;
RESET ROLE;

DROP SCHEMA ex CASCADE;
DELETE FROM staging.updates WHERE id = :sale;
DROP ROLE regress_ex_owner, regress_ex_clerk;
