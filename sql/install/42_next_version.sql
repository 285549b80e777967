-------------------------------------------------------------------------------
-- updated_in as the reader may know it (src/hide_next_version.c)
-------------------------------------------------------------------------------

-- Every query's references to updated_in of a versioned main table read
-- through this when the reader may not read every version of it.
CREATE OR REPLACE FUNCTION staging._visible_updated_in(tbl regclass, updated_in bigint) RETURNS bigint
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'staging_visible_updated_in';
COMMENT ON FUNCTION staging._visible_updated_in(regclass, bigint) IS
    'updated_in of a row as the reader may know it: max_version() beyond the live version and now() '
    'for readers without the right to read every version.';
-- Every query of every role may call it: PUBLIC keeps EXECUTE.
GRANT EXECUTE ON FUNCTION staging._visible_updated_in(regclass, bigint) TO PUBLIC;
