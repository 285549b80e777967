/*-------------------------------------------------------------------------
 *
 * live_version.c
 *	  The live version: the one reader of staging.live_state.
 *
 * The live version is the start of the most recent update that went live
 * (1 before any did), kept in the one row of staging.live_state.  Every
 * reader in the extension (the version filter, versioned writes,
 * changelog triggers, SQL staging.live_version()) asks
 * staging_live_version(), which caches it per backend:
 *
 *	- whoever changes staging.live_state (staging.advance, a restore, an
 *	  UPDATE by hand) need not do anything: the statement trigger
 *	  live_state_changed sends a relcache invalidation of the table, and
 *	  the cache is dropped when it arrives (other sessions at their next
 *	  statement, the changing session at its next command);
 *	- in READ COMMITTED the cache holds the newest committed value (the
 *	  version filter keeps one per statement, see version_filter.c); in
 *	  REPEATABLE READ and SERIALIZABLE the row is read with the transaction
 *	  snapshot, once per transaction, so the live version stays put like
 *	  the data does.
 *
 * Writers of versioned tables also take a ROW SHARE lock on
 * staging.live_state (staging_live_version_for_write), which
 * staging.advance's EXCLUSIVE lock waits for: a write never lands at a
 * version that went into history while it ran.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(staging_live_version_sql);
PG_FUNCTION_INFO_V1(staging_live_state_changed);

/* staging.live_state, found on first use after each invalidation */
static Oid	live_state_relid = InvalidOid;

/* The cache (see the header comment). */
static bool live_valid = false;
static int64 live_cached;
static bool xact_live_valid = false;
static LocalTransactionId xact_live_lxid = InvalidLocalTransactionId;
static int64 xact_live_cached;

/*
 * Relcache invalidation (routed by hooks.c): forget the live version when
 * staging.live_state changed, or everything was invalidated.  Reads no
 * catalogs.
 */
void
live_version_invalidate(Oid relid)
{
	if (relid == InvalidOid || relid == live_state_relid)
	{
		live_valid = false;
		xact_live_valid = false;
		live_state_relid = InvalidOid;
	}
}

/* The OID of staging.live_state; a clear error when it is missing. */
static Oid
live_state_table(void)
{
	Oid			schema;

	if (OidIsValid(live_state_relid))
		return live_state_relid;
	schema = staging_schema_oid();
	if (!OidIsValid(schema))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						STAGING_NAME),
				 errhint("Run CREATE EXTENSION %s first.", STAGING_NAME)));
	live_state_relid = get_relname_relid("live_state", schema);
	if (!OidIsValid(live_state_relid))
		elog(ERROR, "table staging.live_state is missing; reinstall the extension");
	return live_state_relid;
}

/*
 * Read staging.live_state with the given snapshot (NULL: a fresh catalog
 * snapshot, which also works in parallel workers).
 */
static int64
read_live_state(Snapshot snapshot)
{
	Oid			relid = live_state_table();
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	attno;
	bool		isnull;
	int64		version;

	rel = table_open(relid, AccessShareLock);
	attno = get_attnum(relid, "version");
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple) || attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table staging.live_state holds no live version"),
				 errhint("Insert its row again: INSERT INTO staging.live_state DEFAULT VALUES.")));
	version = DatumGetInt64(heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/* The live version, cached per backend (see the header comment). */
int64
staging_live_version(void)
{
	if (IsolationUsesXactSnapshot())
	{
		if (!xact_live_valid || xact_live_lxid != MyLocalTransactionId)
		{
			/* Mark valid first: an invalidation arriving while we read wins. */
			xact_live_valid = true;
			xact_live_lxid = MyLocalTransactionId;
			xact_live_cached = read_live_state(GetTransactionSnapshot());
		}
		return xact_live_cached;
	}
	if (!live_valid)
	{
		live_valid = true;
		live_cached = read_live_state(NULL);
	}
	return live_cached;
}

/*
 * The live version, for a write of versioned table rel: first a ROW SHARE
 * lock on staging.live_state, held until commit, so that advance()
 * (EXCLUSIVE) waits for this transaction's writes.  Taking the lock again
 * later in the transaction costs a local hash lookup.
 *
 * In REPEATABLE READ and SERIALIZABLE the live version is the one of the
 * transaction snapshot: an advance() that committed after the snapshot was
 * taken made it history, and a write there would change the past.  While
 * the lock is held no advance() can commit, so the newest committed live
 * version is compared once per (sub)transaction that holds it (a lock
 * taken in a subtransaction that aborts is released): 40001, as
 * PostgreSQL does for a row updated after the snapshot.
 */
int64
staging_live_version_for_write(Relation rel)
{
	static LocalTransactionId checked_lxid = InvalidLocalTransactionId;
	static SubTransactionId checked_subid = InvalidSubTransactionId;
	int64		live;
	int64		newest;

	LockRelationOid(live_state_table(), RowShareLock);
	live = staging_live_version();
	if (IsolationUsesXactSnapshot() &&
		(checked_lxid != MyLocalTransactionId ||
		 checked_subid != GetCurrentSubTransactionId()))
	{
		newest = read_live_state(NULL);
		if (newest != live)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not write table \"%s\": the live version moved from " INT64_FORMAT " to " INT64_FORMAT " after this transaction's snapshot was taken",
							RelationGetRelationName(rel), live, newest),
					 errhint("Retry the transaction.")));
		checked_lxid = MyLocalTransactionId;
		checked_subid = GetCurrentSubTransactionId();
	}
	return live;
}

/* SQL: staging.live_version(). */
Datum
staging_live_version_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(staging_live_version());
}

/* Trigger on staging.live_state: make every backend re-read it. */
Datum
staging_live_state_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "staging._live_state_changed() must be called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
