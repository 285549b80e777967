-- State (see sql/install/README): the live version and the registry of
-- versioned tables.  Created once; their comments and privileges are in
-- 21_registry.sql.

-- The live version: the start of the most recent update that went live.
CREATE TABLE staging.live_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
INSERT INTO staging.live_state DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('staging.live_state', '');

-- Registrations store regclass, not OIDs, so pg_dump/pg_restore keep them.
CREATE TABLE staging.versioned_table (
    relid          regclass PRIMARY KEY,
    entity_column  name NOT NULL,
    sequence_table regclass NOT NULL,
    saved          jsonb NOT NULL DEFAULT '{}'
);
SELECT pg_catalog.pg_extension_config_dump('staging.versioned_table', '');

CREATE TABLE staging.attribute_table (
    relid         regclass PRIMARY KEY,
    main_table    regclass NOT NULL
                  REFERENCES staging.versioned_table ON DELETE CASCADE,
    entity_column name NOT NULL,
    saved         jsonb NOT NULL DEFAULT '{}'
);
SELECT pg_catalog.pg_extension_config_dump('staging.attribute_table', '');
