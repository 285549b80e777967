/*-------------------------------------------------------------------------
 *
 * run_as_owner.c
 *	  Statements the extension runs on other owners' tables, with the
 *	  rights of each table's owner.
 *
 * The campaign functions (reschedule_update, delete_update, advance and the
 * scheduler that calls it) run as the extension's owner and write every
 * versioned table.  An owner's trigger, default, check or index expression
 * must never run with those rights: each write goes through
 * staging._run_as_owner(), which runs it as PostgreSQL runs VACUUM or
 * REFRESH MATERIALIZED VIEW (see ExecRefreshMatView): as the table's
 * owner, as a security-restricted operation (no SET ROLE, no temporary
 * objects, no session state left behind), under a new GUC nest level with
 * search_path = pg_catalog, pg_temp, undone when the statement ends.
 *
 * The same machinery runs the few statements that functions PUBLIC may
 * execute need: staging._next_entity_id() (the default of entity columns)
 * inserts into the sequence table as its owner after checking that the
 * caller may insert into the main table; staging._changelog_clone()
 * registers subscriptions as the owner of the registry after checking
 * that the caller owns both the source and the clone; and
 * staging._run_as_clone_owner() runs clone_schema's statements on each
 * table of the clone as its owner (the owner of the source table), for a
 * caller who has that owner's privileges, so that the owner's defaults,
 * checks, generated columns and index expressions never run with the
 * caller's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_run_as_owner);
PG_FUNCTION_INFO_V1(staging_next_entity_id);
PG_FUNCTION_INFO_V1(staging_changelog_clone);
PG_FUNCTION_INFO_V1(staging_run_as_clone_owner);

/* The owner of a relation; 42P01 when there is none. */
static Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Run one statement as role, as a security-restricted operation when
 * restricted, under a new GUC nest level with search_path (NULL: the safe
 * pg_catalog, pg_temp) and staging.version = 'all' chosen by that role (so that the statement, and
 * any trigger it fires, reads ahead only where role may).  Returns the
 * first column (an integer) of the first row the statement returns
 * (*isnull when it returns none, or a null); *returns_rows tells whether
 * it is a statement that returns rows, *processed how many it processed.
 */
static int64
run_as(Oid role, bool restricted, const char *search_path, const char *sql,
	   int nargs, Oid *argtypes, Datum *values, const char *nulls,
	   bool *isnull, bool *returns_rows, uint64 *processed)
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	int			ret;
	int64		result = 0;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(role, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path",
							 search_path ? search_path : "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	(void) set_config_option("staging.version", "all",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "staging: SPI_connect failed");
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (ret < 0)
		elog(ERROR, "staging: internal statement failed: %s", SPI_result_code_string(ret));
	*processed = SPI_processed;
	*returns_rows = SPI_tuptable != NULL;
	*isnull = true;
	if (SPI_tuptable != NULL && SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
			result = integer_datum(d, SPI_gettypeid(SPI_tuptable->tupdesc, 1));
	}
	SPI_finish();

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/*
 * SQL: staging._run_as_owner(tbl regclass, query text, params bigint[])
 * -> bigint.  Runs query ($1, $2, ... the elements of params) as the owner
 * of tbl in a security-restricted operation.  Returns the first column of
 * the first row when the query returns rows (SELECT, RETURNING; NULL when
 * none), else the number of rows processed.  Revoked from PUBLIC.
 */
Datum
staging_run_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *sql;
	int			nargs = 0;
	Datum	   *values = NULL;
	bool	   *elem_nulls = NULL;
	char	   *nulls = NULL;
	Oid		   *argtypes = NULL;
	bool		isnull;
	bool		returns_rows;
	uint64		processed;
	int64		result;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._run_as_owner() needs a table and a statement")));
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		ArrayType  *params = PG_GETARG_ARRAYTYPE_P(2);

		if (ARR_NDIM(params) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the parameters of staging._run_as_owner() must be a one-dimensional array")));
		deconstruct_array(params, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &values, &elem_nulls, &nargs);
		nulls = palloc(Max(1, nargs));
		argtypes = palloc(sizeof(Oid) * Max(1, nargs));
		for (i = 0; i < nargs; i++)
		{
			nulls[i] = elem_nulls[i] ? 'n' : ' ';
			argtypes[i] = INT8OID;
		}
	}

	result = run_as(relation_owner(relid), true, NULL, sql, nargs, argtypes, values,
					nulls, &isnull, &returns_rows, &processed);
	if (!returns_rows)
		PG_RETURN_INT64((int64) processed);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(result);
}

/* The schema-qualified, quoted name of a relation. */
static char *
qualified_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
}

/* May role insert rows into a table (into every column, or some)? */
static bool
may_insert(Oid relid, Oid role)
{
	return object_aclcheck(RelationRelationId, relid, role, ACL_INSERT) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(relid, role, ACL_INSERT, ACLMASK_ANY) == ACLCHECK_OK;
}

/*
 * SQL: staging._next_entity_id(sequence_table regclass) -> bigint, the
 * default of a versioned table's entity column: claims the next free id
 * of its sequence table (an id taken by an explicit insert is skipped;
 * concurrent callers never get the same id).  Every role may execute it,
 * so it checks that the caller may insert into a main table that this is
 * the sequence table of, and inserts as the sequence table's owner.
 */
Datum
staging_next_entity_id(PG_FUNCTION_ARGS)
{
	Oid			seq = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Oid			user = GetUserId();
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(seq)};
	bool		registered = false;
	bool		allowed = false;
	char	   *sql;
	Oid			owner;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "staging: SPI_connect failed");
	if (SPI_execute_with_args("SELECT v.relid::pg_catalog.oid FROM staging.versioned_table v "
							  "WHERE v.sequence_table::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "staging: could not read the registry");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			main = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull));

		registered = true;
		if (may_insert(main, user))
			allowed = true;
	}
	SPI_finish();
	if (!registered)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not the sequence table of a versioned table",
						OidIsValid(seq) ? qualified_name(seq) : "NULL")));
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to take a new entity id from sequence table %s",
						qualified_name(seq)),
				 errdetail("New entity ids are for roles that may insert into the versioned table of that sequence table.")));

	sql = psprintf("INSERT INTO %s DEFAULT VALUES ON CONFLICT DO NOTHING RETURNING sequence_value",
				   qualified_name(seq));
	owner = relation_owner(seq);
	for (;;)
	{
		bool		isnull;
		bool		returns_rows;
		uint64		processed;
		int64		id = run_as(owner, true, NULL, sql, 0, NULL, NULL, NULL,
								&isnull, &returns_rows, &processed);

		if (!isnull)
			PG_RETURN_INT64(id);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * SQL: staging._changelog_clone(source oid, target oid): subscribes the
 * tables of a fresh clone (relations this transaction created in schema
 * target) to the changelogs of their namesakes in schema source, as
 * staging.clone_schema() needs.  Every role may execute it: it refuses
 * (42501, nothing subscribed) unless the caller is a member of the owner
 * of each such source table and of its clone, and it writes the registry
 * as the registry's owner.
 */
Datum
staging_changelog_clone(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {OIDOID, OIDOID, OIDOID};
	Datum		values[3];
	Oid			registry;
	bool		isnull;
	bool		returns_rows;
	uint64		processed;
	const char *candidates =
		"FROM staging.changelog_subscription s "
		"JOIN pg_catalog.pg_class k ON k.oid = s.tbl AND k.relnamespace = $1 "
		"CROSS JOIN LATERAL (SELECT staging._clone_of(s.tbl, $1, $2) AS clone) c "
		"JOIN pg_catalog.pg_class t ON t.oid = c.clone "
		"WHERE c.clone <> s.tbl AND staging._created_in_this_transaction(c.clone) ";

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._changelog_clone() needs a source and a target schema")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = ObjectIdGetDatum(GetUserId());
	registry = get_relname_relid("changelog_subscription", staging_schema_oid());
	if (!OidIsValid(registry))
		elog(ERROR, "staging: no table staging.changelog_subscription");

	/* The first clone the caller may not subscribe, if any. */
	(void) run_as(relation_owner(registry), true, NULL,
				  psprintf("SELECT s.tbl::oid::bigint %s"
						   "AND NOT (pg_has_role($3, k.relowner, 'USAGE') "
						   "AND pg_has_role($3, t.relowner, 'USAGE')) LIMIT 1", candidates),
				  3, argtypes, values, NULL, &isnull, &returns_rows, &processed);
	if (processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to subscribe the clones of the tables of schema %s to their changelogs",
						get_namespace_name(DatumGetObjectId(values[0]))),
				 errdetail("Only a member of the owners of a subscribed table and of its clone subscribes the clone.")));
	(void) run_as(relation_owner(registry), true, NULL,
				  psprintf("INSERT INTO staging.changelog_subscription (changelog, tbl, columns) "
						   "SELECT s.changelog, c.clone, s.columns %s"
						   "ON CONFLICT DO NOTHING", candidates),
				  3, argtypes, values, NULL, &isnull, &returns_rows, &processed);
	PG_RETURN_VOID();
}

/*
 * SQL: staging._run_as_clone_owner(tbl regclass, query text, search_path
 * text) -> bigint: staging.clone_schema() runs each statement that fills
 * or defines a table of the clone (rows, keys, indexes, foreign keys,
 * triggers) through this, as the owner of that table, in a
 * security-restricted operation, with the given search_path (the
 * definitions name the clone's objects unqualified).  The expressions
 * such a statement runs are the owner's: they must not run with the
 * rights of whoever clones the schema.  Every role may execute it: the
 * caller must have the privileges of the table's owner, so it gains
 * nothing by it (42501 otherwise).  Returns what _run_as_owner returns.
 */
Datum
staging_run_as_clone_owner(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			owner;
	char	   *sql;
	char	   *search_path;
	bool		isnull;
	bool		returns_rows;
	uint64		processed;
	int64		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._run_as_clone_owner() needs a table, a statement and a search_path")));
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	search_path = text_to_cstring(PG_GETARG_TEXT_PP(2));
	owner = relation_owner(relid);
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run a statement as the owner of %s",
						qualified_name(relid)),
				 errdetail("Only roles with the privileges of the owner of a table run statements on it as its owner.")));
	result = run_as(owner, true, search_path, sql, 0, NULL, NULL, NULL,
					&isnull, &returns_rows, &processed);
	if (!returns_rows)
		PG_RETURN_INT64((int64) processed);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(result);
}
