/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  Make every scan of a versioned table see the rows valid at the
 *	  session version.
 *
 * The filter is
 *		created_in <= staging._version_filter_upper()
 *		AND updated_in > staging._version_filter_lower()
 * when the table holds several versions per entity and an index on
 * (entity, ..., created_in or updated_in) can use it, else the single call
 * staging._version_filter(created_in, updated_in).  A read at one version
 * also leaves the indexes for reading across versions out of the
 * planner's choices, unless the query has a condition on a version
 * column.  The filter is added to the scan of the versioned main table
 * itself, so it holds in every query shape (views and inlined SQL
 * functions are planned like the rest, the nullable side of an outer join
 * is filtered before the join, UPDATE/DELETE/MERGE only see visible target
 * rows).  The functions are STABLE, so the version is read at execution
 * and cached plans follow later changes of staging.version (see
 * version_filter.c).
 *
 * Where (hooks.c installs both hooks): get_relation_info_hook runs for every base relation the planner
 * builds, after views were expanded and SQL functions inlined.  There the
 * filter becomes an ordinary restriction clause (security level 0), so
 * user predicates stay usable as index quals, even with non-leakproof
 * functions (unlike securityQuals).  Members of an
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
#include "access/sysattr.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/restrictinfo.h"
#include "parser/parse_coerce.h"
#include "parser/parsetree.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/*
 * The filter functions, looked up again after any change of pg_proc (the
 * extension's schema survives DROP EXTENSION, so its OID is no key).  A
 * database still on extension version 1.0 (the library was upgraded, ALTER
 * EXTENSION UPDATE not run yet) has them under their 1.0 names.
 */
static bool filter_functions_valid = false;
static Oid	filter_upper_funcid = InvalidOid;
static Oid	filter_lower_funcid = InvalidOid;
static Oid	filter_funcid = InvalidOid;
static Oid	filter_upper_owned_funcid = InvalidOid;
static Oid	filter_lower_owned_funcid = InvalidOid;
static Oid	filter_owned_funcid = InvalidOid;
static Oid	attribute_funcid = InvalidOid;	/* InvalidOid in a 1.0 database */
static Oid	attribute_owned_funcid = InvalidOid;

/*
 * How many scans the planner gave a version filter, ever: planner_hook
 * (hooks.c) compares it before and after planning, and only walks the
 * finished plan of a query that got one (see planner_order_filters_first).
 */
static uint64 filters_attached = 0;

/* pg_proc changed (routed by hooks.c): look the functions up again. */
void
planner_invalidate_functions(void)
{
	filter_functions_valid = false;
}

/*
 * OID of the function staging.NAME, with nargs bigint arguments, or of
 * staging.OLD_NAME (its 1.0 name) when there is none; InvalidOid when
 * neither exists.
 */
static Oid
filter_function(const char *name, const char *old_name, int nargs, Oid schema)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	oidvector  *args = buildoidvector(argtypes, nargs);
	Oid			funcid;

	funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
							 CStringGetDatum(name), PointerGetDatum(args),
							 ObjectIdGetDatum(schema));
	if (!OidIsValid(funcid))
		funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
								 CStringGetDatum(old_name), PointerGetDatum(args),
								 ObjectIdGetDatum(schema));
	return funcid;
}

/* Make sure the OIDs of the filter functions are current. */
static void
lookup_filter_functions(void)
{
	Oid			schema = staging_schema_oid();

	if (filter_functions_valid)
		return;
	/* Mark valid first: an invalidation arriving while we look wins. */
	filter_functions_valid = true;
	filter_upper_funcid = filter_function("_version_filter_upper", "_read_upper", 0, schema);
	filter_lower_funcid = filter_function("_version_filter_lower", "_read_lower", 0, schema);
	filter_funcid = filter_function("_version_filter", "_read_visible", 2, schema);
	filter_upper_owned_funcid = filter_function("_version_filter_upper_owned",
												"_read_upper_owned", 0, schema);
	filter_lower_owned_funcid = filter_function("_version_filter_lower_owned",
												"_read_lower_owned", 0, schema);
	filter_owned_funcid = filter_function("_version_filter_owned",
										  "_read_visible_owned", 2, schema);
	{
		Oid			argtypes[2] = {REGCLASSOID, INT8OID};
		oidvector  *args = buildoidvector(argtypes, 2);

		attribute_funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
										   CStringGetDatum("_attribute_visible"),
										   PointerGetDatum(args),
										   ObjectIdGetDatum(schema));
		attribute_owned_funcid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
												 CStringGetDatum("_attribute_visible_owned"),
												 PointerGetDatum(args),
												 ObjectIdGetDatum(schema));
	}
	if (!OidIsValid(filter_upper_funcid) || !OidIsValid(filter_lower_funcid) ||
		!OidIsValid(filter_funcid) || !OidIsValid(filter_upper_owned_funcid) ||
		!OidIsValid(filter_lower_owned_funcid) || !OidIsValid(filter_owned_funcid))
	{
		filter_functions_valid = false;
		elog(ERROR, "the functions staging._version_filter_upper(), _version_filter_lower() and _version_filter() are missing; reinstall the extension");
	}
}

/*
 * What the planner needs per versioned table, cached per backend: the
 * version columns (checked once) and the selectivity of each side of the
 * filter at the version last estimated.  An entry goes with any relcache
 * invalidation of its table (ANALYZE, DDL, registration changes).
 */
typedef struct FilterEstimate
{
	Oid			relid;			/* hash key */
	AttrNumber	created_in_attno;
	AttrNumber	updated_in_attno;
	bool		estimated;
	int64		version;		/* estimated for this version */
	Selectivity upper_selec;	/* of created_in <= version */
	Selectivity lower_selec;	/* of updated_in > version */
	bool		across_known;	/* across_indexes filled in */
	int			n_across;
	Oid			across_indexes[4];	/* see across_versions_index() */
} FilterEstimate;

static HTAB *estimates = NULL;

/* The btree operators of the filter, pinned in the catalogs */
static Oid	int8le_opno = InvalidOid;
static Oid	int8le_funcid;
static Oid	int8gt_opno;
static Oid	int8gt_funcid;

/*
 * Relcache invalidation (routed by hooks.c): forget what we estimated for
 * a relation, or for all of them.
 */
void
planner_invalidate(Oid relid)
{
	HASH_SEQ_STATUS status;
	FilterEstimate *entry;

	if (estimates == NULL)
		return;
	if (OidIsValid(relid))
	{
		hash_search(estimates, &relid, HASH_REMOVE, NULL);
		return;
	}
	hash_seq_init(&status, estimates);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(estimates, &entry->relid, HASH_REMOVE, NULL);
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

/* The cache entry of a versioned main table, columns checked. */
static FilterEstimate *
filter_estimate(const VersionedRel *entry)
{
	FilterEstimate *estimate;
	bool		found;

	if (estimates == NULL)
	{
		estimates = blob_hash_create("staging filter estimates", 64, sizeof(Oid),
									 sizeof(FilterEstimate), CacheMemoryContext);
	}
	if (!OidIsValid(int8le_opno))
	{
		int8gt_opno = get_opfamily_member(INTEGER_BTREE_FAM_OID, INT8OID, INT8OID,
										  BTGreaterStrategyNumber);
		int8gt_funcid = get_opcode(int8gt_opno);
		int8le_funcid = get_opcode(get_opfamily_member(INTEGER_BTREE_FAM_OID,
													   INT8OID, INT8OID,
													   BTLessEqualStrategyNumber));
		int8le_opno = get_opfamily_member(INTEGER_BTREE_FAM_OID, INT8OID, INT8OID,
										  BTLessEqualStrategyNumber);
	}
	estimate = hash_search(estimates, &entry->relid, HASH_FIND, &found);
	if (estimate == NULL)
	{
		AttrNumber	created_in = version_column(entry->relid, entry->created_in_attno,
												"created_in");
		AttrNumber	updated_in = version_column(entry->relid, entry->updated_in_attno,
												"updated_in");

		estimate = hash_search(estimates, &entry->relid, HASH_ENTER, &found);
		estimate->created_in_attno = created_in;
		estimate->updated_in_attno = updated_in;
		estimate->estimated = false;
		estimate->across_known = false;
	}
	return estimate;
}

/* column OP staging.FUNC() as a restriction clause of the relation */
static RestrictInfo *
filter_clause(PlannerInfo *root, RelOptInfo *rel, AttrNumber attno,
			  Oid opno, Oid opfuncid, Oid funcid, Selectivity selec)
{
	Var		   *var = makeVar(rel->relid, attno, INT8OID, -1, InvalidOid, 0);
	Expr	   *func = (Expr *) makeFuncExpr(funcid, INT8OID, NIL, InvalidOid,
											 InvalidOid, COERCE_EXPLICIT_CALL);
	OpExpr	   *clause = (OpExpr *) make_opclause(opno, BOOLOID, false,
												  (Expr *) var, func,
												  InvalidOid, InvalidOid);
	RestrictInfo *rinfo;

	clause->opfuncid = opfuncid;
	rinfo = make_simple_restrictinfo(root, (Expr *) clause);
	rinfo->norm_selec = selec;
	rinfo->outer_selec = selec;
	return rinfo;
}

/*
 * Selectivity of column OP version, from the statistics, as for a
 * predicate written with a constant (the function is not evaluated).
 */
static Selectivity
version_selectivity(PlannerInfo *root, RelOptInfo *rel, AttrNumber attno,
					Oid opno, int64 version)
{
	Var		   *var = makeVar(rel->relid, attno, INT8OID, -1, InvalidOid, 0);
	Const	   *value = makeConst(INT8OID, -1, InvalidOid, sizeof(int64),
								  Int64GetDatum(version), false, FLOAT8PASSBYVAL);

	return restriction_selectivity(root, opno, list_make2(var, value),
								   InvalidOid, rel->relid);
}

/*
 * Can an index use the filter's bounds for a lookup by entity?  Only an
 * index that leads with the entity column and also holds created_in or
 * updated_in: there the bounds narrow the scan to the visible version.
 * Elsewhere (an index on created_in or updated_in alone) they would only
 * add index paths for the planner to try and reject.
 */
static bool
filter_helps_index(RelOptInfo *rel, const VersionedRel *entry,
				   const FilterEstimate *estimate)
{
	ListCell   *lc;

	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);
		int			i;

		if (index->nkeycolumns < 2 || index->indexkeys[0] != entry->entity_attno ||
			index->relam != BTREE_AM_OID)
			continue;
		for (i = 1; i < index->nkeycolumns; i++)
			if (index->indexkeys[i] == estimate->created_in_attno ||
				index->indexkeys[i] == estimate->updated_in_attno)
				return true;
	}
	return false;
}

/* Do these attribute numbers (of pull_varattnos) hold a version column? */
static bool
has_version_column(Bitmapset *attnos, const FilterEstimate *estimate)
{
	return bms_is_member(estimate->created_in_attno - FirstLowInvalidHeapAttributeNumber, attnos) ||
		bms_is_member(estimate->updated_in_attno - FirstLowInvalidHeapAttributeNumber, attnos);
}

/*
 * Is this index one for reading across versions: the exclusion
 * constraint's (an expression of the version columns) or one leading with
 * created_in or updated_in?  staging's own queries (advance, reschedule,
 * changelogs) use them, reading at 'all'.
 */
static bool
across_versions_index(IndexOptInfo *index, const FilterEstimate *estimate)
{
	Bitmapset  *attnos = NULL;

	if (index->indexkeys[0] == estimate->created_in_attno ||
		index->indexkeys[0] == estimate->updated_in_attno)
		return true;
	if (index->indexkeys[0] != 0)
		return false;
	pull_varattnos((Node *) index->indexprs, index->rel->relid, &attnos);
	return has_version_column(attnos, estimate);
}

/*
 * The indexes for reading across versions (found once per table and
 * relcache entry), in estimate->across_indexes.
 */
static void
find_across_versions_indexes(RelOptInfo *rel, FilterEstimate *estimate)
{
	ListCell   *lc;

	if (estimate->across_known)
		return;
	estimate->n_across = 0;
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

		if (estimate->n_across < (int) lengthof(estimate->across_indexes) &&
			across_versions_index(index, estimate))
			estimate->across_indexes[estimate->n_across++] = index->indexoid;
	}
	estimate->across_known = true;
}

/* Is the index one of estimate->across_indexes? */
static bool
is_across_versions_index(IndexOptInfo *index, const FilterEstimate *estimate)
{
	int			i;

	for (i = 0; i < estimate->n_across; i++)
		if (index->indexoid == estimate->across_indexes[i])
			return true;
	return false;
}

/* Walker context of refers_to_column: a column of a relation of the query. */
typedef struct ColumnUse
{
	int			varno;
	AttrNumber	attno;
	Index		sublevels_up;
} ColumnUse;

/* Does an expression (or a sublink's query in it) use the column? */
static bool
refers_to_column(Node *node, ColumnUse *column)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return (int) var->varno == column->varno &&
			var->varlevelsup == column->sublevels_up &&
			(var->varattno == column->attno || var->varattno == InvalidAttrNumber);
	}
	if (IsA(node, Query))
	{
		bool		found;

		column->sublevels_up++;
		found = query_tree_walker((Query *) node, refers_to_column, column, 0);
		column->sublevels_up--;
		return found;
	}
	return expression_tree_walker(node, refers_to_column, column);
}

/*
 * Does a condition of the join tree use the column, other than the
 * condition of a LEFT JOIN that has the relation on its preserved side?
 * Only such a condition can never become an index condition of the
 * relation: the planner does not move an outer join's condition into its
 * preserved side.
 */
static bool
jointree_uses_column(Node *jtnode, ColumnUse *column)
{
	if (jtnode == NULL)			/* plan_create_index_workers' query */
		return false;
	if (IsA(jtnode, RangeTblRef))
		return false;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *from = (FromExpr *) jtnode;
		ListCell   *lc;

		foreach(lc, from->fromlist)
			if (jointree_uses_column(lfirst(lc), column))
				return true;
		return refers_to_column(from->quals, column);
	}
	if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;

		if (jointree_uses_column(join->larg, column) ||
			jointree_uses_column(join->rarg, column))
			return true;
		if (join->jointype == JOIN_LEFT &&
			bms_is_member(column->varno, compat_jointree_base_relids(join->larg)))
			return false;
		return refers_to_column(join->quals, column);
	}
	return true;
}

/*
 * Can an index leading with row_id help this query read the relation?
 * Only if a condition could look its rows up by row_id, or the query sorts
 * or groups by it.  Magento's listings join each attribute table to the
 * main table by row_id in a LEFT JOIN: there the index could only offer a
 * presorted scan for merge joins that a read of one version never needs,
 * and considering it made planning such a listing about 7 % dearer.
 */
static bool
row_id_index_useful(PlannerInfo *root, RelOptInfo *rel, AttrNumber row_id_attno)
{
	Query	   *parse = root->parse;
	ColumnUse	column = {(int) rel->relid, row_id_attno, 0};
	ListCell   *lc;

	if (parse->commandType == CMD_MERGE || root->hasLateralRTEs ||
		parse->groupingSets != NIL || parse->windowClause != NIL)
		return true;
	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);

		if (tle->ressortgroupref != 0 && refers_to_column((Node *) tle->expr, &column))
			return true;
	}
	return jointree_uses_column((Node *) parse->jointree, &column);
}

/*
 * Leave out of the planner's choices the indexes a read at one version
 * cannot use, which saves planning time on every query: it sees about one
 * row per entity, so the indexes for reading across versions could not
 * help it unless the query itself has a condition on created_in or
 * updated_in; and an index leading with row_id helps only where
 * row_id_index_useful() says so.
 */
static void
hide_unusable_indexes(PlannerInfo *root, RelOptInfo *rel, const VersionedRel *entry,
					  FilterEstimate *estimate)
{
	Bitmapset  *attnos = NULL;
	bool		hide_across;
	bool		hide_row_id;
	List	   *kept = NIL;
	ListCell   *lc;

	pull_varattnos((Node *) root->parse->jointree, rel->relid, &attnos);
	hide_across = !has_version_column(attnos, estimate);
	if (hide_across)
		find_across_versions_indexes(rel, estimate);
	hide_row_id = !row_id_index_useful(root, rel, entry->row_id_attno);
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

		if (hide_across && is_across_versions_index(index, estimate))
			continue;
		if (hide_row_id && index->indexkeys[0] == entry->row_id_attno)
			continue;
		kept = lappend(kept, index);
	}
	rel->indexlist = kept;
}

/*
 * Does the current user read the table as its owner (and not as a
 * superuser, whose own choice of version passes the check anyway)?  Its
 * filters are then the _owned functions, which make sure at execution
 * that the version read is one it chose itself, and the plan depends on
 * the role.
 */
static bool
reads_as_owner(Oid relid)
{
	return !superuser() && object_ownercheck(RelationRelationId, relid, GetUserId());
}

/* The version filter of relation varno: _version_filter(created_in, updated_in). */
static Expr *
version_filter_expr(Index varno, AttrNumber created_in_attno, AttrNumber updated_in_attno,
					bool owned)
{
	return (Expr *) makeFuncExpr(owned ? filter_owned_funcid : filter_funcid, BOOLOID,
								 list_make2(makeVar(varno, created_in_attno, INT8OID, -1, InvalidOid, 0),
											makeVar(varno, updated_in_attno, INT8OID, -1, InvalidOid, 0)),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
}

/*
 * The attribute filter of relation varno, an attribute table of main
 * table main_relid: _attribute_visible(main table, row_id::bigint).
 */
static Expr *
attribute_filter_expr(Index varno, const VersionedRel *entry, Oid main_relid, bool owned)
{
	Node	   *row_id = (Node *) makeVar(varno, entry->row_id_attno, entry->row_id_type,
										  -1, InvalidOid, 0);

	if (entry->row_id_type != INT8OID)
		row_id = coerce_to_target_type(NULL, row_id, entry->row_id_type, INT8OID, -1,
									   COERCION_IMPLICIT, COERCE_IMPLICIT_CAST, -1);
	if (row_id == NULL)
		elog(ERROR, "row_id of attribute table %s is not an integer",
			 get_rel_name(entry->relid));
	return (Expr *) makeFuncExpr(owned ? attribute_owned_funcid : attribute_funcid, BOOLOID,
								 list_make2(makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
													  ObjectIdGetDatum(main_relid), false, true),
											row_id),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
}

/*
 * The filter for a scan of a versioned main table, with its selectivity at
 * the version the session reads now (estimated once per table and
 * version; only statistics depend on it).  Two clauses that an index can
 * use when one helps (see filter_helps_index) and the table holds several
 * versions per entity (the filter keeps less than half of the rows), else
 * the single clause staging._version_filter(created_in, updated_in), which
 * is cheaper to plan and to start: with about one row per entity the
 * bounds could not narrow a lookup anyway.  For a scan the planner has not
 * built paths for yet (indexable), it also leaves out the indexes a read
 * at one version cannot use (see hide_unusable_indexes).
 */
static List *
version_filter(PlannerInfo *root, RelOptInfo *rel, const VersionedRel *entry,
			   bool indexable)
{
	FilterEstimate *estimate = filter_estimate(entry);
	int64		version = staging_setting_version();
	RestrictInfo *rinfo;
	Expr	   *visible;
	bool		owned;

	lookup_filter_functions();
	if (!estimate->estimated || estimate->version != version)
	{
		Selectivity upper = 1.0;
		Selectivity lower = 1.0;

		if (version != STAGING_VERSION_ALL)
		{
			upper = version_selectivity(root, rel, estimate->created_in_attno,
										int8le_opno, version);
			lower = version_selectivity(root, rel, estimate->updated_in_attno,
										int8gt_opno, version);
		}
		/* (the entry may have gone with an invalidation meanwhile) */
		estimate = filter_estimate(entry);
		estimate->upper_selec = upper;
		estimate->lower_selec = lower;
		estimate->version = version;
		estimate->estimated = true;
	}

	/* a table owner reads without the privilege check (see reads_as_owner) */
	owned = reads_as_owner(entry->relid);
	if (owned)
		root->glob->dependsOnRole = true;

	filters_attached++;
	if (indexable && version != STAGING_VERSION_ALL)
		hide_unusable_indexes(root, rel, entry, estimate);
	if (indexable && estimate->upper_selec * estimate->lower_selec < 0.5 &&
		filter_helps_index(rel, entry, estimate))
		return list_make2(filter_clause(root, rel, estimate->created_in_attno,
										int8le_opno, int8le_funcid,
										owned ? filter_upper_owned_funcid : filter_upper_funcid,
										estimate->upper_selec),
						  filter_clause(root, rel, estimate->updated_in_attno,
										int8gt_opno, int8gt_funcid,
										owned ? filter_lower_owned_funcid : filter_lower_funcid,
										estimate->lower_selec));

	visible = version_filter_expr(rel->relid, estimate->created_in_attno,
								  estimate->updated_in_attno, owned);
	rinfo = make_simple_restrictinfo(root, visible);
	rinfo->norm_selec = estimate->upper_selec * estimate->lower_selec;
	rinfo->outer_selec = rinfo->norm_selec;
	return list_make1(rinfo);
}

/* A Var, under any binary-compatible relabeling, or NULL. */
static Var *
plain_var(Node *node)
{
	while (node != NULL && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL || !IsA(node, Var) || ((Var *) node)->varlevelsup != 0)
		return NULL;
	return (Var *) node;
}

/*
 * Is a condition "column = $n" (a key check's; $n folded into a constant
 * in a custom plan), or an AND of them (a list, as the planner keeps it)?
 */
static bool
is_key_condition(Node *node)
{
	List	   *args;
	Node	   *value;

	if (node == NULL)
		return false;
	if (IsA(node, List) || is_andclause(node))
	{
		ListCell   *lc;

		foreach(lc, IsA(node, List) ? (List *) node : ((BoolExpr *) node)->args)
		{
			if (!is_key_condition(lfirst(lc)))
				return false;
		}
		return true;
	}
	if (!IsA(node, OpExpr) || list_length(((OpExpr *) node)->args) != 2)
		return false;
	args = ((OpExpr *) node)->args;
	value = lsecond(args);
	while (IsA(value, RelabelType))
		value = (Node *) ((RelabelType *) value)->arg;
	return plain_var(linitial(args)) != NULL &&
		(IsA(value, Const) ||
		 (IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXTERN));
}

/* The one target a key check selects (a constant), junk columns aside. */
static bool
selects_one_constant(List *tlist)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		if (!IsA(tle->expr, Const))
			return false;
		n++;
	}
	return n == 1;
}

/*
 * Is this query a foreign key's check of a key in the table?  ri_triggers.c
 * runs "SELECT 1 FROM ONLY t x WHERE key = $1 ... FOR KEY SHARE OF x" as
 * the table's owner, exempt from row security, and it must find every
 * version row (an attribute row may belong to a future one): the version
 * filter would let every row through at execution (read_version), so the
 * check gets none, one expression less to start and run for each row a
 * load of attribute rows checks.  Only that exact shape, planned in the
 * check's exempt context by the owner: what else runs during the check
 * (a user's trigger fired by a cascade) keeps its filter.
 */
static bool
is_key_check(PlannerInfo *root, Oid relid)
{
	Query	   *parse = root->parse;
	RangeTblEntry *rte;
	RowMarkClause *mark;

	if (!InNoForceRLSOperation() || root->parent_root != NULL ||
		parse->commandType != CMD_SELECT || parse->hasSubLinks ||
		parse->hasAggs || parse->hasWindowFuncs || parse->hasTargetSRFs ||
		parse->cteList != NIL || parse->groupClause != NIL ||
		parse->havingQual != NULL || parse->distinctClause != NIL ||
		parse->sortClause != NIL || parse->limitCount != NULL ||
		parse->limitOffset != NULL || parse->setOperations != NULL ||
		list_length(parse->rtable) != 1 || list_length(parse->rowMarks) != 1 ||
		list_length(parse->jointree->fromlist) != 1)
		return false;
	rte = linitial_node(RangeTblEntry, parse->rtable);
	mark = linitial_node(RowMarkClause, parse->rowMarks);
	if (rte->rtekind != RTE_RELATION || rte->inh || rte->relid != relid ||
		mark->strength != LCS_FORKEYSHARE || !selects_one_constant(parse->targetList) ||
		!is_key_condition(parse->jointree->quals))
		return false;
	return object_ownercheck(RelationRelationId, relid, GetUserId());
}

/*
 * get_relation_info_hook (hooks.c): add the version filter to the
 * restriction clauses of a versioned main table read as a base relation.
 */
void
planner_filter_base_rel(PlannerInfo *root, Oid relid, RelOptInfo *rel)
{
	const VersionedRel *entry;

	if (rel->reloptkind != RELOPT_BASEREL)
		return;
	entry = registry_lookup(relid);
	if (entry == NULL || entry->kind != VERSIONED_MAIN)
		return;
	if (is_key_check(root, relid))
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
											version_filter(root, rel, entry, true));
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

		if (IsA(rinfo->clause, FuncExpr) &&
			(((FuncExpr *) rinfo->clause)->funcid == filter_funcid ||
			 ((FuncExpr *) rinfo->clause)->funcid == filter_owned_funcid))
			return true;
		if (IsA(rinfo->clause, OpExpr) &&
			list_length(((OpExpr *) rinfo->clause)->args) == 2)
		{
			Expr	   *arg = lsecond(((OpExpr *) rinfo->clause)->args);

			if (IsA(arg, FuncExpr) &&
				(((FuncExpr *) arg)->funcid == filter_upper_funcid ||
				 ((FuncExpr *) arg)->funcid == filter_upper_owned_funcid))
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
 * Give a scan whose paths are built already a filter of its own, first
 * among its quals: in the relation's restrictions, and in each index's
 * copy of them, which a plain or index-only index scan enforces instead
 * (PostgreSQL copies them when it builds the index paths; a scan with no
 * condition of its own had an empty list, which appending to the
 * relation's does not reach).  Index-only scans become index scans.
 */
static void
add_filter_to_built_rel(RelOptInfo *rel, List *filter)
{
	ListCell   *lc;

	rel->baserestrictinfo = list_concat(rel->baserestrictinfo, filter);
	rel->baserestrict_min_security = 0;
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);
		ListCell   *f;

		foreach(f, filter)
			if (!list_member_ptr(index->indrestrictinfo, lfirst(f)))
				index->indrestrictinfo = lappend(index->indrestrictinfo, lfirst(f));
	}
	no_index_only_scans(rel->pathlist);
	no_index_only_scans(rel->partial_pathlist);
}

/*
 * A versioned main table read as a member of an append relation whose
 * parent did not pass the filter on (a UNION ALL leg, or a child of a
 * parent that is not versioned) checks the filter in its scan.
 */
static void
filter_member_rel(PlannerInfo *root, RelOptInfo *rel, const VersionedRel *entry)
{
	lookup_filter_functions();
	if (has_version_filter(rel->baserestrictinfo))
		return;

	add_filter_to_built_rel(rel, version_filter(root, rel, entry, false));
}

/*
 * Is this clause attribute.row_id = main.row_id, for the attribute table
 * at range table index relid and a scan of its main table (which the
 * planner filters)?
 */
static bool
is_row_id_join(PlannerInfo *root, Node *clause, Index relid,
			   const VersionedRel *entry, const VersionedRel *main)
{
	OpExpr	   *op = (OpExpr *) clause;
	Var		   *left;
	Var		   *right;
	int			i;

	if (!IsA(clause, OpExpr) || list_length(op->args) != 2 ||
		!op_mergejoinable(op->opno, exprType(linitial(op->args))))
		return false;
	left = plain_var(linitial(op->args));
	right = plain_var(lsecond(op->args));
	for (i = 0; i < 2 && left != NULL && right != NULL; i++)
	{
		Var		   *attr = i == 0 ? left : right;
		Var		   *other = i == 0 ? right : left;

		if ((Index) attr->varno == relid && attr->varattno == entry->row_id_attno &&
			(Index) other->varno != relid && other->varattno == main->row_id_attno &&
			other->varno > 0 && other->varno < root->simple_rel_array_size)
		{
			RangeTblEntry *rte = root->simple_rte_array[other->varno];

			if (rte != NULL && rte->rtekind == RTE_RELATION &&
				rte->relid == main->relid)
				return true;
		}
	}
	return false;
}

/* Does a qual (a list, an AND, or one clause) hold a row_id join? */
static bool
quals_join_main(PlannerInfo *root, Node *quals, Index relid,
				const VersionedRel *entry, const VersionedRel *main)
{
	ListCell   *lc;

	if (quals == NULL)
		return false;
	if (IsA(quals, List) || is_andclause(quals))
	{
		foreach(lc, IsA(quals, List) ? (List *) quals : ((BoolExpr *) quals)->args)
			if (quals_join_main(root, lfirst(lc), relid, entry, main))
				return true;
		return false;
	}
	return is_row_id_join(root, quals, relid, entry, main);
}

/*
 * Walk the join tree down to the attribute table at range table index
 * relid: -1 when it is not below jtnode, 1 when a condition that every row
 * of it that reaches the query's result (or decides a semi or anti join)
 * must satisfy joins it to its main table by row_id, else 0.  Those are
 * the conditions of WHERE, of inner joins, and of outer, semi and anti
 * joins that have the table on their nullable (inner) side.
 */
static int
joined_to_main(PlannerInfo *root, Node *jtnode, Index relid,
			   const VersionedRel *entry, const VersionedRel *main)
{
	check_stack_depth();
	if (jtnode == NULL)
		return -1;
	if (IsA(jtnode, RangeTblRef))
		return ((RangeTblRef *) jtnode)->rtindex == (int) relid ? 0 : -1;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *from = (FromExpr *) jtnode;
		ListCell   *lc;

		foreach(lc, from->fromlist)
		{
			int			found = joined_to_main(root, lfirst(lc), relid, entry, main);

			if (found >= 0)
				return found == 1 ||
					quals_join_main(root, from->quals, relid, entry, main) ? 1 : 0;
		}
		return -1;
	}
	if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) jtnode;
		int			left = joined_to_main(root, join->larg, relid, entry, main);
		int			right = left >= 0 ? -1 : joined_to_main(root, join->rarg, relid, entry, main);
		bool		binding;

		if (left == 1 || right == 1)
			return 1;
		if (left < 0 && right < 0)
			return -1;
		switch (join->jointype)
		{
			case JOIN_INNER:
				binding = true;
				break;
			case JOIN_LEFT:
			case JOIN_SEMI:
			case JOIN_ANTI:
				binding = right == 0;
				break;
			case JOIN_RIGHT:
				binding = left == 0;
				break;
			default:
				binding = false;
				break;
		}
		return binding && quals_join_main(root, join->quals, relid, entry, main) ? 1 : 0;
	}
	return 0;
}

/*
 * May a scan of this attribute table go without the attribute filter?
 * Only when the query joins it to its main table by row_id, so that every
 * attribute row it uses belongs to a visible main row, and no function
 * that is not leakproof sees its rows before that join: none in its
 * conditions, join conditions, equivalence classes or the expressions
 * computed in its scan.
 */
static bool
attribute_filter_redundant(PlannerInfo *root, RelOptInfo *rel,
						   const VersionedRel *entry, const VersionedRel *main)
{
	ListCell   *lc;

	if (joined_to_main(root, (Node *) root->parse->jointree, rel->relid,
					   entry, main) != 1)
		return false;
	foreach(lc, rel->baserestrictinfo)
		if (contain_leaked_vars((Node *) lfirst_node(RestrictInfo, lc)->clause))
			return false;
	foreach(lc, rel->joininfo)
		if (contain_leaked_vars((Node *) lfirst_node(RestrictInfo, lc)->clause))
			return false;
	foreach(lc, rel->reltarget->exprs)
		if (!IsA(lfirst(lc), Var) && contain_leaked_vars((Node *) lfirst(lc)))
			return false;
	foreach(lc, root->eq_classes)
	{
		EquivalenceClass *ec = (EquivalenceClass *) lfirst(lc);
		ListCell   *lm;

		if (!bms_is_member(rel->relid, ec->ec_relids))
			continue;
		foreach(lm, ec->ec_members)
		{
			Node	   *expr = (Node *) ((EquivalenceMember *) lfirst(lm))->em_expr;

			if (!IsA(expr, Var) && !IsA(expr, Const) && contain_leaked_vars(expr))
				return false;
		}
	}
	return true;
}

/* Does a list of restriction clauses hold the attribute filter? */
static bool
has_attribute_filter(List *clauses)
{
	ListCell   *lc;

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (IsA(rinfo->clause, FuncExpr) &&
			(((FuncExpr *) rinfo->clause)->funcid == attribute_funcid ||
			 ((FuncExpr *) rinfo->clause)->funcid == attribute_owned_funcid))
			return true;
	}
	return false;
}

/*
 * An attribute table shows the attribute rows of visible main rows only:
 * its scan checks staging._attribute_visible(main table, row_id), which
 * probes the main table's row_id index (see version_filter.c), unless the
 * query joins it to its main table by row_id anyway (see
 * attribute_filter_redundant).  Added after the paths were built, when
 * the join tree and its equivalence classes are known; planner_hook puts
 * it first among the scan's quals.
 */
static void
filter_attribute_rel(PlannerInfo *root, RelOptInfo *rel, const VersionedRel *entry)
{
	const VersionedRel *main = registry_lookup(entry->main_relid);
	RestrictInfo *rinfo;
	bool		owned;

	if (main == NULL || main->kind != VERSIONED_MAIN)
		return;
	lookup_filter_functions();
	if (!OidIsValid(attribute_funcid) || !OidIsValid(attribute_owned_funcid) ||
		has_attribute_filter(rel->baserestrictinfo))
		return;
	if (rel->reloptkind == RELOPT_BASEREL &&
		attribute_filter_redundant(root, rel, entry, main))
		return;

	owned = reads_as_owner(main->relid);
	if (owned)
		root->glob->dependsOnRole = true;
	rinfo = make_simple_restrictinfo(root, attribute_filter_expr(rel->relid, entry, main->relid,
																 owned));
	rinfo->norm_selec = 1.0;
	rinfo->outer_selec = 1.0;
	add_filter_to_built_rel(rel, list_make1(rinfo));
	filters_attached++;
}

/*
 * The ON CONFLICT DO UPDATE of an INSERT into a versioned main or
 * attribute table: the row a new row conflicts with may be a version row
 * that the session version does not show (a future or history row, found
 * by an explicit row_id or another unique key), and PostgreSQL evaluates
 * the statement's WHERE and SET expressions on it before any trigger sees
 * it.  The version filter (the attribute filter) goes first in that WHERE:
 * a hidden row is left alone as if the WHERE were false (the row count
 * tells that a row conflicted, as with DO NOTHING).  For the query and
 * the data-modifying WITH queries in it; returns true when the plan
 * depends on the role (a filter for the table's owner).
 */
bool
planner_filter_on_conflict(Query *parse)
{
	bool		depends_on_role = false;
	ListCell   *lc;

	foreach(lc, parse->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (IsA(cte->ctequery, Query) &&
			planner_filter_on_conflict((Query *) cte->ctequery))
			depends_on_role = true;
	}
	if (parse->onConflict != NULL && parse->onConflict->action == ONCONFLICT_UPDATE &&
		parse->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(parse->resultRelation, parse->rtable);
		const VersionedRel *entry = registry_lookup(rte->relid);
		const VersionedRel *main = entry ? registry_lookup(entry->main_relid) : NULL;
		Index		target = (Index) parse->resultRelation;
		Expr	   *visible;
		bool		owned;

		if (main == NULL || main->kind != VERSIONED_MAIN)
			return depends_on_role;
		lookup_filter_functions();
		owned = reads_as_owner(main->relid);
		if (entry->kind == VERSIONED_MAIN)
			visible = version_filter_expr(target, entry->created_in_attno,
										  entry->updated_in_attno, owned);
		else if (OidIsValid(attribute_funcid) && OidIsValid(attribute_owned_funcid))
			visible = attribute_filter_expr(target, entry, main->relid, owned);
		else
			return depends_on_role;
		/* (quals are evaluated in the order written: the filter first) */
		parse->onConflict->onConflictWhere = parse->onConflict->onConflictWhere == NULL ?
			(Node *) visible :
			(Node *) make_andclause(list_make2(visible, parse->onConflict->onConflictWhere));
		if (owned)
			depends_on_role = true;
	}
	return depends_on_role;
}

/*
 * set_rel_pathlist_hook (hooks.c): the paths of a relation are built.  An
 * attribute table gets the attribute filter (see filter_attribute_rel); a
 * versioned main table read as an append member the version filter, if
 * its parent did not pass it on.
 */
void
planner_filter_member_rel(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	const VersionedRel *entry;

	if (rte->rtekind != RTE_RELATION ||
		(rel->reloptkind != RELOPT_BASEREL && rel->reloptkind != RELOPT_OTHER_MEMBER_REL))
		return;
	entry = registry_lookup(rte->relid);
	if (entry == NULL)
		return;
	if (entry->kind == VERSIONED_ATTRIBUTE)
		filter_attribute_rel(root, rel, entry);
	else if (rel->reloptkind == RELOPT_OTHER_MEMBER_REL)
		filter_member_rel(root, rel, entry);
}

/* How many scans got a version filter so far (see planner_hook). */
uint64
planner_filter_count(void)
{
	return filters_attached;
}

/* Is this expression a call of one of the filter functions? */
static bool
is_filter_call(Node *node)
{
	Oid			funcid;

	if (node == NULL || !IsA(node, FuncExpr))
		return false;
	funcid = ((FuncExpr *) node)->funcid;
	return funcid == filter_funcid || funcid == filter_owned_funcid ||
		(OidIsValid(attribute_funcid) &&
		 (funcid == attribute_funcid || funcid == attribute_owned_funcid)) ||
		funcid == filter_upper_funcid || funcid == filter_upper_owned_funcid ||
		funcid == filter_lower_funcid || funcid == filter_lower_owned_funcid;
}

/*
 * Is this qual (an element of a plan node's implicitly ANDed qual list) a
 * clause of the version filter: staging._version_filter(...), or
 * column <= staging._version_filter_upper() and its lower twin?
 */
static bool
is_filter_clause(Node *qual)
{
	if (is_filter_call(qual))
		return true;
	if (IsA(qual, OpExpr) && list_length(((OpExpr *) qual)->args) == 2)
		return is_filter_call(lsecond(((OpExpr *) qual)->args));
	return false;
}

/*
 * A qual list with the clauses of the version filter first, the others in
 * the order the planner chose (order_qual_clauses: by cost, then security
 * level).  The executor evaluates the list in order and stops at the first
 * false clause, so no other clause sees a row the filter rejects.
 */
static List *
filters_first(List *quals)
{
	List	   *filters = NIL;
	List	   *others = NIL;
	ListCell   *lc;
	bool		misplaced = false;

	foreach(lc, quals)
	{
		Node	   *qual = (Node *) lfirst(lc);

		if (is_filter_clause(qual))
		{
			if (others != NIL)
				misplaced = true;
			filters = lappend(filters, qual);
		}
		else
			others = lappend(others, qual);
	}
	if (!misplaced)
		return quals;
	return list_concat(filters, others);
}

/* Put the version filter first in every node of a plan tree. */
static void
order_plan_tree(Plan *plan)
{
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return;
	check_stack_depth();
	plan->qual = filters_first(plan->qual);
	switch (nodeTag(plan))
	{
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_SubqueryScan:
			children = list_make1(((SubqueryScan *) plan)->subplan);
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		default:
			break;
	}
	foreach(lc, children)
		order_plan_tree((Plan *) lfirst(lc));
	order_plan_tree(plan->lefttree);
	order_plan_tree(plan->righttree);
}

/*
 * planner_hook (hooks.c), after planning a query that got a version filter:
 * the planner orders a scan's quals by cost (order_qual_clauses), so a user
 * function declared cheaper than the filter would see rows of every
 * version first.  Move the filter's clauses to the front of the qual list
 * of every node (the filter is only ever in scans of versioned tables),
 * in the main plan and in every SubPlan, InitPlan and CTE plan.  Index
 * conditions are not quals: the index access method evaluates them with
 * its operator family's operators, before the filter, as for row-level
 * security.
 */
void
planner_order_filters_first(PlannedStmt *stmt)
{
	ListCell   *lc;

	lookup_filter_functions();
	order_plan_tree(stmt->planTree);
	foreach(lc, stmt->subplans)
		order_plan_tree((Plan *) lfirst(lc));
}
