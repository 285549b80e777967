/*-------------------------------------------------------------------------
 *
 * hooks.c
 *	  Every hook and callback the extension installs, in one place.
 *
 * Each hook chains to the one installed before it and then calls the
 * modules that need it; each callback routes its event to every module
 * cache that depends on it.  The modules themselves register nothing, so
 * this file is the list of what the library does behind a session's
 * back:
 *
 *	planner		get_relation_info_hook, set_rel_pathlist_hook: attach the
 *				version filter to scans of versioned tables (planner.c);
 *				planner_hook: hide the start of next versions before
 *				planning (hide_next_version.c), filter the rows ON
 *				CONFLICT DO UPDATE finds, put the filter first in the
 *				quals of every scan after planning (planner.c)
 *	executor	ExecutorStart_hook: hand the read version to parallel
 *				workers (version_filter.c); ExecutorRun_hook and
 *				ExecutorFinish_hook (AFTER triggers, deferrable
 *				constraints): errors of writes show no failing row
 *				the writer may not see, the
 *				write triggers know the tables of INSERT ... ON CONFLICT
 *				(writes.c)
 *	utility		ProcessUtility_hook: refuse DDL and COPY that would break
 *				versioned tables or read around the filter
 *				(utility_guard.c); before DROP EXTENSION staging, give its
 *				tables back to heap (table_am.c); let a restore by the
 *				database owner run (restore.c)
 *	relcache	one callback: the extension's presence (extension.c), the
 *				registry (registry.c; what writes.c builds from it follows
 *				its generation), the live version (live_version.c),
 *				planner estimates (planner.c) and changelog triggers
 *				(changelog.c)
 *	syscache	pg_proc changed: the planner looks its functions up again
 *	transaction	end and subtransaction abort: writes.c and changelog.c
 *				reset their per-transaction state
 *
 * Invalidation callbacks must not read the catalogs: each module only
 * marks what is stale and rebuilds it on next use.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "catalog/namespace.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/inval.h"
#include "utils/syscache.h"

static planner_hook_type prev_planner = NULL;
static get_relation_info_hook_type prev_get_relation_info = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * A query is planned: first hide the start of next versions from readers
 * who may not know it (hide_next_version.c), in the SQL functions it calls
 * in FROM too (inlined first), and filter the row an ON CONFLICT DO UPDATE
 * finds (planner.c); then, when the planner gave scans a version filter,
 * make the filter the first qual they evaluate.
 */
static PlannedStmt *
staging_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	PlannerGlobal *inlined = inline_sql_functions(parse, boundParams);
	bool		hidden = hide_next_versions(parse, boundParams != NULL);
	bool		on_conflict_owned = staging_extension_present() && registry_any() &&
		planner_filter_on_conflict(parse);
	uint64		filters = planner_filter_count();
	PlannedStmt *result;

	if (prev_planner)
		result = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (hidden || on_conflict_owned)
		result->dependsOnRole = true;
	if (inlined != NULL)
	{
		/* as the planner records the functions it inlines itself */
		result->invalItems = list_concat(result->invalItems, inlined->invalItems);
		if (inlined->dependsOnRole)
			result->dependsOnRole = true;
	}
	if (planner_filter_count() != filters)
		planner_order_filters_first(result);
	return result;
}

/* A base relation is being built: filter it if it is versioned. */
static void
staging_get_relation_info(PlannerInfo *root, Oid relid, bool inhparent,
						  RelOptInfo *rel)
{
	if (prev_get_relation_info)
		prev_get_relation_info(root, relid, inhparent, rel);
	planner_filter_base_rel(root, relid, rel);
}

/* Paths of a relation are built: filter append members it missed. */
static void
staging_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
						 RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	planner_filter_member_rel(root, rel, rte);
}

/*
 * A plan starts: parallel workers learn the version to read; a foreign
 * key's query and the write triggers' own statements are marked to read
 * every row, and the version the plan reads is fixed from its start on.
 */
static void
staging_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	version_filter_executor_start(queryDesc, eflags);
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	version_filter_executor_started(queryDesc, eflags);
}

/*
 * The versioned tables a plan writes whose failing rows the writer may
 * not see (writes_hidden_rows), for the executor hooks below.
 */
static List *
hidden_rows_of(PlannedStmt *pstmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, pstmt->resultRelations)
		relids = lappend_oid(relids, rt_fetch(lfirst_int(lc), pstmt->rtable)->relid);
	return writes_hidden_rows(relids);
}

/*
 * A plan runs: errors of its writes to versioned tables show no failing
 * row that the writer may not see, and the write triggers know the tables
 * it inserts into with ON CONFLICT (writes.c).
 */
static void
staging_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count
					COMPAT_EXECUTE_ONCE_PARAM)
{
	List	   *hidden = hidden_rows_of(queryDesc->plannedstmt);
	List	   *outer_on_conflict;
	bool		on_conflict_changed;
	MemoryContext context_before = CurrentMemoryContext;

	outer_on_conflict = writes_on_conflict_begin(queryDesc->plannedstmt, &on_conflict_changed);
	if (hidden == NIL && !on_conflict_changed)
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count COMPAT_EXECUTE_ONCE_ARG);
		else
			standard_ExecutorRun(queryDesc, direction, count COMPAT_EXECUTE_ONCE_ARG);
		return;
	}
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count COMPAT_EXECUTE_ONCE_ARG);
		else
			standard_ExecutorRun(queryDesc, direction, count COMPAT_EXECUTE_ONCE_ARG);
	}
	PG_CATCH();
	{
		writes_on_conflict_end(outer_on_conflict);
		MemoryContextSwitchTo(context_before);
		if (hidden != NIL)
			writes_rethrow_hiding_rows(hidden, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	writes_on_conflict_end(outer_on_conflict);
}

/* The previous ExecutorFinish hook, or PostgreSQL's. */
static void
call_ExecutorFinish(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/*
 * A plan finishes: its AFTER triggers run, among them the checks of
 * deferrable constraints (the version constraint is DEFERRABLE INITIALLY
 * IMMEDIATE, so its violations are raised here, showing the conflicting
 * row's versions): errors show no failing row the writer may not see, as
 * in staging_ExecutorRun().
 */
static void
staging_ExecutorFinish(QueryDesc *queryDesc)
{
	List	   *hidden = hidden_rows_of(queryDesc->plannedstmt);
	MemoryContext context_before = CurrentMemoryContext;

	if (hidden == NIL)
	{
		call_ExecutorFinish(queryDesc);
		return;
	}
	PG_TRY();
	{
		call_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context_before);
		/* (errors of the layout, raised unnamed, are hidden already) */
		writes_rethrow_hiding_rows(hidden, true);
	}
	PG_END_TRY();
}

/*
 * Run a utility command, remembering the target of a COPY FROM while it
 * runs; a GRANT on the extension's objects (or a comment on it) that fails
 * for lack of privileges says how to restore without it (restore.c).
 */
static void
staging_run_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	MemoryContext context_before = CurrentMemoryContext;
	Oid			saved = restore_copy_begin(pstmt->utilityStmt, context);
	const char *hint = restore_privilege_hint(pstmt->utilityStmt);
	List	   *hidden = NIL;

	/* COPY FROM: its errors show no failing row the writer may not see */
	if (IsA(pstmt->utilityStmt, CopyStmt) &&
		((CopyStmt *) pstmt->utilityStmt)->is_from &&
		((CopyStmt *) pstmt->utilityStmt)->relation != NULL)
		hidden = writes_hidden_rows(list_make1_oid(RangeVarGetRelid(((CopyStmt *) pstmt->utilityStmt)->relation,
																	NoLock, true)));

	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		restore_copy_end(saved);
		if (hint != NULL)
		{
			MemoryContextSwitchTo(context_before);
			restore_rethrow_with_hint(hint);
		}
		if (hidden != NIL)
		{
			MemoryContextSwitchTo(context_before);
			writes_rethrow_hiding_rows(hidden, false);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	restore_copy_end(saved);
}

/*
 * A utility command runs: refuse what would break versioned tables; skip
 * or soften what a restore into a database with the extension repeats.
 */
static void
staging_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	PlannedStmt *run = pstmt;

	utility_guard_check(pstmt);
	table_am_before_utility(pstmt->utilityStmt);
	if (staging_extension_present())
	{
		run = restore_rewrite_utility(pstmt);
		if (run == NULL)
			return;
	}
	staging_run_utility(run, queryString, readOnlyTree && run == pstmt, context,
						params, queryEnv, dest, qc);
}

/*
 * A relation changed (or everything, with InvalidOid): each module forgets
 * what it cached about it.
 */
static void
staging_relcache_callback(Datum arg, Oid relid)
{
	extension_invalidate(relid);
	registry_invalidate(relid);
	live_version_invalidate(relid);
	planner_invalidate(relid);
	changelog_invalidate(relid);
	writes_invalidate(relid);
}

/*
 * pg_proc changed: the planner looks up its filter functions again, the
 * write triggers the functions of their statement triggers.
 */
static void
staging_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	planner_invalidate_functions();
	writes_invalidate_functions();
}

/*
 * pg_namespace changed (a schema renamed, e.g. by swap_schemas): the
 * statements the write triggers and the changelogs prepared name their
 * tables by schema, and a plan made again would find the other schema's
 * table under that name, so each module forgets them as for a changed
 * registration.
 */
static void
staging_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	registry_invalidate(InvalidOid);
	changelog_invalidate(InvalidOid);
}

/* A transaction ends. */
static void
staging_xact_callback(XactEvent event, void *arg)
{
	writes_xact_end(event);
	changelog_xact_end(event);
	claims_xact_end(event);
}

/* A subtransaction starts, commits or aborts. */
static void
staging_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	writes_subxact_event(event, mySubid);
	changelog_subxact_event(event, mySubid, parentSubid);
	claims_subxact_event(event, mySubid, parentSubid);
}

/* Install every hook and callback, chained to the previous ones. */
void
hooks_init(void)
{
	prev_planner = planner_hook;
	planner_hook = staging_planner;
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = staging_get_relation_info;
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = staging_set_rel_pathlist;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = staging_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = staging_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = staging_ExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = staging_ProcessUtility;

	CacheRegisterRelcacheCallback(staging_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, staging_proc_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, staging_namespace_callback, (Datum) 0);
	RegisterXactCallback(staging_xact_callback, NULL);
	RegisterSubXactCallback(staging_subxact_callback, NULL);
}
