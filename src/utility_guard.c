/*-------------------------------------------------------------------------
 *
 * utility_guard.c
 *	  Refuse utility commands that would break versioned tables or read
 *	  around the version filter.
 *
 * hooks.c calls utility_guard_check() from the one ProcessUtility hook,
 * before the command runs:
 *
 *	- ALTER TABLE and RENAME that would drop, retype, rename or make
 *	  nullable row_id, created_in, updated_in or the entity column of a
 *	  versioned table (or row_id of an attribute table, which may only be
 *	  widened to bigint) are refused with an error that says how to get rid
 *	  of versioning first.  The registry, the version filter and versioned
 *	  writes depend on those columns.  So is ALTER TABLE ... SET ACCESS
 *	  METHOD to anything but "staging" (see table_am.c).  Every other DDL (ADD COLUMN,
 *	  renaming the table or other columns, CREATE INDEX, ...) goes through
 *	  untouched.
 *	- COPY of a versioned main table (or of an attribute table) TO a file
 *	  or the client writes every version row (a backup, like pg_dump), so
 *	  it is only for roles that may read every version and the table's
 *	  owner; others get 42501, as with row security and row_security off.  COPY (SELECT ...) reads the session version.
 *	- CREATE TABLE ... INHERITS, ALTER TABLE ... INHERIT and ATTACH
 *	  PARTITION that would put a versioned main table or an attribute table
 *	  into an inheritance hierarchy are refused (see refuse_inheritance).
 *	- TRUNCATE of a versioned main table or an attribute table (named, an
 *	  inheritance child of one named, or reached by CASCADE) removes every
 *	  version row, history and future ones included: like laying out
 *	  version rows by hand, it is only for the table's owner and roles that
 *	  may read every version; others get 42501.
 *	- CREATE TRIGGER on a versioned main table, an attribute table or a
 *	  sequence table: a trigger sees every row that any writer writes (an
 *	  editor's rows of a future update, the version rows a live edit lays
 *	  out again, the ids of new entities), so it too is only for the
 *	  table's owner and roles that may read every version, whatever
 *	  TRIGGER privilege was granted; others get 42501.  On any table,
 *	  CREATE OR REPLACE TRIGGER of one of the extension's triggers (the
 *	  write triggers, a live-only guard, a changelog trigger) is only for
 *	  the table's owner: replaced, the write rules, the live-only refusal
 *	  or the logging would be gone for every writer.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/heap.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "replication/walsender.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rls.h"

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

/*
 * ALTER TABLE ... SET ACCESS METHOD away from "staging": the access method
 * is what keeps the table closed when the library is not preloaded
 * (table_am.c).
 */
static void
check_set_access_method(const VersionedRel *entry, Oid relid, AlterTableCmd *cmd)
{
	if (cmd->name != NULL && strcmp(cmd->name, STAGING_NAME) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot change the access method of %s table \"%s\"",
					entry->kind == VERSIONED_MAIN ? "versioned" : "attribute",
					get_rel_name(relid)),
			 errdetail("Versioned tables and their attribute tables use the access method \"%s\", "
					   "so that no session reads them unfiltered when the library is not preloaded.",
					   STAGING_NAME),
			 errhint("Call staging.disable_versioning(%s) first.",
					 quote_literal_cstr(DatumGetCString(DirectFunctionCall1(regclassout,
																			ObjectIdGetDatum(entry->main_relid)))))));
}

/*
 * A versioned main table or an attribute table may not take part in table
 * inheritance (as a parent, a child or a partition): the rows of a child
 * would be neither versioned (no registration, no triggers of versioned
 * writes) nor filtered when the child is read directly, and a write
 * through a parent fires no statement trigger of a versioned child, so
 * its writes would not be laid out.  enable_versioning refuses such
 * tables; this refuses putting a registered one into a hierarchy.
 */
static void
refuse_inheritance(const VersionedRel *entry, Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s table %s cannot take part in table inheritance or partitioning",
					entry->kind == VERSIONED_MAIN ? "versioned" : "attribute",
					relation_qualified_name(relid)),
			 errdetail("The rows of an inheritance child would be neither versioned nor filtered by the session version."),
			 errhint("Call staging.disable_versioning(%s) first.",
					 quote_literal_cstr(DatumGetCString(DirectFunctionCall1(regclassout,
																			ObjectIdGetDatum(entry->main_relid)))))));
}

/* CREATE [FOREIGN] TABLE ... INHERITS (or PARTITION OF) a registered table. */
static void
check_create_table(CreateStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->inhRelations)
	{
		const VersionedRel *entry;
		Oid			relid;

		entry = lookup_rangevar(lfirst_node(RangeVar, lc), &relid);
		if (entry != NULL)
			refuse_inheritance(entry, relid);
	}
}

/*
 * ALTER TABLE ... INHERIT and ATTACH PARTITION: the registered table may
 * be the child, the parent or the partition.
 */
static void
check_alter_inheritance(const VersionedRel *entry, Oid relid, AlterTableCmd *cmd)
{
	const VersionedRel *other;
	Oid			other_relid;

	if (cmd->subtype == AT_AddInherit)
	{
		if (entry != NULL)
			refuse_inheritance(entry, relid);
		other = lookup_rangevar(castNode(RangeVar, cmd->def), &other_relid);
		if (other != NULL)
			refuse_inheritance(other, other_relid);
	}
	else if (cmd->subtype == AT_AttachPartition)
	{
		if (entry != NULL)
			refuse_inheritance(entry, relid);
		other = lookup_rangevar(castNode(PartitionCmd, cmd->def)->name, &other_relid);
		if (other != NULL)
			refuse_inheritance(other, other_relid);
	}
}

/*
 * ALTER TABLE: no DROP COLUMN, ALTER TYPE or DROP NOT NULL on them, no
 * other access method, no inheritance.
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	const VersionedRel *entry;
	Oid			relid = InvalidOid;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	entry = lookup_rangevar(stmt->relation, &relid);
	foreach(lc, stmt->cmds)
		check_alter_inheritance(entry, relid, lfirst_node(AlterTableCmd, lc));
	if (entry == NULL)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_SetAccessMethod)
			check_set_access_method(entry, relid, cmd);
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
 * COPY ... TO of a versioned main table or of an attribute table: only for
 * who may read every row: superusers, roles that may execute
 * staging.sign_preview(), and the owner of the (main) table, who reads
 * every version of it anyway (so pg_dump run by the owner works).
 */
static void
check_copy(CopyStmt *copy)
{
	Oid			relid;
	const VersionedRel *entry;
	char	   *name;

	if (copy->is_from || copy->relation == NULL || InNoForceRLSOperation() ||
		am_walsender)
		return;
	relid = RangeVarGetRelid(copy->relation, NoLock, true);
	entry = OidIsValid(relid) ? registry_lookup(relid) : NULL;
	if (entry == NULL || staging_may_read_every_version(GetUserId()) ||
		object_ownercheck(RelationRelationId, entry->main_relid, GetUserId()))
		return;
	name = relation_qualified_name(relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to copy every version of %s %s",
					entry->kind == VERSIONED_MAIN ? "versioned table" : "attribute table",
					name),
			 errdetail("COPY of a table writes every version row; only its owner, superusers and roles that may execute staging.sign_preview() may read every version."),
			 errhint("COPY (SELECT * FROM %s) TO ... copies the rows of the session version.",
					 name)));
}

/*
 * TRUNCATE removes the history and future version rows of a versioned
 * table along with its live ones: refuse it (42501) to anyone but the
 * owner of each versioned or attribute table it would empty and roles
 * that may read every version.  The tables are the ones named, their
 * inheritance children (unless ONLY) and, with CASCADE, the tables that
 * reference them, as ExecuteTruncate() finds them.
 */
static void
check_truncate(TruncateStmt *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;
	Oid			user = GetUserId();

	if (staging_may_read_every_version(user))
		return;
	foreach(lc, stmt->relations)
	{
		RangeVar   *rv = lfirst_node(RangeVar, lc);
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		if (!OidIsValid(relid))
			continue;
		if (rv->inh)
			relids = list_concat_unique_oid(relids, find_all_inheritors(relid, NoLock, NULL));
		else
			relids = list_append_unique_oid(relids, relid);
	}
	if (stmt->behavior == DROP_CASCADE)
	{
		List	   *more = relids;

		while (more != NIL)
		{
			List	   *found = heap_truncate_find_FKs(more);
			List	   *added = NIL;

			foreach(lc, found)
				if (!list_member_oid(relids, lfirst_oid(lc)))
				{
					relids = lappend_oid(relids, lfirst_oid(lc));
					added = lappend_oid(added, lfirst_oid(lc));
				}
			more = added;
		}
	}
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		const VersionedRel *entry = registry_lookup(relid);
		char	   *name;

		if (entry == NULL || object_ownercheck(RelationRelationId, relid, user))
			continue;
		name = relation_qualified_name(relid);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to truncate %s %s",
						entry->kind == VERSIONED_MAIN ? "versioned table" : "attribute table",
						name),
				 errdetail("TRUNCATE removes every version row, history and future ones included; only the table's owner, superusers and roles that may execute staging.sign_preview() may."),
				 errhint("DELETE FROM %s deletes the rows of the session version.", name)));
	}
}

/*
 * Is there a trigger of this name on the relation whose function is one of
 * the extension's (a trigger CREATE OR REPLACE TRIGGER would replace)?
 */
static bool
replaces_staging_trigger(Oid relid, const char *trigname)
{
	Relation	tgrel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(trigname));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		found = get_func_namespace(((Form_pg_trigger) GETSTRUCT(tuple))->tgfoid) ==
			staging_schema_oid();
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return found;
}

/*
 * CREATE OR REPLACE TRIGGER of one of the extension's triggers, on any
 * table, by a role that does not own it (a TRIGGER grantee, an editor
 * among them): refused (42501).  The replacement would turn off, for
 * every writer, the write rules of a versioned table, the refusal of a
 * live-only table's writes during previews, or a changelog's logging.
 */
static void
check_replace_trigger(CreateTrigStmt *stmt)
{
	Oid			relid;
	char	   *name;

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || object_ownercheck(RelationRelationId, relid, GetUserId()) ||
		!replaces_staging_trigger(relid, stmt->trigname))
		return;
	name = relation_qualified_name(relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to replace trigger \"%s\" of the staging extension on %s",
					stmt->trigname, name),
			 errdetail("The staging extension's triggers keep the write rules, the live-only refusal and the changelogs; only the table's owner may replace them."),
			 errhint("Create the trigger under another name, or ask the owner of %s.", name)));
}

/*
 * CREATE TRIGGER (or CREATE CONSTRAINT TRIGGER) on a versioned main table,
 * an attribute table or a sequence table: its function gets NEW and OLD of
 * every row any writer writes, the rows of future updates and the version
 * rows laid out behind a live edit included, and runs as the writer (as
 * the table's owner, reading every version, when the extension lays rows
 * out or adds an entity id to the sequence table).  Only for the owner of
 * the table (or of its main table) and roles that may read every version:
 * the TRIGGER privilege alone would let a role read the future, and run
 * its code as the owner.
 */
static void
check_create_trigger(CreateTrigStmt *stmt)
{
	Oid			relid;
	Oid			user = GetUserId();
	const VersionedRel *entry;
	const char *kind;
	char	   *name;

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	entry = registry_lookup(relid);
	if (entry != NULL)
		kind = entry->kind == VERSIONED_MAIN ? "versioned table" : "attribute table";
	else if (registry_is_sequence_table(relid))
		kind = "sequence table";
	else
		return;
	if (object_ownercheck(RelationRelationId, relid, user) ||
		(entry != NULL && object_ownercheck(RelationRelationId, entry->main_relid, user)) ||
		staging_may_read_every_version(user))
		return;
	name = relation_qualified_name(relid);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to create trigger \"%s\" on %s %s",
					stmt->trigname, kind, name),
			 errdetail("A trigger sees the rows of every version that writers write, future ones included; only the table's owner, superusers and roles that may execute staging.sign_preview() may create one."),
			 errhint("Ask the owner of %s to create the trigger.", name)));
}

/*
 * Called by the ProcessUtility hook for every utility command: refuse
 * (with an error) what would break versioned tables; return otherwise.
 */
void
utility_guard_check(PlannedStmt *pstmt)
{
	Node	   *parsetree = pstmt->utilityStmt;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
		case T_RenameStmt:
		case T_CopyStmt:
		case T_TruncateStmt:
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
		case T_CreateTrigStmt:
			break;
		default:
			return;
	}
	if (!staging_extension_present())
		return;
	if (IsA(parsetree, AlterTableStmt))
		check_alter_table((AlterTableStmt *) parsetree);
	else if (IsA(parsetree, RenameStmt))
		check_rename((RenameStmt *) parsetree);
	else if (IsA(parsetree, TruncateStmt))
		check_truncate((TruncateStmt *) parsetree);
	else if (IsA(parsetree, CreateStmt))
		check_create_table((CreateStmt *) parsetree);
	else if (IsA(parsetree, CreateForeignTableStmt))
		check_create_table(&((CreateForeignTableStmt *) parsetree)->base);
	else if (IsA(parsetree, CreateTrigStmt))
	{
		check_replace_trigger((CreateTrigStmt *) parsetree);
		check_create_trigger((CreateTrigStmt *) parsetree);
	}
	else
		check_copy((CopyStmt *) parsetree);
}
