
-- The record of versioned writes: which fields of which entity each write
-- set, at which version, for whom (see 63_write_model.sql).  One row per
-- field written: a main column (field = its name), the entity's existence
-- (field = '$exists'), or one attribute row (attribute_table set, field =
-- the row's key as jsonb text; '*' = every key, which an INSERT of the
-- entity clears).  owner is the update the write belongs to (its id), or
-- 0 for a live edit; position the version it is at; seq orders writes at
-- one position.  value is the field's value as jsonb (for an attribute
-- row, its value columns; NULL: the row is absent).
CREATE SEQUENCE staging.field_writes_seq;
CREATE TABLE staging.field_writes (
    seq bigint NOT NULL DEFAULT pg_catalog.nextval('staging.field_writes_seq') PRIMARY KEY,
    main_table regclass NOT NULL,
    entity_id bigint NOT NULL,
    owner bigint NOT NULL,
    position bigint NOT NULL,
    attribute_table regclass,
    field text NOT NULL,
    value jsonb
);
CREATE INDEX field_writes_entity ON staging.field_writes (main_table, entity_id);
CREATE INDEX field_writes_owner ON staging.field_writes (owner) WHERE owner <> 0;
SELECT pg_catalog.pg_extension_config_dump('staging.field_writes', '');
-- field_writes_seq is not dumped: a restore of field_writes moves it past
-- the restored rows (trigger field_writes_seq_sync, 95_restore.sql).
