/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  What a restore by the database owner needs from the library.
 *
 * A superuser creates the extension in a new database; its owner, who is
 * not a superuser, restores a dump into it with pg_restore --no-owner.
 * hooks.c calls these from the one ProcessUtility hook:
 *
 *	- restore_rewrite_utility(): the dump's CREATE SCHEMA staging, run in a
 *	  database where CREATE EXTENSION staging already made that schema, is
 *	  run as CREATE SCHEMA IF NOT EXISTS (a notice instead of an error);
 *	  its COMMENT ON EXTENSION staging, run by a role that does not own the
 *	  extension, does nothing when the comment is the one the extension
 *	  already has.
 *	- restore_copy_begin() / restore_copy_end(): around a top-level
 *	  COPY ... FROM, remember its target table.  staging._restore_copy()
 *	  returns it: the restore guard of the extension's state tables
 *	  (sql/install/95_restore.sql) lets the database owner load them only
 *	  with COPY, as pg_restore and restores of plain dumps do, never by
 *	  INSERT.  SQL cannot set this: it is backend memory, set only while
 *	  the server itself runs a COPY sent by the client.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "catalog/namespace.h"
#include "catalog/pg_description.h"
#include "commands/comment.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(staging_restore_copy);

/* The table a top-level COPY FROM of this backend writes, or InvalidOid. */
static Oid	copy_target = InvalidOid;

/*
 * Is this the schema that CREATE EXTENSION staging created (the
 * extension's schema, fixed by its control file, which pg_dump dumps as an
 * object of its own)?
 */
static bool
is_extension_schema(const char *name)
{
	return name != NULL && strcmp(name, STAGING_NAME) == 0 &&
		OidIsValid(staging_schema_oid());
}

/*
 * Before a utility command runs: the statement to run instead (a copy of
 * pstmt, changed), pstmt itself, or NULL to run nothing.
 */
PlannedStmt *
restore_rewrite_utility(PlannedStmt *pstmt)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, CreateSchemaStmt))
	{
		CreateSchemaStmt *stmt = (CreateSchemaStmt *) parsetree;
		PlannedStmt *copy;

		if (stmt->if_not_exists || stmt->authrole != NULL ||
			stmt->schemaElts != NIL || !is_extension_schema(stmt->schemaname))
			return pstmt;
		copy = copyObject(pstmt);
		((CreateSchemaStmt *) copy->utilityStmt)->if_not_exists = true;
		return copy;
	}
	if (IsA(parsetree, CommentStmt))
	{
		CommentStmt *stmt = (CommentStmt *) parsetree;
		Oid			ext;
		char	   *current;

		if (stmt->objtype != OBJECT_EXTENSION || stmt->comment == NULL ||
			!IsA(stmt->object, String) ||
			strcmp(strVal(stmt->object), STAGING_NAME) != 0)
			return pstmt;
		ext = get_extension_oid(STAGING_NAME, true);
		if (!OidIsValid(ext) || object_ownercheck(ExtensionRelationId, ext, GetUserId()))
			return pstmt;
		current = GetComment(ext, ExtensionRelationId, 0);
		if (current != NULL && strcmp(current, stmt->comment) == 0)
			return NULL;
		return pstmt;
	}
	return pstmt;
}

/*
 * A utility command starts: remember the target of a top-level COPY FROM.
 * Returns what to give back to restore_copy_end().
 */
Oid
restore_copy_begin(Node *parsetree, ProcessUtilityContext context)
{
	Oid			saved = copy_target;

	if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;

		if (stmt->is_from && stmt->relation != NULL &&
			context == PROCESS_UTILITY_TOPLEVEL)
			copy_target = RangeVarGetRelid(stmt->relation, NoLock, true);
		else
			copy_target = InvalidOid;
	}
	return saved;
}

/* The utility command ended (or failed). */
void
restore_copy_end(Oid saved)
{
	copy_target = saved;
}

/*
 * staging._restore_copy() -> regclass: the table a COPY FROM sent by the
 * client is writing in this backend right now, or NULL.
 */
Datum
staging_restore_copy(PG_FUNCTION_ARGS)
{
	if (!OidIsValid(copy_target))
		PG_RETURN_NULL();
	PG_RETURN_OID(copy_target);
}
