-- Versioned writes on Magento's own types: integer entity ids, and
-- attribute tables that keep an integer row_id after add_attribute_table.
SET timezone = 'UTC';
CREATE SCHEMA wi;
SET search_path = wi, public;
CREATE TABLE catalog_product_entity (
    entity_id serial PRIMARY KEY,
    sku       text NOT NULL
);
CREATE TABLE catalog_product_entity_varchar (
    value_id     serial PRIMARY KEY,
    attribute_id int NOT NULL,
    store_id     int NOT NULL DEFAULT 0,
    entity_id    int NOT NULL REFERENCES catalog_product_entity ON DELETE CASCADE,
    value        text,
    UNIQUE (entity_id, attribute_id, store_id)
);
INSERT INTO catalog_product_entity (sku) VALUES ('tee'), ('cap');
INSERT INTO catalog_product_entity_varchar (attribute_id, entity_id, value)
VALUES (73, 1, 'Red tee'), (73, 2, 'Blue cap');
SELECT staging.enable_versioning('catalog_product_entity');
SELECT staging.add_attribute_table('catalog_product_entity_varchar', 'catalog_product_entity');
SELECT format_type(atttypid, atttypmod) AS attribute_row_id
  FROM pg_attribute
 WHERE attrelid = 'catalog_product_entity_varchar'::regclass AND attname = 'row_id';

CREATE VIEW shop AS
SELECT p.entity_id, p.sku, n.value AS name
  FROM catalog_product_entity p
  LEFT JOIN catalog_product_entity_varchar n
    ON n.row_id = p.row_id AND n.attribute_id = 73
 ORDER BY p.entity_id;

-- An indexer watches the names.
SELECT staging.create_changelog('wi_names', 'catalog_product_entity') IS NOT NULL AS created;
SELECT staging.subscribe('wi_names', 'catalog_product_entity_varchar', ARRAY['value']);
SELECT staging.add_consumer('wi_names', 'indexer');
CREATE FUNCTION consume() RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
    ids int[];
BEGIN
    SELECT max(batch_id), array_agg(entity_id ORDER BY entity_id) INTO b, ids
      FROM staging.next_batch('wi_names', 'indexer');
    IF b IS NOT NULL THEN
        PERFORM staging.finish_batch('wi_names', 'indexer', b);
    END IF;
    RETURN ids;
END $$;

-- A campaign renames the tee; the attribute write lands in its own row.
SELECT staging.create_update('Rename', '2035-11-23 00:00+00', '2035-11-26 00:00+00') AS rename \gset
SET staging.version = :rename;
UPDATE catalog_product_entity_varchar SET value = 'Crimson tee'
 WHERE attribute_id = 73
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'tee');
SELECT * FROM shop;
RESET staging.version;
-- Meanwhile, at the live version, the cap is renamed; live is untouched by
-- the campaign.
UPDATE catalog_product_entity_varchar SET value = 'Navy cap'
 WHERE attribute_id = 73
   AND row_id = (SELECT row_id FROM catalog_product_entity WHERE sku = 'cap');
SELECT * FROM shop;
-- The indexer learns of the live rename only: the campaign's write changed
-- nothing the live version shows.
SELECT consume() AS changed_at_live;
-- The campaign goes live, then ends; each time the tee changes for shoppers.
SELECT staging.advance('2035-11-23 00:00:30+00') = :rename AS campaign_live;
SELECT * FROM shop;
SELECT consume() AS changed_going_live;
SELECT staging.advance('2035-11-27 00:00+00') > :rename AS campaign_ended;
SELECT * FROM shop;
SELECT consume() AS changed_at_end;
SELECT staging.drop_changelog('wi_names');
SELECT count(*) AS problems FROM staging.verify('catalog_product_entity');

-- Clean up: the live version goes back to the beginning for later tests.
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
SET client_min_messages = warning;
DROP SCHEMA wi CASCADE;
