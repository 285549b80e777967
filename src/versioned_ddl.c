/*-------------------------------------------------------------------------
 *
 * versioned_ddl.c
 *	  C helpers of staging.enable_versioning and add_attribute_table.
 *
 * staging._move_foreign_key() points a foreign key at another table
 * without rescanning the referencing table when that is provably
 * unnecessary: versioning a catalog moves the foreign keys of every
 * attribute and relation table (millions of rows) twice, and each
 * ordinary validation would read them all.
 *
 * staging._version_box() is the key of the exclusion constraint that
 * keeps the versions of an entity from overlapping; its operator class
 * staging.version_box_ops sorts the keys, so that the constraint's gist
 * index is built by sorting (as a btree is) rather than by inserting
 * every row, and answers the overlap check and the insert's choice of
 * page with functions of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/gist.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/geo_decls.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/sortsupport.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_move_foreign_key);
PG_FUNCTION_INFO_V1(staging_version_box);
PG_FUNCTION_INFO_V1(staging_version_box_sortsupport);
PG_FUNCTION_INFO_V1(staging_version_box_consistent);
PG_FUNCTION_INFO_V1(staging_version_box_penalty);

/*
 * True when every non-null value of column a of relation ra is also a value
 * of column b of relation rb (one anti-join of the two referenced tables,
 * which are small next to the tables referencing them).
 */
static bool
values_contained(Oid ra, const char *a, Oid rb, const char *b)
{
	char	   *query;
	bool		isnull;
	Datum		result;

	query = psprintf("SELECT NOT EXISTS (SELECT FROM ONLY %s x WHERE x.%s IS NOT NULL "
					 "AND NOT EXISTS (SELECT FROM ONLY %s y WHERE y.%s OPERATOR(pg_catalog.=) x.%s))",
					 relation_qualified_name(ra), quote_identifier(a),
					 relation_qualified_name(rb), quote_identifier(b), quote_identifier(a));
	if (SPI_execute(query, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "staging: could not compare %s with %s", get_rel_name(ra),
			 get_rel_name(rb));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(result);
}

/* Is this column a smallint, integer or bigint? */
static bool
is_integer_column(Oid relid, const char *column)
{
	AttrNumber	attno = get_attnum(relid, column);
	Oid			type;

	if (attno == InvalidAttrNumber)
		return false;
	type = get_atttype(relid, attno);
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

/* The one column of a single-column key array of a pg_constraint row. */
static AttrNumber
single_key(HeapTuple tuple, AttrNumber attno, const char *conname)
{
	bool		isnull;
	Datum		keys = SysCacheGetAttr(CONSTROID, tuple, attno, &isnull);
	Datum	   *elems;
	int			n;

	if (isnull)
		elog(ERROR, "staging: foreign key \"%s\" has no columns", conname);
	deconstruct_array(DatumGetArrayTypeP(keys), INT2OID, sizeof(int16), true,
					  TYPALIGN_SHORT, &elems, NULL, &n);
	if (n != 1)
		elog(ERROR, "staging: foreign key \"%s\" is not on a single column", conname);
	return DatumGetInt16(elems[0]);
}

/*
 * The caller of staging._move_foreign_key() must have the REFERENCES
 * privilege on the target column (as ALTER TABLE ... ADD FOREIGN KEY will
 * check) before the target is locked: else any role that owns a table
 * with a foreign key (a temporary one will do) would hold a lock that
 * stops every write of any table, for as long as its proof reads.
 */
static void
check_may_reference(Oid target, const char *target_column, const char *conname)
{
	Oid			user = GetUserId();
	AttrNumber	attnum;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(target)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", target)));
	attnum = get_attnum(target, target_column);
	if (pg_class_aclcheck(target, user, ACL_REFERENCES) == ACLCHECK_OK ||
		(attnum != InvalidAttrNumber &&
		 pg_attribute_aclcheck(target, attnum, user, ACL_REFERENCES) == ACLCHECK_OK))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to point foreign key \"%s\" at %s",
					conname, relation_qualified_name(target)),
			 errhint("A foreign key needs the REFERENCES privilege on the table or column it references.")));
}

/*
 * SQL: staging._move_foreign_key(con oid, target regclass, target_column
 * name, actions text DEFAULT NULL).  Makes the single-column foreign key
 * con reference target(target_column) instead, keeping its name, column,
 * and its actions and deferrability unless actions gives new ones (the
 * caller must own the referencing table).
 *
 * When con is validated and every value of the column it referenced is a
 * value of target_column, every referencing value is one too, so the new
 * constraint is marked validated without reading the referencing table --
 * exactly what ALTER TABLE ... VALIDATE CONSTRAINT would conclude.  The
 * tables are locked against writes first.  Otherwise it is validated as
 * usual.  (The proof is made for integer columns, compared with the
 * built-in equality, which is the foreign key's.)
 */
Datum
staging_move_foreign_key(PG_FUNCTION_ARGS)
{
	Oid			conoid;
	Oid			target;
	char	   *target_column;
	HeapTuple	tuple;
	Form_pg_constraint con;
	Oid			relid;
	Oid			old_target;
	char	   *conname;
	char	   *column;
	char	   *old_column;
	bool		valid;
	bool		proven;
	char	   *actions;
	char	   *query;
	Oid			newoid;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("staging._move_foreign_key: the constraint, the target table and its column must not be null")));
	conoid = PG_GETARG_OID(0);
	target = PG_GETARG_OID(1);
	target_column = NameStr(*PG_GETARG_NAME(2));
	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "staging: constraint %u does not exist", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tuple);
	if (con->contype != CONSTRAINT_FOREIGN)
		elog(ERROR, "staging: constraint %u is not a foreign key", conoid);
	relid = con->conrelid;
	old_target = con->confrelid;
	valid = con->convalidated;
	conname = pstrdup(NameStr(con->conname));
	column = get_attname(relid, single_key(tuple, Anum_pg_constraint_conkey, conname), false);
	old_column = get_attname(old_target,
							 single_key(tuple, Anum_pg_constraint_confkey, conname), false);
	ReleaseSysCache(tuple);

	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
	check_may_reference(target, target_column, conname);

	/* no writes to the three tables until the end of the transaction */
	LockRelationOid(relid, ShareRowExclusiveLock);
	LockRelationOid(old_target, ShareRowExclusiveLock);
	LockRelationOid(target, ShareRowExclusiveLock);

	SPI_connect();
	/* the proof compares integers with the built-in equality only */
	proven = valid &&
		is_integer_column(relid, column) &&
		is_integer_column(old_target, old_column) &&
		is_integer_column(target, target_column) &&
		values_contained(old_target, old_column, target, target_column);

	if (!PG_ARGISNULL(3))
		actions = text_to_cstring(PG_GETARG_TEXT_PP(3));
	else
	{
		query = psprintf("SELECT staging._foreign_key_actions(%u)", conoid);
		if (SPI_execute(query, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "staging: could not read foreign key \"%s\"", conname);
		actions = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	query = psprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD CONSTRAINT %s "
					 "FOREIGN KEY (%s) REFERENCES %s (%s)%s%s",
					 relation_qualified_name(relid), quote_identifier(conname),
					 quote_identifier(conname), quote_identifier(column),
					 relation_qualified_name(target), quote_identifier(target_column),
					 actions ? actions : "", proven ? " NOT VALID" : "");
	if (SPI_execute(query, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "staging: could not move foreign key \"%s\"", conname);
	SPI_finish();

	if (proven)
	{
		Relation	conrel;
		HeapTuple	copy;

		/* as ATExecValidateConstraint does once its check passed */
		newoid = get_relation_constraint_oid(relid, conname, false);
		conrel = table_open(ConstraintRelationId, RowExclusiveLock);
		copy = SearchSysCacheCopy1(CONSTROID, ObjectIdGetDatum(newoid));
		if (!HeapTupleIsValid(copy))
			elog(ERROR, "staging: constraint %u does not exist", newoid);
		((Form_pg_constraint) GETSTRUCT(copy))->convalidated = true;
		CatalogTupleUpdate(conrel, &copy->t_self, copy);
		InvokeObjectPostAlterHook(ConstraintRelationId, newoid, 0);
		heap_freetuple(copy);
		table_close(conrel, RowExclusiveLock);
		CacheInvalidateRelcacheByRelid(relid);
		CommandCounterIncrement();
	}
	PG_RETURN_VOID();
}

/*
 * SQL: staging._version_box(entity, created_in, updated_in): the versions
 * [created_in, updated_in) of an entity as a box, a vertical segment at x
 * = entity from y = created_in to y = updated_in - 0.5, so that two rows'
 * boxes overlap exactly when they are of the same entity and their
 * versions overlap.  The exclusion constraint of a versioned table is a
 * gist index on it: one function call instead of an expression of a dozen
 * nodes, which every planning of a query on the table copies.
 */
Datum
staging_version_box(PG_FUNCTION_ARGS)
{
	float8		entity = (float8) PG_GETARG_INT64(0);
	float8		from = (float8) PG_GETARG_INT64(1);
	float8		to = (float8) PG_GETARG_INT64(2) - 0.5;
	BOX		   *box = (BOX *) palloc(sizeof(BOX));

	box->low.x = entity;
	box->high.x = entity;
	box->low.y = Min(from, to);
	box->high.y = Max(from, to);
	PG_RETURN_BOX_P(box);
}

/* Version boxes in order of entity, then versions. */
static int
version_box_cmp(Datum a, Datum b, SortSupport ssup)
{
	BOX		   *x = DatumGetBoxP(a);
	BOX		   *y = DatumGetBoxP(b);

	if (x->low.x != y->low.x)
		return x->low.x < y->low.x ? -1 : 1;
	if (x->low.y != y->low.y)
		return x->low.y < y->low.y ? -1 : 1;
	if (x->high.y != y->high.y)
		return x->high.y < y->high.y ? -1 : 1;
	return 0;
}

/*
 * SQL: staging._version_box_sortsupport(internal), the sort support of
 * operator class staging.version_box_ops: PostgreSQL builds a gist index
 * whose keys it can sort by sorting them and filling its pages in order,
 * much faster than inserting each key (box_ops cannot sort boxes).  The
 * boxes of versioned tables are vertical segments at x = entity: in order
 * of entity, each page covers a narrow range of entities.
 */
Datum
staging_version_box_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = version_box_cmp;
	PG_RETURN_VOID();
}

/*
 * Do boxes a and b overlap?  The test of box_ops' && operator (box_ov in
 * geo_ops.c, with its tolerance), which rechecks every candidate of an
 * exclusion check.
 */
static inline bool
boxes_overlap(const BOX *a, const BOX *b)
{
	return FPle(a->low.x, b->high.x) && FPle(b->low.x, a->high.x) &&
		FPle(a->low.y, b->high.y) && FPle(b->low.y, a->high.y);
}

/*
 * SQL: staging._version_box_consistent(internal, box, smallint, oid,
 * internal), the consistent function of staging.version_box_ops.  Every
 * new or updated row of a versioned table probes the exclusion
 * constraint's index, testing each key of an inner and a leaf page: this
 * answers the one strategy of the operator class (&&) without the two
 * function calls per key of box_ops' general consistent function.  The
 * answer is the same on both kinds of page (an inner key is the union of
 * its subtree's keys), and exact.
 */
Datum
staging_version_box_consistent(PG_FUNCTION_ARGS)
{
	GISTENTRY  *entry = (GISTENTRY *) PG_GETARG_POINTER(0);
	BOX		   *query = PG_GETARG_BOX_P(1);
	StrategyNumber strategy = (StrategyNumber) PG_GETARG_UINT16(2);
	bool	   *recheck = (bool *) PG_GETARG_POINTER(4);

	if (strategy != RTOverlapStrategyNumber)
		elog(ERROR, "staging: unrecognized strategy number %d of version_box_ops", strategy);
	*recheck = false;
	if (DatumGetBoxP(entry->key) == NULL || query == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(boxes_overlap(DatumGetBoxP(entry->key), query));
}

/*
 * SQL: staging._version_box_penalty(internal, internal, internal), the
 * penalty function of staging.version_box_ops: what box_ops' penalty
 * computes (the growth of the key's area), in plain arithmetic.  An insert
 * asks it for every key of each inner page on its way down; the keys of a
 * versioned table are finite.
 */
Datum
staging_version_box_penalty(PG_FUNCTION_ARGS)
{
	GISTENTRY  *origentry = (GISTENTRY *) PG_GETARG_POINTER(0);
	GISTENTRY  *newentry = (GISTENTRY *) PG_GETARG_POINTER(1);
	float	   *penalty = (float *) PG_GETARG_POINTER(2);
	BOX		   *orig = DatumGetBoxP(origentry->key);
	BOX		   *add = DatumGetBoxP(newentry->key);
	float8		width = orig->high.x - orig->low.x;
	float8		height = orig->high.y - orig->low.y;
	float8		uwidth = Max(orig->high.x, add->high.x) - Min(orig->low.x, add->low.x);
	float8		uheight = Max(orig->high.y, add->high.y) - Min(orig->low.y, add->low.y);
	float8		area = (width > 0 && height > 0) ? width * height : 0;
	float8		uarea = (uwidth > 0 && uheight > 0) ? uwidth * uheight : 0;

	*penalty = (float) (uarea - area);
	PG_RETURN_POINTER(penalty);
}
