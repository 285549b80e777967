-- Two changelogs, filled directly (as the trigger would) by 100
-- transactions each, after their consumer was added.
CREATE TABLE small (entity_id bigint PRIMARY KEY);
CREATE TABLE big (entity_id bigint PRIMARY KEY);
SELECT staging.create_changelog('small', 'small');
SELECT staging.create_changelog('big', 'big');
SELECT staging.add_consumer('small', 'indexer');
SELECT staging.add_consumer('big', 'indexer');
CREATE PROCEDURE fill(log regclass, total bigint) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0..99 LOOP
        EXECUTE format('INSERT INTO %s (entity_id) '
                       'SELECT g %% 5000000 FROM generate_series($1, $2) g', log)
            USING i * total / 100, (i + 1) * total / 100 - 1;
        COMMIT;
    END LOOP;
END
$$;
CALL fill('small_cl', 100000);
CALL fill('big_cl', 10000000);
