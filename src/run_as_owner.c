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
 * caller may insert into the main table, and so does the trigger
 * staging._register_entity() for explicit ids (both through statements
 * prepared once per sequence table: they run once per row of a load);
 * staging._changelog_clone() registers subscriptions as the owner of the
 * registry after checking that the caller owns both the source and the
 * clone; and
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
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_run_as_owner);
PG_FUNCTION_INFO_V1(staging_owner_jsonb);
PG_FUNCTION_INFO_V1(staging_next_entity_id);
PG_FUNCTION_INFO_V1(staging_register_entity);
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

/* What as_begin() changed, for as_end() to put back. */
typedef struct AsRole
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} AsRole;

/*
 * Become role, as a security-restricted operation when restricted, under
 * a new GUC nest level with search_path (NULL: the safe pg_catalog,
 * pg_temp) and staging.version = 'all' chosen for that role (so that the
 * statements, and the triggers they fire, read ahead only where role may;
 * code running as another role inside them, where that role may),
 * connected to SPI.  An error on the way is undone by the (sub)transaction's
 * abort, as for a SECURITY DEFINER function.
 */
static void
as_begin(Oid role, bool restricted, const char *search_path, AsRole *st)
{
	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(role, st->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));
	st->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path",
							 search_path ? search_path : "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	staging_set_version_for_role("all");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "staging: SPI_connect failed");
}

/* Back from as_begin(): the caller's role, settings and SPI state. */
static void
as_end(AsRole *st)
{
	SPI_finish();
	AtEOXact_GUC(false, st->save_nestlevel);
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}

/*
 * The first column (an integer) of the first row of the statement just
 * run through SPI (*isnull when it returned none, or a null).
 */
static int64
first_integer(bool *isnull)
{
	*isnull = true;
	if (SPI_tuptable != NULL && SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
			return integer_datum(d, SPI_gettypeid(SPI_tuptable->tupdesc, 1));
	}
	return 0;
}

/*
 * Run one statement as role (see as_begin).  Returns the first column (an
 * integer) of the first row the statement returns (*isnull when it
 * returns none, or a null); *returns_rows tells whether it is a statement
 * that returns rows, *processed how many it processed.
 */
static int64
run_as(Oid role, bool restricted, const char *search_path, const char *sql,
	   int nargs, Oid *argtypes, Datum *values, const char *nulls,
	   bool *isnull, bool *returns_rows, uint64 *processed)
{
	AsRole		st;
	int			ret;
	int64		result;

	as_begin(role, restricted, search_path, &st);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (ret < 0)
		elog(ERROR, "staging: internal statement failed: %s", SPI_result_code_string(ret));
	*processed = SPI_processed;
	*returns_rows = SPI_tuptable != NULL;
	result = first_integer(isnull);
	as_end(&st);
	return result;
}

/*
 * The bigint[] of parameters that _run_as_owner and _owner_jsonb take, as
 * SPI arguments: *nargs values of type int8, nulls marked 'n'.
 */
static void
int8_params(ArrayType *params, const char *function, int *nargs, Datum **values,
			char **nulls, Oid **argtypes)
{
	bool	   *elem_nulls;

	if (ARR_NDIM(params) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the parameters of %s must be a one-dimensional array", function)));
	deconstruct_array(params, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  values, &elem_nulls, nargs);
	*nulls = palloc(Max(1, *nargs));
	*argtypes = palloc(sizeof(Oid) * Max(1, *nargs));
	for (int i = 0; i < *nargs; i++)
	{
		(*nulls)[i] = elem_nulls[i] ? 'n' : ' ';
		(*argtypes)[i] = INT8OID;
	}
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
	char	   *nulls = NULL;
	Oid		   *argtypes = NULL;
	bool		isnull;
	bool		returns_rows;
	uint64		processed;
	int64		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._run_as_owner() needs a table and a statement")));
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		int8_params(PG_GETARG_ARRAYTYPE_P(2), "staging._run_as_owner()", &nargs, &values,
					&nulls, &argtypes);

	result = run_as(relation_owner(relid), true, NULL, sql, nargs, argtypes, values,
					nulls, &isnull, &returns_rows, &processed);
	if (!returns_rows)
		PG_RETURN_INT64((int64) processed);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(result);
}

/*
 * Run a query that returns one jsonb column as role (see as_begin) and
 * return its values, in the caller's memory context, as a jsonb[].
 */
static ArrayType *
jsonb_rows_as(Oid role, const char *sql, int nargs, Oid *argtypes, Datum *values,
			  const char *nulls)
{
	MemoryContext outer = CurrentMemoryContext;
	AsRole		st;
	int			ret;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			dims[1];
	int			lbs[1] = {1};
	ArrayType  *result;

	as_begin(role, true, NULL, &st);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, true, 0);
	if (ret != SPI_OK_SELECT || SPI_tuptable == NULL ||
		SPI_tuptable->tupdesc->natts != 1 ||
		SPI_gettypeid(SPI_tuptable->tupdesc, 1) != JSONBOID)
		elog(ERROR, "staging: internal query must return one jsonb column: %s", sql);
	MemoryContextSwitchTo(outer);
	dims[0] = (int) SPI_processed;
	elems = palloc(sizeof(Datum) * Max(1, dims[0]));
	elem_nulls = palloc(sizeof(bool) * Max(1, dims[0]));
	for (int i = 0; i < dims[0]; i++)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
									  &elem_nulls[i]);

		elems[i] = elem_nulls[i] ? (Datum) 0 : datumCopy(d, false, -1);
	}
	result = construct_md_array(elems, elem_nulls, 1, dims, lbs, JSONBOID, -1, false,
								TYPALIGN_INT);
	as_end(&st);
	MemoryContextSwitchTo(outer);
	return result;
}

/*
 * The extension's own code (the write model, which runs as the
 * extension's owner) sees the rows of users' tables only as jsonb made by
 * this: to_jsonb calls the casts to json of the column types (their
 * owners' code), so the rows are converted as the table's owner, in a
 * security-restricted operation, never with the extension owner's rights.
 *
 * owner_row_jsonb: one row (a composite datum of the table's row type).
 */
Datum
owner_row_jsonb(Oid relid, Datum row, Oid rowtype)
{
	ArrayType  *rows = jsonb_rows_as(relation_owner(relid), "SELECT pg_catalog.to_jsonb($1)",
									 1, &rowtype, &row, NULL);
	bool		isnull;
	int			index = 1;
	Datum		result = array_get_element(PointerGetDatum(rows), 1, &index, -1, -1, false,
										   TYPALIGN_INT, &isnull);

	if (isnull)
		elog(ERROR, "staging: a row converted to null");
	return result;
}

/*
 * SQL: staging._owner_jsonb(tbl regclass, query text, params bigint[]) ->
 * jsonb[]: the values of query ($n: params[n]), which returns one jsonb
 * column (pg_catalog.to_jsonb(t) of rows of tbl), run as the owner of tbl
 * in a security-restricted operation (see above).  Revoked from PUBLIC.
 */
Datum
staging_owner_jsonb(PG_FUNCTION_ARGS)
{
	int			nargs = 0;
	Datum	   *values = NULL;
	char	   *nulls = NULL;
	Oid		   *argtypes = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._owner_jsonb() needs a table and a query")));
	if (!PG_ARGISNULL(2))
		int8_params(PG_GETARG_ARRAYTYPE_P(2), "staging._owner_jsonb()", &nargs, &values,
					&nulls, &argtypes);
	PG_RETURN_ARRAYTYPE_P(jsonb_rows_as(relation_owner(PG_GETARG_OID(0)),
										text_to_cstring(PG_GETARG_TEXT_PP(1)),
										nargs, argtypes, values, nulls));
}

/*
 * The schema-qualified, quoted name of a relation, for SQL text and
 * messages; an error when it is gone.
 */
char *
relation_qualified_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
}

/* May role insert (update) rows of a table, into every column or some? */
static bool
may_write_rows(Oid relid, Oid role, AclMode mode)
{
	return object_aclcheck(RelationRelationId, relid, role, mode) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(relid, role, mode, ACLMASK_ANY) == ACLCHECK_OK;
}

/*
 * The statements that add entity ids to a sequence table, prepared once
 * per sequence table and session (as its owner, under the safe
 * search_path, names quoted and qualified) and again once the
 * registrations changed: a bulk load adds one id per row, and planning
 * an INSERT per row cost more than the row itself.
 */
typedef struct SequencePlans
{
	Oid			seq;			/* hash key: the sequence table */
	uint64		generation;		/* registry_generation() when prepared */
	SPIPlanPtr	claim;			/* INSERT $1 rows of defaults ... RETURNING ids */
	SPIPlanPtr	add;			/* INSERT the id $1 */
	SPIPlanPtr	release;		/* DELETE the ids of the array $1 */
} SequencePlans;

static HTAB *sequence_plans = NULL;
static uint64 sequence_plans_swept = 0;	/* see forget_dropped_relations() */

/*
 * The last id this backend added to a sequence table, and the
 * (sub)transaction that added it: until it ends, that entity is new (the
 * id was in no row of the sequence table, so the versioned table holds no
 * row of it: its foreign key to the sequence table says so).
 */
static Oid	claimed_seq = InvalidOid;
static int64 claimed_id = 0;
static TransactionId claimed_xid = InvalidTransactionId;

/*
 * Did the current (sub)transaction just add id to sequence table seq?
 * The triggers of the versioned table skip what a new entity does not
 * need (registering it again, looking for its other versions).  A false
 * "no" only costs that work; a "yes" is true because the sequence table's
 * unique key and the foreign key to it stand behind it.  With consume,
 * the answer is for one row: the write trigger of the row that took the
 * id consumes it, so that a later row with the same id in the same
 * transaction (after the first one moved or went) is looked at in full.
 */
bool
entity_id_claimed(Oid seq, int64 id, bool consume)
{
	bool		claimed = OidIsValid(claimed_seq) && claimed_seq == seq &&
		claimed_id == id && TransactionIdIsValid(claimed_xid) &&
		TransactionIdEquals(claimed_xid, GetCurrentTransactionIdIfAny());

	if (claimed && consume)
		claimed_seq = InvalidOid;
	return claimed;
}

/* Remember (or, with InvalidOid, forget) the id last added to seq. */
static void
remember_claim(Oid seq, int64 id)
{
	claimed_seq = seq;
	claimed_id = id;
	claimed_xid = OidIsValid(seq) ? GetCurrentTransactionIdIfAny() : InvalidTransactionId;
}

/*
 * Prepare and keep one statement for the session (connected to SPI): the
 * statements the extension runs on users' tables as their owners.
 */
SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "staging: could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "staging: could not keep a prepared statement");
	return plan;
}

/*
 * Sweep a backend-local hash of prepared statements, keyed by the OID of a
 * table (the first field of each entry), for tables dropped since the
 * registry last changed: a session that outlives many clones, swaps and
 * dropped copies would keep their statements.  (A dropped table has no
 * statement running.)  *swept holds the registry generation of the last
 * sweep; forget frees what an entry holds.
 */
void
forget_dropped_relations(HTAB *hash, uint64 *swept, void (*forget) (void *entry))
{
	HASH_SEQ_STATUS status;
	void	   *entry;

	if (hash == NULL || *swept == registry_generation())
		return;
	*swept = registry_generation();
	hash_seq_init(&status, hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Oid			relid = *(Oid *) entry;

		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			continue;
		forget(entry);
		hash_search(hash, &relid, HASH_REMOVE, NULL);
	}
}

/*
 * A sequence table's statements, freed: the table was dropped
 * (forget_dropped_relations() callback) or the registrations changed.
 */
static void
forget_sequence_plans(void *entry)
{
	SequencePlans *p = (SequencePlans *) entry;

	if (p->claim)
		SPI_freeplan(p->claim);
	if (p->add)
		SPI_freeplan(p->add);
	if (p->release)
		SPI_freeplan(p->release);
}

/*
 * The prepared statements of a sequence table (those not prepared yet are
 * NULL).  Called as its owner, connected to SPI.
 */
static SequencePlans *
plans_of_sequence(Oid seq)
{
	SequencePlans *p;
	bool		found;

	if (sequence_plans == NULL)
		sequence_plans = blob_hash_create("staging sequence table plans", 16, sizeof(Oid),
										  sizeof(SequencePlans), TopMemoryContext);
	forget_dropped_relations(sequence_plans, &sequence_plans_swept, forget_sequence_plans);
	p = hash_search(sequence_plans, &seq, HASH_ENTER, &found);
	if (found && p->generation != registry_generation())
	{
		forget_sequence_plans(p);
		found = false;
	}
	if (!found)
	{
		p->generation = registry_generation();
		p->claim = NULL;
		p->add = NULL;
		p->release = NULL;
	}
	return p;
}

/*
 * Ids claimed ahead.  A bulk INSERT or COPY of new entities would add one
 * row to the sequence table per row, each an executor run of its own;
 * while such a statement runs (between the BEFORE and AFTER STATEMENT
 * triggers of an INSERT into the versioned table: claims_statement_begin()
 * and claims_statement_end()), ids are claimed in blocks that double up
 * to CLAIM_AHEAD_MAX, one INSERT of the block's rows, and handed out one by
 * one.  They are rows of the sequence table that this subtransaction
 * added and no row uses yet: an abort takes them back with the rows (the
 * subtransaction callback forgets them), and the end of the statement
 * deletes those not handed out, so that the sequence table holds the ids
 * of entities only.  Ids are only ever handed out in the subtransaction
 * that holds them (a committed subtransaction's pass to its parent), and
 * one that a row gives explicitly is taken out (claims_take()).
 */
#define CLAIM_AHEAD_MAX 64

typedef struct ClaimedAhead
{
	Oid			seq;			/* their sequence table; InvalidOid: none */
	SubTransactionId subid;		/* the subtransaction that holds them */
	int			next;			/* ids[next .. count - 1] are not handed out */
	int			count;
	int			block;			/* size of the last block claimed */
	int64		ids[CLAIM_AHEAD_MAX];
} ClaimedAhead;

static ClaimedAhead ahead;

/* The sequence table of the versioned table a running INSERT loads. */
static Oid	loading_seq = InvalidOid;

/*
 * Claim up to n free ids of a sequence table as its owner, into ids: its
 * identity gives the next values, and one an explicit insert took
 * already is skipped (ON CONFLICT DO NOTHING returns no row for it; when
 * every one was taken, try again).  Returns how many, at least one.
 */
static int
claim_block(Oid seq, int n, int64 *ids)
{
	AsRole		st;
	SequencePlans *p;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(n)};
	uint64		i;

	as_begin(relation_owner(seq), true, NULL, &st);
	p = plans_of_sequence(seq);
	if (p->claim == NULL)
		p->claim = keep_plan(psprintf("INSERT INTO %s SELECT FROM pg_catalog.generate_series(1, $1) "
									  "ON CONFLICT DO NOTHING RETURNING sequence_value",
									  relation_qualified_name(seq)),
							 1, argtypes);
	for (;;)
	{
		if (SPI_execute_plan(p->claim, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "staging: could not claim an entity id of %s", relation_qualified_name(seq));
		if (SPI_processed > 0)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	for (i = 0; i < SPI_processed && i < (uint64) n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			elog(ERROR, "staging: a null entity id in %s", relation_qualified_name(seq));
		ids[i] = integer_datum(d, SPI_gettypeid(SPI_tuptable->tupdesc, 1));
	}
	as_end(&st);
	return (int) i;
}

/*
 * The next free id of a sequence table, claimed for the current
 * subtransaction: from the ids claimed ahead, or a new block of them.
 */
static int64
claim_entity_id(Oid seq)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	bool		mine = ahead.seq == seq && ahead.subid == subid;
	int64		id;

	if (!mine || ahead.next >= ahead.count)
	{
		if (ahead.next < ahead.count || seq != loading_seq)
		{
			/*
			 * One id: no load runs, or the ids ahead are another table's or
			 * another subtransaction's (they stay for it).
			 */
			(void) claim_block(seq, 1, &id);
			remember_claim(seq, id);
			return id;
		}
		ahead.block = mine ? Min(ahead.block * 2, CLAIM_AHEAD_MAX) : 1;
		ahead.seq = seq;
		ahead.subid = subid;
		ahead.next = 0;
		ahead.count = claim_block(seq, ahead.block, ahead.ids);
	}
	id = ahead.ids[ahead.next++];
	remember_claim(seq, id);
	return id;
}

/*
 * Take an id that a row gives explicitly out of the ids claimed ahead, if
 * there: it is used now (and the row is the first of a new entity).
 */
bool
claims_take(Oid seq, int64 id)
{
	int			i;

	if (ahead.seq != seq)
		return false;
	for (i = ahead.next; i < ahead.count; i++)
	{
		if (ahead.ids[i] != id)
			continue;
		ahead.ids[i] = ahead.ids[ahead.next++];
		return true;
	}
	return false;
}

/*
 * BEFORE STATEMENT of an INSERT (or COPY) into the versioned table of
 * sequence table seq: new ids may be claimed in blocks until it ends.
 */
void
claims_statement_begin(Oid seq)
{
	loading_seq = seq;
}

/*
 * AFTER STATEMENT of such an INSERT: the ids claimed ahead and not handed
 * out leave the sequence table again.
 */
void
claims_statement_end(Oid seq)
{
	AsRole		st;
	SequencePlans *p;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1];
	Datum	   *ids;
	int			n;
	int			i;

	if (loading_seq == seq)
		loading_seq = InvalidOid;
	if (ahead.seq != seq || ahead.subid != GetCurrentSubTransactionId())
		return;
	n = ahead.count - ahead.next;
	ids = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		ids[i] = Int64GetDatum(ahead.ids[ahead.next + i]);
	ahead.seq = InvalidOid;
	ahead.next = ahead.count = 0;
	if (n <= 0)
		return;
	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	as_begin(relation_owner(seq), true, NULL, &st);
	p = plans_of_sequence(seq);
	if (p->release == NULL)
		p->release = keep_plan(psprintf("DELETE FROM %s WHERE sequence_value OPERATOR(pg_catalog.=) ANY ($1)",
										relation_qualified_name(seq)),
							   1, argtypes);
	if (SPI_execute_plan(p->release, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "staging: could not give back entity ids of %s", relation_qualified_name(seq));
	as_end(&st);
}

/*
 * A subtransaction ends: the ids claimed ahead in one that aborts are
 * gone with its rows; those of one that commits pass to its parent.
 */
void
claims_subxact_event(SubXactEvent event, SubTransactionId subid, SubTransactionId parent)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		loading_seq = InvalidOid;
		if (ahead.subid == subid)
		{
			ahead.seq = InvalidOid;
			ahead.next = ahead.count = 0;
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB && ahead.subid == subid)
		ahead.subid = parent;
}

/* The transaction ends: nothing is claimed ahead any more. */
void
claims_xact_end(XactEvent event)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		loading_seq = InvalidOid;
		ahead.seq = InvalidOid;
		ahead.next = ahead.count = 0;
	}
}

/*
 * Add an explicit entity id to a sequence table as its owner (an id
 * already there is left alone).
 */
static void
add_entity_id(Oid seq, int64 id)
{
	AsRole		st;
	SequencePlans *p;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	uint64		added;

	as_begin(relation_owner(seq), true, NULL, &st);
	p = plans_of_sequence(seq);
	if (p->add == NULL)
		p->add = keep_plan(psprintf("INSERT INTO %s (sequence_value) VALUES ($1) "
									"ON CONFLICT DO NOTHING", relation_qualified_name(seq)),
						   1, argtypes);
	if (SPI_execute_plan(p->add, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "staging: could not register entity " INT64_FORMAT " in %s", id,
			 relation_qualified_name(seq));
	added = SPI_processed;
	as_end(&st);
	if (added == 0 && claims_take(seq, id))
		added = 1;
	remember_claim(added == 1 ? seq : InvalidOid, id);
}

/*
 * SQL: staging._next_entity_id(sequence_table regclass) -> bigint, the
 * default of a versioned table's entity column: claims the next free id
 * of its sequence table (an id taken by an explicit insert is skipped;
 * concurrent callers never get the same id).  Every role may execute it,
 * so it checks that the caller may insert into a main table that this is
 * the sequence table of (read from the registry's cache), and inserts as
 * the sequence table's owner.
 */
Datum
staging_next_entity_id(PG_FUNCTION_ARGS)
{
	Oid			seq = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	bool		registered;
	bool		allowed;

	allowed = registry_sequence_of_insertable(seq, GetUserId(), &registered);
	if (!registered)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not the sequence table of a versioned table",
						OidIsValid(seq) ? relation_qualified_name(seq) : "NULL")));
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to take a new entity id from sequence table %s",
						relation_qualified_name(seq)),
				 errdetail("New entity ids are for roles that may insert into the versioned table of that sequence table."),
				 errhint("Grant INSERT on the versioned table to the role.")));
	PG_RETURN_INT64(claim_entity_id(seq));
}

/*
 * Trigger staging._register_entity(), BEFORE INSERT OR UPDATE OF the
 * entity column of a versioned main table: an explicit new entity id is
 * added to the sequence table as its owner (an id already there is left
 * alone).  A row whose id the column default just claimed, and a row
 * the write triggers write for an entity they found (writes_internal()),
 * cost nothing more.  Whoever writes the row must be allowed to insert or update rows
 * of the table (42501 otherwise: the trigger function is no way around
 * the table's privileges).
 */
Datum
staging_register_entity(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	Oid			relid;
	Oid			user;
	Oid			type;
	Datum		d;
	bool		isnull;
	int64		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		elog(ERROR, "staging._register_entity() must be a BEFORE INSERT OR UPDATE row trigger");
	rel = td->tg_relation;
	relid = RelationGetRelid(rel);
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	/* the write triggers' own rows (history copies, layouts): known entities */
	if (writes_internal())
		return PointerGetDatum(tuple);
	vr = registry_lookup(relid);
	if (vr == NULL || vr->kind != VERSIONED_MAIN || !OidIsValid(vr->sequence_relid) ||
		vr->entity_attno == InvalidAttrNumber)
		return PointerGetDatum(tuple);
	d = heap_getattr(tuple, vr->entity_attno, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* NOT NULL says no */
	type = TupleDescAttr(desc, vr->entity_attno - 1)->atttypid;
	id = integer_datum(d, type);
	if (entity_id_claimed(vr->sequence_relid, id, false))
		return PointerGetDatum(tuple);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		Datum		o = heap_getattr(td->tg_trigtuple, vr->entity_attno, desc, &isnull);

		if (!isnull && integer_datum(o, type) == id)
			return PointerGetDatum(tuple);	/* the entity keeps its id */
	}
	user = GetUserId();
	if (!may_write_rows(relid, user, TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? ACL_UPDATE : ACL_INSERT))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to register entity " INT64_FORMAT " of table %s", id,
						relation_qualified_name(relid)),
				 errhint("Grant INSERT (and UPDATE, to change an entity's id) on the table to the role.")));
	add_entity_id(vr->sequence_relid, id);
	return PointerGetDatum(tuple);
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
				 errdetail("Only a member of the owners of a subscribed table and of its clone subscribes the clone."),
				 errhint("Clone the schema as a role with the privileges of every owner of its tables.")));
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
 * definitions name the clone's objects unqualified);
 * staging.add_attribute_table() and staging.disable_versioning() the rows
 * they write and what they restore from the registry.  The expressions
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
						relation_qualified_name(relid)),
				 errdetail("Only roles with the privileges of the owner of a table run statements on it as its owner.")));
	result = run_as(owner, true, search_path, sql, 0, NULL, NULL, NULL,
					&isnull, &returns_rows, &processed);
	if (!returns_rows)
		PG_RETURN_INT64((int64) processed);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(result);
}
