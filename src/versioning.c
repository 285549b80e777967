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
 * table), with an error that says how to get rid of versioning first.
 * Every other DDL (ADD COLUMN, renaming the table or other columns,
 * CREATE INDEX, ...) goes through untouched.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "catalog/namespace.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

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

/* Raise the error for a refused command on a versioning column. */
static void
refuse(const VersionedRel *entry, Oid relid, const char *column,
	   const char *action)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s column \"%s\" of %s table \"%s\"",
					action, column,
					entry->kind == VERSIONED_MAIN ? "versioned" : "attribute",
					get_rel_name(relid)),
			 errdetail("staging keeps the versions of each entity in the columns row_id, created_in, updated_in and the entity column."),
			 errhint("Call staging.disable_versioning(%s) first.",
					 quote_literal_cstr(DatumGetCString(DirectFunctionCall1(regclassout,
																			ObjectIdGetDatum(entry->main_relid)))))));
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
