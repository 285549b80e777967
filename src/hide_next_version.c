/*-------------------------------------------------------------------------
 *
 * hide_next_version.c
 *	  updated_in of a row visible now is the start of its entity's next
 *	  version: readers without the right to the future do not see it.
 *
 * Before a query is planned (after rewriting, so views are expanded),
 * every reference to updated_in of a versioned main table, in every part
 * of the query (target list, RETURNING, conditions, subqueries, CTEs)
 * becomes staging._visible_updated_in(tbl, updated_in): the value itself
 * up to the latest version the reader may read (the live version, the
 * current time, or the version a preview token opened for it), and
 * staging.max_version() beyond (the row lasts, as far as the reader can
 * know).  Queries that read no versioned main table are not walked twice:
 * a first walk over the range tables looks for one (none when the
 * database has no versioned table), and the queries of readers who may see
 * every version are not changed at all.  Queries of roles that may read every version of the tables they
 * read (superusers, roles that may execute staging.sign_preview(), owners
 * at a version they chose), and the statements the extension runs itself,
 * are left alone, so they keep their index paths; such plans are marked
 * as depending on the role.  The function checks again when it runs.
 *
 * SQL functions in FROM that PostgreSQL inlines (LANGUAGE sql, STABLE,
 * not SECURITY DEFINER) bring their query into the caller's only while it
 * is planned, after planner_hook: they are inlined here first, as the
 * planner would, so that their references are hidden too.
 *
 * Known gap: a whole-row reference (SELECT t FROM tbl t, row_to_json(t))
 * carries updated_in unchanged.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_visible_updated_in);

typedef struct HideContext
{
	List	   *rtables;		/* range tables, innermost query first */
	Oid			funcid;			/* staging._visible_updated_in */
	bool		seen;			/* did the query read updated_in? */
} HideContext;

/*
 * May the reader see every updated_in of this table, as things stand?
 * (Also asked by writes.c: may the writer see every version of it?)
 */
bool
reveals_next_version(Oid relid)
{
	return writes_internal() ||
		staging_owner_reads_freely(relid) ||
		staging_may_read_every_version(staging_version_setter());
}

/* Is the plan being made for one execution only (see hide_next_versions)? */
static bool plan_used_once = false;

/*
 * May a plan made now leave updated_in of this table as it is?  Only when
 * the reader may see all of it (reveals_next_version), the role that chose
 * the version is the current user, and the current user is not one that a
 * SECURITY DEFINER function (or a foreign key's query, or the extension's
 * work as a table's owner) put in place: such a plan is kept for the
 * current user (dependsOnRole), and the chooser may change while the
 * current user stays (SET ROLE; the plans of a SECURITY DEFINER function
 * run as its owner for every caller, so a plan made when its owner called
 * it would show the values to the next caller), unless the plan is made
 * for one execution (a custom plan, or a one-shot plan such as that of
 * EXECUTE ... USING in PL/pgSQL, given the values of its parameters),
 * which no later caller reuses.  Elsewhere the reference is wrapped, and
 * staging._visible_updated_in() decides when it runs.
 */
static bool
plan_reveals_next_version(Oid relid)
{
	return writes_internal() ||
		((plan_used_once || !InLocalUserIdChange()) &&
		 staging_version_setter() == GetUserId() && reveals_next_version(relid));
}

/* What query_has_rte() looks for: a range table entry that passes test. */
typedef struct RteSearch
{
	bool		(*test) (RangeTblEntry *rte);
} RteSearch;

/* Does a query, or a query inside it, have such an entry? */
static bool
rte_search_walker(Node *node, void *context)
{
	RteSearch  *search = (RteSearch *) context;

	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
		return search->test((RangeTblEntry *) node);
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, rte_search_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, rte_search_walker, context);
}

/*
 * The same, quicker: without sublinks a query can only have entries in its
 * range table, its subqueries and its CTEs, which are looked at without
 * walking every expression (most queries planned, point lookups included,
 * have no sublinks).
 */
static bool
query_has_rte(Query *query, RteSearch *search)
{
	ListCell   *lc;

	if (query->hasSubLinks)
		return rte_search_walker((Node *) query, search);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (search->test(rte) ||
			(rte->rtekind == RTE_SUBQUERY && query_has_rte(rte->subquery, search)))
			return true;
	}
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (query_has_rte((Query *) cte->ctequery, search))
			return true;
	}
	return false;
}

/* Is the entry a versioned main table? */
static bool
is_versioned_main_rte(RangeTblEntry *rte)
{
	const VersionedRel *vr;

	if (rte->rtekind != RTE_RELATION)
		return false;
	vr = registry_lookup(rte->relid);
	return vr != NULL && vr->kind == VERSIONED_MAIN;
}

/* Is the entry a function in FROM? */
static bool
is_function_rte(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_FUNCTION;
}

/* Does a query read a versioned main table? */
static bool
query_reads_versioned(Query *query)
{
	RteSearch	search = {is_versioned_main_rte};

	return query_has_rte(query, &search);
}

/* Does a query, or a query inside it, call a function in FROM? */
static bool
has_function_rte(Query *query)
{
	RteSearch	search = {is_function_rte};

	return query_has_rte(query, &search);
}

/*
 * Inline the SQL functions in FROM of a query and of the queries inside
 * it, as the planner's preprocess_function_rtes() does for each query it
 * plans: const-simplify the call, then inline_set_returning_function().
 * The planner would inline them only after planner_hook, out of sight of
 * hide_mutator().
 */
static bool
inline_functions_walker(Node *node, PlannerInfo *root)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;

		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
			Query	   *funcquery;

			if (rte->rtekind != RTE_FUNCTION)
				continue;
			rte->functions = (List *) eval_const_expressions(root, (Node *) rte->functions);
			funcquery = inline_set_returning_function(root, rte);
			if (funcquery != NULL)
			{
				rte->rtekind = RTE_SUBQUERY;
				rte->subquery = funcquery;
				rte->security_barrier = false;
				rte->functions = NIL;
				rte->funcordinality = false;
			}
		}
		/* the inlined queries too: they may call such functions */
		return query_tree_walker(query, inline_functions_walker, root, 0);
	}
	return expression_tree_walker(node, inline_functions_walker, root);
}

/*
 * Called for every query before it is planned, before
 * hide_next_versions(): inline the SQL functions it calls in FROM, so
 * that the references to updated_in in their queries are hidden like the
 * query's own (and a plan made for a reader who may see them is marked as
 * depending on the role).  Returns what the planner must learn of it (the
 * functions the plan now depends on), or NULL when nothing was looked at.
 */
PlannerGlobal *
inline_sql_functions(Query *parse, ParamListInfo boundParams)
{
	PlannerGlobal *glob;
	PlannerInfo *root;

	if (!staging_extension_present() || !registry_any() || !has_function_rte(parse))
		return NULL;
	glob = makeNode(PlannerGlobal);
	glob->boundParams = boundParams;
	root = makeNode(PlannerInfo);
	root->parse = parse;
	root->glob = glob;
	root->query_level = 1;
	root->planner_cxt = CurrentMemoryContext;
	(void) inline_functions_walker((Node *) parse, root);
	return glob;
}

/* Wrap references to updated_in of versioned main tables. */
static Node *
hide_mutator(Node *node, HideContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		List	   *rtable;
		RangeTblEntry *rte;
		const VersionedRel *vr;

		if (var->varlevelsup >= (Index) list_length(cxt->rtables))
			return node;
		rtable = (List *) list_nth(cxt->rtables, var->varlevelsup);
		if (var->varno < 1 || var->varno > (int) list_length(rtable))
			return node;
		rte = rt_fetch(var->varno, rtable);
		if (rte->rtekind != RTE_RELATION)
			return node;
		vr = registry_lookup(rte->relid);
		if (vr == NULL || vr->kind != VERSIONED_MAIN || var->varattno != vr->updated_in_attno)
			return node;
		cxt->seen = true;
		if (plan_reveals_next_version(rte->relid))
			return node;
		return (Node *) makeFuncExpr(cxt->funcid, INT8OID,
									 list_make2(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
														  ObjectIdGetDatum(rte->relid), false, true),
												copyObject(var)),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	}
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;

		cxt->rtables = lcons(query->rtable, cxt->rtables);
		query = query_tree_mutator(query, hide_mutator, cxt, QTW_DONT_COPY_QUERY);
		cxt->rtables = list_delete_first(cxt->rtables);
		return (Node *) query;
	}
	return expression_tree_mutator(node, hide_mutator, cxt);
}

/*
 * Called for every query before it is planned: hide the next version's
 * start from readers who may not know it.  used_once: the plan is made for
 * one execution, with the values of its parameters (see
 * plan_reveals_next_version).  Returns true when the query reads
 * updated_in of a versioned table (its plan then depends on the role:
 * hidden or not).
 */
bool
hide_next_versions(Query *parse, bool used_once)
{
	HideContext cxt;
	Oid			argtypes[2] = {REGCLASSOID, INT8OID};

	if (!staging_extension_present() || !registry_any() ||
		!query_reads_versioned(parse))
		return false;

	/*
	 * A reader who may see every version (a superuser, an editor, the
	 * extension's own statements) and chose the version itself, outside a
	 * SECURITY DEFINER function (see plan_reveals_next_version), is left
	 * alone, once per query; the plan depends on the role all the same.
	 */
	plan_used_once = used_once;
	if (writes_internal() ||
		((used_once || !InLocalUserIdChange()) &&
		 staging_version_setter() == GetUserId() &&
		 staging_may_read_every_version(GetUserId())))
		return true;
	cxt.funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
								 CStringGetDatum("_visible_updated_in"),
								 PointerGetDatum(buildoidvector(argtypes, 2)),
								 ObjectIdGetDatum(staging_schema_oid()));
	if (!OidIsValid(cxt.funcid))
		return false;			/* an installation not yet upgraded */
	cxt.rtables = NIL;
	cxt.seen = false;
	(void) hide_mutator((Node *) parse, &cxt);
	return cxt.seen;
}

/* What staging._visible_updated_in() found for its table, per execution. */
typedef struct RevealsCache
{
	Oid			relid;
	bool		reveals;
} RevealsCache;

/*
 * SQL: staging._visible_updated_in(tbl regclass, updated_in bigint) ->
 * bigint: updated_in as the reader may see it (see above).
 */
Datum
staging_visible_updated_in(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int64		updated_in = PG_GETARG_INT64(1);
	int64		bound;
	RevealsCache *cache = (RevealsCache *) fcinfo->flinfo->fn_extra;

	if (updated_in == STAGING_MAX_VERSION)
		PG_RETURN_INT64(updated_in);

	/*
	 * Whether the reader may see it all is asked once per execution (the
	 * expression's state is made again for each): it needs catalog
	 * lookups, and wrapped references are read in every row.
	 */
	if (cache == NULL || cache->relid != relid)
	{
		if (cache == NULL)
			cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(RevealsCache));
		cache->relid = relid;
		cache->reveals = reveals_next_version(relid);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->reveals)
		PG_RETURN_INT64(updated_in);
	bound = Max(staging_live_version(),
				staging_timestamp_to_version(GetCurrentTransactionStartTimestamp()));
	bound = Max(bound, staging_previewed_version());
	PG_RETURN_INT64(updated_in <= bound ? updated_in : STAGING_MAX_VERSION);
}
