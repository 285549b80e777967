-------------------------------------------------------------------------------
-- Progress reports of long operations (src/progress.c)
-------------------------------------------------------------------------------

-- clone_schema, compare_schemas, swap_schemas, enable_versioning and
-- add_attribute_table report their steps through these: a NOTICE
-- "operation: message" (times in its DETAIL) when staging.progress_interval
-- has passed since the last one, and a summary at the end when any step
-- was reported.  They only print, so PUBLIC may execute them.
CREATE OR REPLACE FUNCTION staging._progress_begin(operation text) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_progress_begin';
COMMENT ON FUNCTION staging._progress_begin(text) IS
    'Starts the clock of a long operation whose steps staging._progress() reports.';

CREATE OR REPLACE FUNCTION staging._progress(operation text, message text) RETURNS boolean
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_progress';
COMMENT ON FUNCTION staging._progress(text, text) IS
    'A step of a long operation finished: NOTICE "operation: message" when staging.progress_interval has passed '
    'since the last report (0: always, -1: never); returns whether it reported.';

CREATE OR REPLACE FUNCTION staging._progress_end(operation text, summary text) RETURNS void
    LANGUAGE c STRICT
    AS 'MODULE_PATHNAME', 'staging_progress_end';
COMMENT ON FUNCTION staging._progress_end(text, text) IS
    'A long operation finished: NOTICE "operation: summary" when any of its steps was reported.';
