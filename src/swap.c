/*-------------------------------------------------------------------------
 *
 * swap.c
 *	  The lock acquisition of staging.swap_schemas().
 *
 * The swap itself (three ALTER SCHEMA ... RENAME in one transaction) and
 * its checks are PL/pgSQL in the install script; what needs C is taking
 * the locks without ever making readers queue behind us for long:
 *
 *	- every attempt locks the two schemas (so that nothing is created in
 *	  them meanwhile), then every table, sequence and view in them, in
 *	  ACCESS EXCLUSIVE mode, with lock_timeout set to what is left of the
 *	  attempt: a waiting ACCESS EXCLUSIVE request blocks every reader that
 *	  queues behind it, so the whole attempt, not each lock, is bounded by
 *	  the caller's lock_timeout;
 *	- a failed attempt is rolled back as a subtransaction, which releases
 *	  the locks it took, and retried after a short randomised sleep that
 *	  lets the queued readers run, until max_wait has passed; then 55P03.
 *
 * A successful call also remembers, for the rest of the transaction,
 * which schemas it locked: staging._swap_locked() lets the SECURITY
 * DEFINER function that records the invalidation check that the caller
 * really locked (and so owns) the schemas of the swap it reports.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(staging_swap_lock);
PG_FUNCTION_INFO_V1(staging_swap_locked);
PG_FUNCTION_INFO_V1(staging_created_in_this_transaction);

/* Longest sleep between two attempts, in milliseconds. */
#define SWAP_MAX_BACKOFF_MS 200

/* The schemas the current transaction locked for a swap, if any. */
static LocalTransactionId locked_lxid = InvalidLocalTransactionId;
static Oid	locked_schemas[2];

/* Relation locked last, for the error message when we give up. */
static Oid	waited_relid = InvalidOid;

/*
 * OIDs of the relations in a schema that readers and writers open by
 * name: tables, partitioned tables, sequences, views, materialized views
 * and foreign tables (indexes and TOAST tables follow their table).
 */
static List *
schema_relations(Oid nspid)
{
	List	   *result = NIL;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	ScanKeyInit(&key, Anum_pg_class_relnamespace, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(nspid));
	rel = table_open(RelationRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	while ((tuple = systable_getnext(scan)) != NULL)
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		switch (form->relkind)
		{
			case RELKIND_RELATION:
			case RELKIND_PARTITIONED_TABLE:
			case RELKIND_SEQUENCE:
			case RELKIND_VIEW:
			case RELKIND_MATVIEW:
			case RELKIND_FOREIGN_TABLE:
				result = lappend_oid(result, form->oid);
				break;
			default:
				break;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	list_sort(result, list_oid_cmp);	/* one order for every swap */
	return result;
}

/*
 * Set lock_timeout to the milliseconds left until the deadline (at least
 * one: 0 would mean "wait forever").
 */
static void
limit_lock_wait(TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
													 deadline);

	LockTimeout = (int) Max(ms, 1);
}

/*
 * One attempt: lock both schemas and everything in them before the
 * deadline.  Runs in a subtransaction; on a lock timeout (or a deadlock
 * with a reader) the subtransaction is rolled back, releasing what it
 * locked, and false is returned.  Other errors propagate.
 */
static bool
try_lock_schemas(const Oid schemas[2], TimestampTz deadline)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int			save_lock_timeout = LockTimeout;
	volatile bool locked = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);

	PG_TRY();
	{
		int			i;

		for (i = 0; i < 2; i++)
		{
			limit_lock_wait(deadline);
			waited_relid = InvalidOid;
			LockDatabaseObject(NamespaceRelationId, schemas[i], 0,
							   AccessExclusiveLock);
		}
		/* Nothing can be created in the schemas now: list what is there. */
		for (i = 0; i < 2; i++)
		{
			List	   *relids = schema_relations(schemas[i]);
			ListCell   *lc;

			foreach(lc, relids)
			{
				waited_relid = lfirst_oid(lc);
				limit_lock_wait(deadline);
				LockRelationOid(waited_relid, AccessExclusiveLock);
			}
			list_free(relids);
		}
		LockTimeout = save_lock_timeout;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		locked = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		LockTimeout = save_lock_timeout;
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;

		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE &&
			edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();

	return locked;
}

/*
 * Sleep between attempts: growing with the attempts, randomised so that
 * two swaps do not retry in step, never past the deadline.
 */
static void
backoff(int attempt, TimestampTz deadline)
{
	long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
													   deadline);
	long		ms = Min(SWAP_MAX_BACKOFF_MS, 5L << Min(attempt, 6));

	ms = ms / 2 + (long) pg_prng_uint64_range(&pg_global_prng_state, 0, ms / 2);
	ms = Min(ms, left);
	if (ms <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * A progress report (staging.progress_interval) of a failed attempt: what
 * it waited for, so that a long wait can be traced to its blocker.
 */
static void
report_retry(const Oid schemas[2], int attempt)
{
	char	   *relname = NULL;

	if (OidIsValid(waited_relid) && get_rel_name(waited_relid) != NULL)
		relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(waited_relid)),
											 get_rel_name(waited_relid));
	progress_report("swap_schemas",
					psprintf("attempt %d to lock schemas %s and %s timed out waiting for %s; retrying",
							 attempt + 1,
							 quote_identifier(get_namespace_name(schemas[0])),
							 quote_identifier(get_namespace_name(schemas[1])),
							 relname ? relname : "a lock on one of the schemas"));
}

/* Raise 42501 unless the current role owns the schema. */
static void
check_schema_owner(Oid nspid)
{
	if (!object_ownercheck(NamespaceRelationId, nspid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of schema \"%s\" to swap it",
						get_namespace_name(nspid)),
				 errhint("Run the swap as the owner of both schemas (or a member of the owning role).")));
}

/*
 * SQL: staging._swap_lock(live oid, candidate oid, lock_timeout_ms int,
 * max_wait_ms int).  Checks that the current role owns both schemas, then
 * takes the swap's locks (see the file header); 55P03 when max_wait passed
 * without getting them, with nothing locked.
 */
Datum
staging_swap_lock(PG_FUNCTION_ARGS)
{
	Oid			schemas[2];
	int32		lock_timeout_ms = PG_GETARG_INT32(2);
	int32		max_wait_ms = PG_GETARG_INT32(3);
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz give_up;
	int			attempt;

	schemas[0] = PG_GETARG_OID(0);
	schemas[1] = PG_GETARG_OID(1);
	if (lock_timeout_ms <= 0 || max_wait_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lock_timeout must be positive and max_wait not negative")));
	check_schema_owner(schemas[0]);
	check_schema_owner(schemas[1]);

	give_up = TimestampTzPlusMilliseconds(start, max_wait_ms);
	for (attempt = 0;; attempt++)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz deadline = TimestampTzPlusMilliseconds(now, lock_timeout_ms);

		/* The last attempt may be shorter, never longer, than max_wait. */
		if (attempt > 0 && deadline > give_up)
			deadline = Max(give_up, TimestampTzPlusMilliseconds(now, 1));
		if (try_lock_schemas(schemas, deadline))
			break;
		if (GetCurrentTimestamp() >= give_up)
		{
			char	   *relname = NULL;

			if (OidIsValid(waited_relid) && get_rel_name(waited_relid) != NULL)
				relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(waited_relid)),
													 get_rel_name(waited_relid));
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not lock schemas \"%s\" and \"%s\" for the swap within max_wait",
							get_namespace_name(schemas[0]),
							get_namespace_name(schemas[1])),
					 relname ?
					 errdetail("Another transaction held a lock on %s for longer than lock_timeout at each of %d attempts.",
							   relname, attempt + 1) :
					 errdetail("Another transaction held a lock on one of the schemas at each of %d attempts.",
							   attempt + 1),
					 errhint("Nothing was changed.  Find the blocking transaction in pg_locks and pg_stat_activity, or retry with a longer max_wait.")));
		}
		report_retry(schemas, attempt);
		backoff(attempt, give_up);
	}

	locked_lxid = MyLocalTransactionId;
	locked_schemas[0] = schemas[0];
	locked_schemas[1] = schemas[1];
	PG_RETURN_VOID();
}

/*
 * SQL: staging._swap_locked(live oid, candidate oid) -> bool: did this
 * transaction take the swap locks of these two schemas?
 */
Datum
staging_swap_locked(PG_FUNCTION_ARGS)
{
	Oid			a = PG_GETARG_OID(0);
	Oid			b = PG_GETARG_OID(1);

	PG_RETURN_BOOL(locked_lxid == MyLocalTransactionId &&
				   ((locked_schemas[0] == a && locked_schemas[1] == b) ||
					(locked_schemas[0] == b && locked_schemas[1] == a)));
}

/*
 * SQL: staging._created_in_this_transaction(regclass) -> bool.  Lets the
 * SECURITY DEFINER function that copies versioning registrations to a
 * clone check that the clone's tables were just created by its caller.
 */
Datum
staging_created_in_this_transaction(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTuple	tuple;
	bool		result;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		PG_RETURN_BOOL(false);
	result = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data));
	ReleaseSysCache(tuple);
	PG_RETURN_BOOL(result);
}
