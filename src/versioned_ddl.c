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
 * staging.version_box_ops puts the keys in a hash index by entity, so
 * that every new or updated row probes one bucket (the versions of its
 * entity) rather than a gist tree.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "common/hashfn.h"
#include "access/htup_details.h"
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
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_move_foreign_key);
PG_FUNCTION_INFO_V1(staging_version_box);
PG_FUNCTION_INFO_V1(staging_version_box_hash);

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
 * versions overlap.  The exclusion constraint of a versioned table is an
 * index on it: one function call instead of an expression of a dozen
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

/*
 * SQL: staging._version_box_hash(box) -> integer, the hash function of
 * operator class staging.version_box_ops (hash): the hash of the box's
 * entity (its x), as hashint8 computes it.  Two version boxes that
 * overlap are of the same entity, so they hash alike, and an exclusion
 * check finds every candidate in one bucket; the index keeps only the
 * hash, and PostgreSQL rechecks each candidate with the operator
 * (box_overlap) on the row itself.
 */
Datum
staging_version_box_hash(PG_FUNCTION_ARGS)
{
	BOX		   *box = PG_GETARG_BOX_P(0);
	int64		entity = (int64) box->low.x;
	uint32		lohalf = (uint32) entity;
	uint32		hihalf = (uint32) (entity >> 32);

	lohalf ^= (entity >= 0) ? hihalf : ~hihalf;
	return hash_uint32(lohalf);
}
