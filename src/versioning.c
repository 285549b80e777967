/*-------------------------------------------------------------------------
 *
 * versioning.c
 *	  DDL guards of versioned tables.
 *
 * staging.enable_versioning (sql/staging--1.0.sql) gives a table the
 * columns row_id, created_in and updated_in; the registry, the version
 * filter and versioned writes depend on them and on the entity column.
 * This ProcessUtility hook refuses ALTER TABLE and RENAME commands that
 * would drop, retype or rename one of them (and row_id of an attribute
 * table, which may only be widened to bigint), with an error that says
 * how to get rid of versioning first.
 * Every other DDL (ADD COLUMN, renaming the table or other columns,
 * CREATE INDEX, ...) goes through untouched.
 *
 * It also holds staging._move_foreign_key(), which points a foreign key at
 * another table without rescanning the referencing table when that is
 * provably unnecessary: versioning a catalog moves the foreign keys of
 * every attribute and relation table (millions of rows) twice, and each
 * ordinary validation would read them all.
 *
 * And staging._version_box(), the key of the exclusion constraint that
 * keeps the versions of an entity from overlapping.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/geo_decls.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_move_foreign_key);
PG_FUNCTION_INFO_V1(staging_version_box);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Is this column of a registered relation one that versioning needs?
 */
static bool
is_versioning_column(const VersionedRel *entry, Oid relid, const char *column)
{
	if (column == NULL)
		return false;
	if (strcmp(column, "row_id") == 0)
		return true;
	if (entry->kind != VERSIONED_MAIN)
		return false;
	if (strcmp(column, "created_in") == 0 || strcmp(column, "updated_in") == 0)
		return true;
	return get_attnum(relid, column) == entry->entity_attno &&
		entry->entity_attno != InvalidAttrNumber;
}

/*
 * Raise the error for a refused command on a versioning column.  Retyping
 * row_id of an attribute table is refused unless it widens it to bigint:
 * the hint says so.
 */
static void
refuse(const VersionedRel *entry, Oid relid, const char *column,
	   const char *action)
{
	char	   *main_table = quote_literal_cstr(DatumGetCString(DirectFunctionCall1(regclassout,
																					 ObjectIdGetDatum(entry->main_relid))));
	bool		widenable = entry->kind == VERSIONED_ATTRIBUTE &&
		strcmp(action, "change the type of") == 0;

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s column \"%s\" of %s table \"%s\"",
					action, column,
					entry->kind == VERSIONED_MAIN ? "versioned" : "attribute",
					get_rel_name(relid)),
			 errdetail("staging keeps the versions of each entity in the columns row_id, created_in, updated_in and the entity column."),
			 widenable ?
			 errhint("Only widening is allowed: ALTER TABLE ... ALTER COLUMN row_id TYPE bigint, without USING.  "
					 "For anything else call staging.disable_versioning(%s) first.", main_table) :
			 errhint("Call staging.disable_versioning(%s) first.", main_table)));
}

/* The registration of the relation a statement names, or NULL. */
static const VersionedRel *
lookup_rangevar(RangeVar *relation, Oid *relid)
{
	if (relation == NULL)
		return NULL;
	*relid = RangeVarGetRelid(relation, NoLock, true);
	if (!OidIsValid(*relid))
		return NULL;
	return registry_lookup(*relid);
}

/*
 * Widening row_id of an attribute table to bigint is allowed: the column
 * keeps the integer type it had (no rewrite when the table was linked),
 * and bigint holds every row_id of the main table.  Without USING, so the
 * values stay what they are.
 */
static bool
is_row_id_widening(const VersionedRel *entry, AlterTableCmd *cmd)
{
	ColumnDef  *def = (ColumnDef *) cmd->def;

	if (entry->kind != VERSIONED_ATTRIBUTE || strcmp(cmd->name, "row_id") != 0 ||
		def == NULL || !IsA(def, ColumnDef) || def->raw_default != NULL ||
		def->typeName == NULL)
		return false;
	return LookupTypeNameOid(NULL, def->typeName, true) == INT8OID;
}

/* ALTER TABLE: no DROP COLUMN, ALTER TYPE or DROP NOT NULL on them. */
static void
check_alter_table(AlterTableStmt *stmt)
{
	const VersionedRel *entry;
	Oid			relid;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	entry = lookup_rangevar(stmt->relation, &relid);
	if (entry == NULL)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (!is_versioning_column(entry, relid, cmd->name))
			continue;
		switch (cmd->subtype)
		{
			case AT_DropColumn:
				refuse(entry, relid, cmd->name, "drop");
				break;
			case AT_AlterColumnType:
				if (!is_row_id_widening(entry, cmd))
					refuse(entry, relid, cmd->name, "change the type of");
				break;
			case AT_DropNotNull:
				refuse(entry, relid, cmd->name, "drop NOT NULL of");
				break;
			default:
				break;
		}
	}
}

/* ALTER TABLE ... RENAME COLUMN: the registry finds them by name. */
static void
check_rename(RenameStmt *stmt)
{
	const VersionedRel *entry;
	Oid			relid;

	if (stmt->renameType != OBJECT_COLUMN || stmt->relationType != OBJECT_TABLE)
		return;
	entry = lookup_rangevar(stmt->relation, &relid);
	if (entry != NULL && is_versioning_column(entry, relid, stmt->subname))
		refuse(entry, relid, stmt->subname, "rename");
}

/*
 * The hook: look at ALTER TABLE and RENAME only, and only when the
 * extension is in this database; then run the command as usual.
 */
static void
staging_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if ((IsA(parsetree, AlterTableStmt) || IsA(parsetree, RenameStmt)) &&
		staging_extension_present())
	{
		if (IsA(parsetree, AlterTableStmt))
			check_alter_table((AlterTableStmt *) parsetree);
		else
			check_rename((RenameStmt *) parsetree);
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/* Install the DDL guard, chained to any previous ProcessUtility hook. */
void
versioning_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = staging_ProcessUtility;
}

/* The schema-qualified, quoted name of a relation, for SQL text. */
static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

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
					 qualified_name(ra), quote_identifier(a),
					 qualified_name(rb), quote_identifier(b), quote_identifier(a));
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
		elog(ERROR, "staging._move_foreign_key: arguments must not be null");
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
					 qualified_name(relid), quote_identifier(conname),
					 quote_identifier(conname), quote_identifier(column),
					 qualified_name(target), quote_identifier(target_column),
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
