/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  Planner hooks: make every scan of a versioned table see the rows
 *	  valid at the session version.
 *
 * The filter is
 *		created_in <= staging._read_upper() AND updated_in > staging._read_lower()
 * added to the scan of the versioned main table itself, so it holds in
 * every query shape (views and inlined SQL functions are planned like the
 * rest, the nullable side of an outer join is filtered before the join,
 * UPDATE/DELETE/MERGE only see visible target rows).  The two functions
 * are STABLE, so the version is read at execution and cached plans follow
 * later changes of staging.version (see version.c).
 *
 * Where: get_relation_info_hook runs for every base relation the planner
 * builds, after views were expanded and SQL functions inlined.  There the
 * filter becomes an ordinary restriction clause (security level 0), so
 * user predicates stay usable as index quals, even with non-leakproof
 * functions, and the filter itself can be an index qual.  Members of an
 * append relation (inheritance children, partitions, UNION ALL legs) get
 * their restriction clauses translated from the parent later, overwriting
 * what this hook added; they get the filter from a versioned parent, or
 * else from set_rel_pathlist_hook, which appends it to the clauses the
 * chosen scan will check.
 *
 * In a database without the extension, or without any versioned table,
 * the hooks cost a registry lookup that answers from a backend-local
 * cache.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/stratnum.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

/*
 * The filter functions, looked up again after any change of pg_proc (the
 * extension's schema survives DROP EXTENSION, so its OID is no key).
 */
static bool filter_functions_valid = false;
static Oid	read_upper_funcid = InvalidOid;
static Oid	read_lower_funcid = InvalidOid;

/* Syscache callback: pg_proc changed; look the functions up again. */
static void
filter_functions_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	filter_functions_valid = false;
}

/* OID of a function staging.NAME() without arguments, or InvalidOid. */
static Oid
filter_function(const char *name, Oid schema)
{
	Oid			funcid;

	funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
							 CStringGetDatum(name),
							 PointerGetDatum(buildoidvector(NULL, 0)),
							 ObjectIdGetDatum(schema));
	return funcid;
}

/* Make sure read_upper_funcid and read_lower_funcid are current. */
static void
lookup_filter_functions(void)
{
	Oid			schema = staging_schema_oid();

	if (filter_functions_valid)
		return;
	/* Mark valid first: an invalidation arriving while we look wins. */
	filter_functions_valid = true;
	read_upper_funcid = filter_function("_read_upper", schema);
	read_lower_funcid = filter_function("_read_lower", schema);
	if (!OidIsValid(read_upper_funcid) || !OidIsValid(read_lower_funcid))
	{
		filter_functions_valid = false;
		elog(ERROR, "functions staging._read_upper() and staging._read_lower() are missing; reinstall the extension");
	}
}

/* Attribute number of a version column, checked to be a bigint. */
static AttrNumber
version_column(Oid relid, AttrNumber attno, const char *name)
{
	if (attno <= 0 || get_atttype(relid, attno) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("versioned table \"%s\" has no bigint column \"%s\"",
						get_rel_name(relid), name),
				 errhint("Versioned tables need row_id, created_in and updated_in; re-run staging.enable_versioning().")));
	return attno;
}

/*
 * One side of the filter: column OP staging.FUNC(), with its selectivity
 * estimated for the version the session would read now (the statistics
 * work of a predicate written with a constant, without evaluating the
 * function at plan time).
 */
static RestrictInfo *
filter_clause(PlannerInfo *root, RelOptInfo *rel, AttrNumber attno,
			  int16 strategy, Oid funcid, int64 estimate_version)
{
	Oid			opno = get_opfamily_member(INTEGER_BTREE_FAM_OID, INT8OID, INT8OID,
										   strategy);
	Var		   *var = makeVar(rel->relid, attno, INT8OID, -1, InvalidOid, 0);
	Expr	   *func = (Expr *) makeFuncExpr(funcid, INT8OID, NIL, InvalidOid,
											 InvalidOid, COERCE_EXPLICIT_CALL);
	Expr	   *clause = make_opclause(opno, BOOLOID, false, (Expr *) var, func,
									   InvalidOid, InvalidOid);
	RestrictInfo *rinfo;

	set_opfuncid((OpExpr *) clause);
	rinfo = make_restrictinfo(root, clause, true, false, false, 0,
							  NULL, NULL, NULL);
	if (estimate_version == STAGING_VERSION_ALL)
		rinfo->norm_selec = 1.0;
	else
	{
		Const	   *value = makeConst(INT8OID, -1, InvalidOid, sizeof(int64),
									  Int64GetDatum(estimate_version), false,
									  FLOAT8PASSBYVAL);

		rinfo->norm_selec = restriction_selectivity(root, opno,
													list_make2(var, value),
													InvalidOid, rel->relid);
	}
	rinfo->outer_selec = rinfo->norm_selec;
	return rinfo;
}

/* The two clauses of the filter for a scan of a versioned main table. */
static List *
version_filter(PlannerInfo *root, RelOptInfo *rel, const VersionedRel *entry)
{
	int64		estimate = staging_estimate_version();

	lookup_filter_functions();
	return list_make2(filter_clause(root, rel,
									version_column(entry->relid, entry->created_in_attno, "created_in"),
									BTLessEqualStrategyNumber, read_upper_funcid,
									estimate),
					  filter_clause(root, rel,
									version_column(entry->relid, entry->updated_in_attno, "updated_in"),
									BTGreaterStrategyNumber, read_lower_funcid,
									estimate));
}

/*
 * get_relation_info_hook: add the version filter to the restriction
 * clauses of a versioned main table read as a base relation.
 */
static void
staging_get_relation_info(PlannerInfo *root, Oid relid, bool inhparent,
						  RelOptInfo *rel)
{
	const VersionedRel *entry;

	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relid, inhparent, rel);

	if (rel->reloptkind != RELOPT_BASEREL)
		return;
	entry = registry_lookup(relid);
	if (entry == NULL || entry->kind != VERSIONED_MAIN)
		return;

	/*
	 * build_simple_rel registers the rel only after this hook; the
	 * selectivity estimate needs to find it.
	 */
	Assert(root->simple_rel_array[rel->relid] == NULL ||
		   root->simple_rel_array[rel->relid] == rel);
	root->simple_rel_array[rel->relid] = rel;
	PG_TRY();
	{
		rel->baserestrictinfo = list_concat(rel->baserestrictinfo,
											version_filter(root, rel, entry));
	}
	PG_FINALLY();
	{
		root->simple_rel_array[rel->relid] = NULL;
	}
	PG_END_TRY();
	rel->baserestrict_min_security = 0;
}

/* Does a list of restriction clauses hold the version filter? */
static bool
has_version_filter(List *clauses)
{
	ListCell   *lc;

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (IsA(rinfo->clause, OpExpr))
		{
			Expr	   *arg = lsecond(((OpExpr *) rinfo->clause)->args);

			if (IsA(arg, FuncExpr) &&
				((FuncExpr *) arg)->funcid == read_upper_funcid)
				return true;
		}
	}
	return false;
}

/* Turn index-only scans into index scans: the filter needs the heap row. */
static void
no_index_only_scans(List *paths)
{
	ListCell   *lc;

	foreach(lc, paths)
	{
		Path	   *path = (Path *) lfirst(lc);

		if (path->pathtype == T_IndexOnlyScan)
			path->pathtype = T_IndexScan;
	}
}

/*
 * set_rel_pathlist_hook: a versioned table read as a member of an append
 * relation whose parent did not pass the filter on (a UNION ALL leg, or a
 * child of a parent that is not versioned) checks the filter in its scan.
 */
static void
staging_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
						 RangeTblEntry *rte)
{
	const VersionedRel *entry;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (rel->reloptkind != RELOPT_OTHER_MEMBER_REL || rte->rtekind != RTE_RELATION)
		return;
	entry = registry_lookup(rte->relid);
	if (entry == NULL || entry->kind != VERSIONED_MAIN)
		return;
	lookup_filter_functions();
	if (has_version_filter(rel->baserestrictinfo))
		return;

	rel->baserestrictinfo = list_concat(rel->baserestrictinfo,
										version_filter(root, rel, entry));
	rel->baserestrict_min_security = 0;
	no_index_only_scans(rel->pathlist);
	no_index_only_scans(rel->partial_pathlist);
}

/* Install the planner hooks, chained to any previous ones. */
void
planner_init(void)
{
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = staging_get_relation_info;
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = staging_set_rel_pathlist;
	CacheRegisterSyscacheCallback(PROCOID, filter_functions_callback, (Datum) 0);
}
