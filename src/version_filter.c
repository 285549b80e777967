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
 * They resolve the session version once per execution of a plan, not per
 * row: the range is kept per executor memory context, so a cursor keeps
 * its version across FETCHes and the next execution of a cached plan
 * follows a new staging.version.  The privilege check (session_version.c)
 * runs once per execution too, unless the function filters a table the
 * current user owns (the _owned variants, which the planner chooses for
 * owners; such plans are replanned for another role).
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

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/walsender.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rls.h"

PG_FUNCTION_INFO_V1(staging_version_filter_upper);
PG_FUNCTION_INFO_V1(staging_version_filter_lower);
PG_FUNCTION_INFO_V1(staging_version_filter);
PG_FUNCTION_INFO_V1(staging_version_filter_upper_owned);
PG_FUNCTION_INFO_V1(staging_version_filter_lower_owned);
PG_FUNCTION_INFO_V1(staging_version_filter_owned);
PG_FUNCTION_INFO_V1(staging_visible_at);

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
 */
typedef struct QueryRange
{
	MemoryContext cxt;
	int64		version;		/* or STAGING_VERSION_ALL */
	bool		checked;		/* may the session read it? checked, or exempt */
	int64		lower;			/* updated_in > lower */
	int64		upper;			/* created_in <= upper */
	struct QueryRange *next;
	MemoryContextCallback callback;
} QueryRange;

static QueryRange *query_ranges = NULL;

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
 * The version a new execution reads, and whether reading it needs no
 * privilege check: every row for referential integrity checks (they run
 * as the table owner, exempt from row security too) and for walsenders
 * (replication copies every row); in a parallel worker, what its leader
 * resolved and checked; with row_security off (pg_dump sets it), every
 * row, for roles that may read 'all' (as row security does, the others get
 * an error); otherwise the session version.
 */
static int64
read_version(bool *exempt)
{
	*exempt = false;
	if (InNoForceRLSOperation() || am_walsender)
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
 * The read range of the execution that calls a filter function: resolved
 * on the first call in that execution, then kept in fn_extra.  The
 * privilege check runs once per execution, unless the function filters a
 * table the current user owns and reads at a version it chose itself
 * (owned: the planner chose the _owned variant).
 */
static QueryRange *
query_range(FunctionCallInfo fcinfo, bool owned)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	QueryRange *range = (QueryRange *) flinfo->fn_extra;

	if (range != NULL)
		return range;
	for (range = query_ranges; range != NULL; range = range->next)
		if (range->cxt == flinfo->fn_mcxt)
			break;
	if (range == NULL)
	{
		bool		exempt;
		int64		version = read_version(&exempt);

		range = MemoryContextAlloc(flinfo->fn_mcxt, sizeof(QueryRange));
		range->cxt = flinfo->fn_mcxt;
		range->version = version;
		range->checked = exempt;
		if (version == STAGING_VERSION_ALL)
		{
			range->lower = PG_INT64_MIN;
			range->upper = PG_INT64_MAX;
		}
		else
			range->lower = range->upper = version;
		range->callback.func = forget_query_range;
		range->callback.arg = range;
		MemoryContextRegisterResetCallback(flinfo->fn_mcxt, &range->callback);
		range->next = query_ranges;
		query_ranges = range;
	}
	if (!range->checked &&
		!(owned && staging_version_setter() == GetUserId()))
	{
		staging_check_read_privilege(range->version);
		range->checked = true;
	}
	flinfo->fn_extra = range;
	return range;
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
		staging_check_read_privilege(version);
		exempt = true;
	}
	snprintf(value, sizeof(value), INT64_FORMAT "%s", version,
			 exempt ? ":checked" : "");
	if (strcmp(parallel_read, value) != 0)
		(void) set_config_option("staging.parallel_read", value, PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}
