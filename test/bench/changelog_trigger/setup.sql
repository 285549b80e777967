-- A versioned main table (10k entities, one live row each) registered by
-- hand, and three attribute tables of 1M rows (100 per row): one without
-- trigger, one subscribed to a changelog (C trigger), one with a
-- Magento-style PL/pgSQL trigger logging into a Magento-style _cl table.
CREATE TABLE sequence_item (sequence_value bigint PRIMARY KEY);
CREATE TABLE item (row_id bigint PRIMARY KEY, entity_id bigint NOT NULL,
                   created_in bigint NOT NULL, updated_in bigint NOT NULL);
INSERT INTO item SELECT g, g, 1, staging.max_version() FROM generate_series(1, 10000) g;
INSERT INTO staging.versioned_table VALUES ('item', 'entity_id', 'sequence_item');

CREATE TABLE attr_none (value_id bigint PRIMARY KEY, row_id bigint NOT NULL REFERENCES item,
                        attribute_id int NOT NULL, value numeric(12,2));
INSERT INTO attr_none SELECT g, (g - 1) / 100 + 1, g % 100, 1 FROM generate_series(1, 1000000) g;
CREATE TABLE attr_c (LIKE attr_none INCLUDING ALL);
INSERT INTO attr_c SELECT * FROM attr_none;
CREATE TABLE attr_plpgsql (LIKE attr_none INCLUDING ALL);
INSERT INTO attr_plpgsql SELECT * FROM attr_none;
INSERT INTO staging.attribute_table VALUES ('attr_c', 'item', 'entity_id'),
                                           ('attr_plpgsql', 'item', 'entity_id');

-- The C trigger.
SELECT staging.create_changelog('item_idx', 'item');
SELECT staging.subscribe('item_idx', 'attr_c', ARRAY['value']);

-- Magento's mview trigger: on a real change of the watched column, insert
-- the entity of the row (looked up by row_id) into the _cl table.
CREATE TABLE item_magento_cl (version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                              entity_id bigint NOT NULL);
CREATE FUNCTION magento_cl_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.value IS NOT DISTINCT FROM OLD.value
       AND NEW.row_id = OLD.row_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO item_magento_cl (entity_id)
        VALUES ((SELECT entity_id FROM item WHERE row_id = NEW.row_id));
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.row_id <> OLD.row_id) THEN
        INSERT INTO item_magento_cl (entity_id)
        VALUES ((SELECT entity_id FROM item WHERE row_id = OLD.row_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER item_magento_cl AFTER INSERT OR UPDATE OR DELETE ON attr_plpgsql
    FOR EACH ROW EXECUTE FUNCTION magento_cl_trigger();

-- The changelog row count: an UPDATE of 1M attribute rows changing 10k
-- entities writes at most 10k changelog rows (fails the benchmark if not).
UPDATE attr_c SET value = value + 1;
DO $$
DECLARE
    n bigint := (SELECT count(*) FROM item_idx_cl);
BEGIN
    RAISE NOTICE 'UPDATE of 1M attribute rows of 10k entities wrote % changelog rows', n;
    IF n > 10000 THEN
        RAISE EXCEPTION 'the C trigger wrote % changelog rows for 10k entities', n;
    END IF;
END
$$;
