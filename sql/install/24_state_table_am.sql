-- State (see sql/install/README): the table access method of versioned
-- tables; its comment and the functions that switch tables to it are in
-- 25_table_am.sql.
CREATE ACCESS METHOD staging TYPE TABLE HANDLER staging._table_am_handler;
