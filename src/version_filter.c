/*-------------------------------------------------------------------------
 *
 * version_filter.c
 *	  The functions of the version filter, evaluated at execution.
 *
 * planner.c attaches to every scan of a versioned main table either
 *		created_in <= staging._version_filter_upper()
 *		AND updated_in > staging._version_filter_lower()
 * (indexable) or the single call
 *		staging._version_filter(created_in, updated_in).
 * They read the session version that was resolved when the execution of
 * their plan started, not per row: the range is kept per executor memory
 * context, so a cursor keeps the version of its DECLARE across FETCHes
 * and the next execution of a cached plan follows a new staging.version.
 * The privilege check (session_version.c) runs once per execution too,
 * unless the function filters a table the current user owns (the _owned
 * variants, which the planner chooses for owners; such plans are
 * replanned for another role).
 *
 * Parallel workers do not resolve anything themselves: the leader
 * resolves and checks the version when a parallel plan starts
 * (version_filter_executor_start) and hands it to the workers in the
 * setting staging.parallel_read, which they receive with the leader's
 * other settings.
 *
 * staging._visible_at(created_in, updated_in, version) is the one
 * visibility predicate (version_visible() in staging.h) for SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/walsender.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(staging_version_filter_upper);
PG_FUNCTION_INFO_V1(staging_version_filter_lower);
PG_FUNCTION_INFO_V1(staging_version_filter);
PG_FUNCTION_INFO_V1(staging_version_filter_upper_owned);
PG_FUNCTION_INFO_V1(staging_version_filter_lower_owned);
PG_FUNCTION_INFO_V1(staging_version_filter_owned);
PG_FUNCTION_INFO_V1(staging_visible_at);
PG_FUNCTION_INFO_V1(staging_attribute_visible);
PG_FUNCTION_INFO_V1(staging_attribute_visible_owned);

/*
 * The entry points of extension version 1.0 (staging._read_upper() ...):
 * kept so that the 1.0 install script still installs, and so that a 1.0
 * database keeps working with this library until ALTER EXTENSION UPDATE.
 */
PG_FUNCTION_INFO_V1(staging_read_upper);
PG_FUNCTION_INFO_V1(staging_read_lower);
PG_FUNCTION_INFO_V1(staging_read_visible);
PG_FUNCTION_INFO_V1(staging_read_upper_owned);
PG_FUNCTION_INFO_V1(staging_read_lower_owned);
PG_FUNCTION_INFO_V1(staging_read_visible_owned);

/*
 * The read range of one plan execution, shared by the filter functions
 * evaluated in that execution (keyed by their memory context, which is the
 * executor's per-query context) and forgotten when that context goes.
 * The executions that read every row without a check (a foreign key's own
 * query, the write triggers' statements: see mark_exempt_execution) have
 * the range of every version, checked.
 */
typedef struct QueryRange
{
	MemoryContext cxt;
	int64		version;		/* or STAGING_VERSION_ALL */
	Oid			setter;			/* the role that chose it */
	bool		checked;		/* may the session read it? checked, or exempt */
	bool		foreign_key;	/* exempt as a foreign key's own query */
	int64		lower;			/* updated_in > lower */
	int64		upper;			/* created_in <= upper */
	Snapshot	snapshot;		/* the active snapshot when resolved */
	bool		live;			/* resolved from 'live' in READ COMMITTED */
	struct QueryRange *next;
	MemoryContextCallback callback;
} QueryRange;

static QueryRange *query_ranges = NULL;

static QueryRange *new_query_range(MemoryContext cxt, int64 version, bool checked);

/* The source text of the write triggers' statement being run, or NULL. */
static const char *internal_source = NULL;

/* staging.parallel_read: the version a parallel leader resolved, or "" */
static char *parallel_read = NULL;

/* Define staging.parallel_read (internal: set by the leader only). */
void
version_filter_init(void)
{
	DefineCustomStringVariable("staging.parallel_read",
							   "The version the workers of a parallel query read (set by its leader).",
							   NULL,
							   &parallel_read,
							   "",
							   PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
							   GUC_DISALLOW_IN_AUTO_FILE | GUC_NO_RESET_ALL,
							   NULL, NULL, NULL);
}

/*
 * Does the current user own every versioned main table and attribute table
 * (or its main table) that a plan reads?  A foreign key's queries run as
 * the owner of the table they read.
 */
static bool
owns_versioned_tables_of(PlannedStmt *stmt)
{
	Oid			user = GetUserId();
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		const VersionedRel *entry;

		if (rte->rtekind != RTE_RELATION)
			continue;
		entry = registry_lookup(rte->relid);
		if (entry == NULL)
			continue;
		if (!object_ownercheck(RelationRelationId, rte->relid, user) &&
			(entry->kind == VERSIONED_MAIN ||
			 !object_ownercheck(RelationRelationId, entry->main_relid, user)))
			return false;
	}
	return true;
}

/*
 * Once the executor state of a plan exists: remember the executions that
 * read every row without a check.  In the context that
 * exempts a foreign key's queries from row security (which the write
 * triggers also use for their own statements), only
 *	- the write triggers' statement being run (writes_run_internal), and
 *	- a foreign key's own query: ri_triggers.c runs it through SPI
 *	  (DestSPI) without firing triggers at its end, as the owner of the
 *	  tables it reads, and never inside another one (its cascades fire
 *	  after it);
 * not what runs inside them, which starts executions of its own (a user's
 * trigger fired by a cascade, and every query it runs, even a set-returning
 * SQL function evaluated without triggers too, or an owner's function).
 */
static void
mark_exempt_execution(QueryDesc *queryDesc, int eflags)
{
	QueryRange *range;
	bool		internal;
	bool		foreign_key;

	if (!InNoForceRLSOperation() || queryDesc->estate == NULL ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) || !staging_extension_present())
		return;
	internal = internal_source != NULL && queryDesc->sourceText == internal_source;
	foreign_key = false;
	if (!internal && (eflags & EXEC_FLAG_SKIP_TRIGGERS) &&
		queryDesc->dest != NULL && queryDesc->dest->mydest == DestSPI)
	{
		foreign_key = true;
		for (range = query_ranges; range != NULL; range = range->next)
			if (range->foreign_key)
				foreign_key = false;
		foreign_key = foreign_key && owns_versioned_tables_of(queryDesc->plannedstmt);
	}
	if (!internal && !foreign_key)
		return;
	range = new_query_range(queryDesc->estate->es_query_cxt, STAGING_VERSION_ALL, true);
	range->foreign_key = foreign_key;
}

/*
 * The write triggers run one of their own statements (source: its source
 * text, as its executions carry it), or none (NULL); returns the previous
 * one, to restore.
 */
const char *
version_filter_internal_statement(const char *source)
{
	const char *previous = internal_source;

	internal_source = source;
	return previous;
}

/*
 * The version a new execution reads, and whether reading it needs no
 * privilege check (the executions that read every row without one have
 * their range already, see mark_exempt_execution): every row for
 * walsenders (replication copies every row); in a parallel worker,
 * what its leader resolved and checked; with row_security off (pg_dump
 * sets it), every row, for roles that may read 'all' (as row security
 * does, the others get an error); otherwise the session version.
 *
 * 'live' comes from a cache that the invalidation of staging.live_state
 * drops (live_version.c).  PostgreSQL reads invalidations when it locks a
 * relation anew or parses a statement; the execution of a prepared
 * statement in a READ COMMITTED transaction that holds its locks already
 * does neither, so they are read here: each statement reads the live
 * version committed before it, as it reads the rows.  A query run with
 * the snapshot of an execution that resolved 'live' already (the query
 * of a STABLE function that a statement calls: it may take a new lock
 * and so read the invalidation of a go-live committed meanwhile) reads
 * that execution's live version, so that one statement reads one live
 * version, as it reads one state of the rows.
 */
static int64
read_version(bool *exempt)
{
	*exempt = false;
	if (am_walsender)
	{
		*exempt = true;
		return STAGING_VERSION_ALL;
	}
	if (IsParallelWorker() && parallel_read != NULL && parallel_read[0] != '\0')
	{
		char	   *end;
		int64		version = strtoll(parallel_read, &end, 10);

		*exempt = strcmp(end, ":checked") == 0;
		return version;
	}
	if (!row_security)
		return STAGING_VERSION_ALL;
	if (!IsolationUsesXactSnapshot())
	{
		AcceptInvalidationMessages();
		if (staging_setting_is_live() && ActiveSnapshotSet())
		{
			Snapshot	snapshot = GetActiveSnapshot();
			QueryRange *range;

			for (range = query_ranges; range != NULL; range = range->next)
				if (range->live && range->snapshot == snapshot)
					return range->version;
		}
	}
	return staging_setting_version();
}

/* Memory context callback: the execution ended, forget its range. */
static void
forget_query_range(void *arg)
{
	QueryRange **link;

	for (link = &query_ranges; *link != NULL; link = &(*link)->next)
	{
		if (*link == (QueryRange *) arg)
		{
			*link = (*link)->next;
			break;
		}
	}
}

/*
 * Remember the read range of the execution whose per-query memory context
 * is cxt, until that context goes.
 */
static QueryRange *
new_query_range(MemoryContext cxt, int64 version, bool checked)
{
	QueryRange *range = MemoryContextAlloc(cxt, sizeof(QueryRange));

	range->cxt = cxt;
	range->version = version;
	range->setter = staging_version_setter();
	range->checked = checked;
	range->foreign_key = false;
	range->snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;
	range->live = version != STAGING_VERSION_ALL && range->snapshot != NULL &&
		staging_setting_is_live() && !IsolationUsesXactSnapshot() &&
		!IsParallelWorker() && !am_walsender && row_security;
	if (version == STAGING_VERSION_ALL)
	{
		range->lower = PG_INT64_MIN;
		range->upper = PG_INT64_MAX;
	}
	else
		range->lower = range->upper = version;
	range->callback.func = forget_query_range;
	range->callback.arg = range;
	MemoryContextRegisterResetCallback(cxt, &range->callback);
	range->next = query_ranges;
	query_ranges = range;
	return range;
}

/*
 * The read range of the execution whose per-query memory context is cxt:
 * resolved when that execution started (version_filter_executor_started),
 * or else now, on the first call of a filter function in it.
 */
static QueryRange *
context_range(MemoryContext cxt)
{
	QueryRange *range;
	bool		exempt;
	int64		version;

	for (range = query_ranges; range != NULL; range = range->next)
		if (range->cxt == cxt)
			return range;
	version = read_version(&exempt);
	return new_query_range(cxt, version, exempt);
}

/*
 * The read range of the execution that calls a filter function (the
 * caller keeps it in fn_extra).  The privilege check runs once per
 * execution, for the role that chose the version, unless the function
 * filters a table the current user owns and that user chose the version
 * itself (owned: the planner chose the _owned variant).
 */
static QueryRange *
execution_range(FmgrInfo *flinfo, bool owned)
{
	QueryRange *range = context_range(flinfo->fn_mcxt);

	if (!range->checked && !(owned && range->setter == GetUserId()))
	{
		staging_check_read_privilege(range->version, range->setter);
		range->checked = true;
	}
	return range;
}

/* The read range of the execution that calls a filter function, cached. */
static QueryRange *
query_range(FunctionCallInfo fcinfo, bool owned)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;

	if (flinfo->fn_extra == NULL)
		flinfo->fn_extra = execution_range(flinfo, owned);
	return (QueryRange *) flinfo->fn_extra;
}

/* SQL: staging._version_filter_upper(): the filter's bound for created_in. */
Datum
staging_version_filter_upper(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, false)->upper);
}

/* SQL: staging._version_filter_lower(): the filter's bound for updated_in. */
Datum
staging_version_filter_lower(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, false)->lower);
}

/*
 * SQL: staging._version_filter(created_in, updated_in): the filter in one
 * call, for scans where no index can use the bounds.
 */
Datum
staging_version_filter(PG_FUNCTION_ARGS)
{
	QueryRange *range = query_range(fcinfo, false);

	PG_RETURN_BOOL(PG_GETARG_INT64(0) <= range->upper &&
				   PG_GETARG_INT64(1) > range->lower);
}

/* SQL: the same three for a table the current user owns. */
Datum
staging_version_filter_upper_owned(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, true)->upper);
}

Datum
staging_version_filter_lower_owned(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, true)->lower);
}

Datum
staging_version_filter_owned(PG_FUNCTION_ARGS)
{
	QueryRange *range = query_range(fcinfo, true);

	PG_RETURN_BOOL(PG_GETARG_INT64(0) <= range->upper &&
				   PG_GETARG_INT64(1) > range->lower);
}

/* Extension version 1.0's names of the six functions above. */
Datum
staging_read_upper(PG_FUNCTION_ARGS)
{
	return staging_version_filter_upper(fcinfo);
}

Datum
staging_read_lower(PG_FUNCTION_ARGS)
{
	return staging_version_filter_lower(fcinfo);
}

Datum
staging_read_visible(PG_FUNCTION_ARGS)
{
	return staging_version_filter(fcinfo);
}

Datum
staging_read_upper_owned(PG_FUNCTION_ARGS)
{
	return staging_version_filter_upper_owned(fcinfo);
}

Datum
staging_read_lower_owned(PG_FUNCTION_ARGS)
{
	return staging_version_filter_lower_owned(fcinfo);
}

Datum
staging_read_visible_owned(PG_FUNCTION_ARGS)
{
	return staging_version_filter_owned(fcinfo);
}

/*
 * SQL: staging._visible_at(created_in, updated_in, version): is a row of
 * that interval visible at that version?
 */
Datum
staging_visible_at(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(version_visible(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
								   PG_GETARG_INT64(2)));
}

/*
 * Does a plan read a versioned main table?  Returns the number of such
 * tables, and in *all_owned whether the current user may read each of
 * them without the privilege check.
 */
static int
versioned_tables_of(PlannedStmt *stmt, bool *all_owned)
{
	ListCell   *lc;
	int			n = 0;

	*all_owned = true;
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		const VersionedRel *entry;

		if (rte->rtekind != RTE_RELATION)
			continue;
		entry = registry_lookup(rte->relid);
		if (entry == NULL || entry->kind != VERSIONED_MAIN)
			continue;
		n++;
		if (!staging_owner_reads_freely(rte->relid))
			*all_owned = false;
	}
	return n;
}

/*
 * ExecutorStart (hooks.c), before the executor enters parallel mode: for
 * a plan that may run in parallel workers, resolve the version here and
 * hand it to the workers in staging.parallel_read, so that they read
 * exactly what the leader reads, also when staging.advance() commits
 * meanwhile.  When the plan reads versioned tables the current user may
 * not read freely, the right is checked here, once, and the workers are
 * told so; otherwise they check for themselves if they ever read one (a
 * function called in a worker may), with the settings they received from
 * the leader (the preview grant among them).  EXPLAIN without ANALYZE
 * runs nothing: it reads nothing either.
 */
void
version_filter_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	bool		all_owned;
	bool		exempt;
	int64		version;
	char		value[48];

	if (!stmt->parallelModeNeeded || (eflags & EXEC_FLAG_EXPLAIN_ONLY) ||
		IsParallelWorker() || IsInParallelMode() || !staging_extension_present())
		return;
	version = read_version(&exempt);
	if (!exempt && versioned_tables_of(stmt, &all_owned) > 0 && !all_owned)
	{
		staging_check_read_privilege(version, staging_version_setter());
		exempt = true;
	}
	snprintf(value, sizeof(value), INT64_FORMAT "%s", version,
			 exempt ? ":checked" : "");
	if (strcmp(parallel_read, value) != 0)
		(void) set_config_option("staging.parallel_read", value, PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}

/*
 * ExecutorStart (hooks.c), once the executor has started a plan: mark it
 * if it is one of the executions that read every row (see
 * mark_exempt_execution); if it reads versioned main or attribute tables,
 * resolve the version it reads now, so that a cursor reads the version of its DECLARE even when the
 * setting changes before its first FETCH (the filter functions, which
 * run in the plan's per-query memory context, find it there).  The right
 * to read it is checked at the first read, for the role that chose it.
 */
void
version_filter_executor_started(QueryDesc *queryDesc, int eflags)
{
	ListCell   *lc;

	mark_exempt_execution(queryDesc, eflags);
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) || queryDesc->estate == NULL ||
		!staging_extension_present() || !registry_any())
		return;
	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && registry_lookup(rte->relid) != NULL)
		{
			(void) context_range(queryDesc->estate->es_query_cxt);
			return;
		}
	}
}

/*
 * What the attribute filter of one scan keeps for one execution: the read
 * range, the main table's index on row_id, and the answers so far.
 */
typedef struct AttributeProbe
{
	QueryRange *range;
	Oid			main_relid;
	Oid			index_relid;
	AttrNumber	row_id_attno;
	AttrNumber	created_in_attno;
	AttrNumber	updated_in_attno;
	HTAB	   *seen;			/* row_id -> visible */
} AttributeProbe;

typedef struct SeenRow
{
	int64		row_id;			/* hash key */
	bool		visible;
} SeenRow;

/* Answers kept per scan and execution, at most (then forgotten). */
#define MAX_SEEN_ROWS 65536

/*
 * Is the main row with this row_id visible at the range's version?  Read
 * through its row_id index with the query's snapshot.
 */
static bool
probe_main_row(AttributeProbe *probe, int64 row_id)
{
	Relation	rel = table_open(probe->main_relid, AccessShareLock);
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key;
	bool		visible = false;

	if (!OidIsValid(probe->index_relid))
		probe->index_relid = registry_row_id_index(rel, probe->row_id_attno);
	index = index_open(probe->index_relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(row_id));
	scan = compat_index_beginscan(rel, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		created_null;
		bool		updated_null;
		Datum		created_in = slot_getattr(slot, probe->created_in_attno, &created_null);
		Datum		updated_in = slot_getattr(slot, probe->updated_in_attno, &updated_null);

		visible = !created_null && !updated_null &&
			DatumGetInt64(created_in) <= probe->range->upper &&
			DatumGetInt64(updated_in) > probe->range->lower;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return visible;
}

/*
 * The attribute filter: is the attribute row with this row_id visible,
 * that is, is its main row visible at the session version?  Resolves and
 * checks the version once per execution, like the version filter; at
 * 'all' every row is.
 */
static bool
attribute_visible(FunctionCallInfo fcinfo, bool owned)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	AttributeProbe *probe = (AttributeProbe *) flinfo->fn_extra;
	Oid			main_relid = PG_GETARG_OID(0);
	int64		row_id = PG_GETARG_INT64(1);
	SeenRow    *seen;
	bool		found;

	if (probe == NULL || probe->main_relid != main_relid)
	{
		/*
		 * The registry is read with a fresh snapshot, which a parallel
		 * worker may not take: the leader checked the registration (the
		 * planner only calls this for registered tables), workers find the
		 * columns by their fixed names.
		 */
		if (!IsParallelWorker())
		{
			const VersionedRel *main = registry_lookup(main_relid);

			if (main == NULL || main->kind != VERSIONED_MAIN)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("relation with OID %u is not a versioned table", main_relid)));
		}
		/*
		 * The planner gives the _owned variant to the main table's owner
		 * only, but anyone may call it: for another role, or a version
		 * someone else chose, the version is checked as for the other.
		 */
		if (owned && !staging_owner_reads_freely(main_relid))
			owned = false;
		probe = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(AttributeProbe));
		probe->range = execution_range(flinfo, owned);
		probe->main_relid = main_relid;
		probe->row_id_attno = get_attnum(main_relid, "row_id");
		probe->created_in_attno = get_attnum(main_relid, "created_in");
		probe->updated_in_attno = get_attnum(main_relid, "updated_in");
		if (probe->row_id_attno <= 0 || probe->created_in_attno <= 0 ||
			probe->updated_in_attno <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("versioned table %s has no row_id, created_in or updated_in column",
							get_rel_name(main_relid))));
		flinfo->fn_extra = probe;
	}
	if (probe->range->version == STAGING_VERSION_ALL)
		return true;
	if (probe->seen == NULL || hash_get_num_entries(probe->seen) >= MAX_SEEN_ROWS)
	{
		if (probe->seen != NULL)
			hash_destroy(probe->seen);
		probe->seen = blob_hash_create("staging attribute filter", 256, sizeof(int64),
									   sizeof(SeenRow), flinfo->fn_mcxt);
	}
	seen = hash_search(probe->seen, &row_id, HASH_ENTER, &found);
	if (!found)
		seen->visible = probe_main_row(probe, row_id);
	return seen->visible;
}

/*
 * SQL: staging._attribute_visible(main_table, row_id): the attribute
 * filter the planner adds to scans of attribute tables.
 */
Datum
staging_attribute_visible(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(attribute_visible(fcinfo, false));
}

/*
 * SQL: the same, for an attribute table of a table the current user owns
 * (checked again here: PUBLIC may call it).
 */
Datum
staging_attribute_visible_owned(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(attribute_visible(fcinfo, true));
}
