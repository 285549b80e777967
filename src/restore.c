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
 *	- restore_privilege_hint(): a GRANT or REVOKE of the dump on the
 *	  extension's objects (or a changed comment on it) fails for the
 *	  database owner, who does not own them; the error says how to restore
 *	  without them.
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
 * Does this GRANT or REVOKE name objects of the extension's schema (or
 * the schema)?  pg_dump qualifies every name, which is all this looks at.
 */
static bool
is_extension_grant(GrantStmt *stmt)
{
	ListCell   *lc;

	if (stmt->targtype != ACL_TARGET_OBJECT)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *object = lfirst(lc);

		if (IsA(object, RangeVar))
		{
			if (((RangeVar *) object)->schemaname != NULL &&
				strcmp(((RangeVar *) object)->schemaname, STAGING_NAME) == 0)
				return true;
		}
		else if (IsA(object, ObjectWithArgs))
		{
			List	   *name = ((ObjectWithArgs *) object)->objname;

			if (list_length(name) == 2 && strcmp(strVal(linitial(name)), STAGING_NAME) == 0)
				return true;
		}
		else if (IsA(object, String) && stmt->objtype == OBJECT_SCHEMA &&
				 strcmp(strVal(object), STAGING_NAME) == 0)
			return true;
	}
	return false;
}

/*
 * The hint to add when this command fails for lack of privileges: a
 * dump's GRANT or REVOKE on the extension's objects, or its COMMENT ON
 * EXTENSION staging with another comment, which only the extension's
 * owner may run (the database owner restoring a dump).  NULL for any
 * other command.
 */
const char *
restore_privilege_hint(Node *parsetree)
{
	if (!IsA(parsetree, GrantStmt) && !IsA(parsetree, CommentStmt))
		return NULL;
	if (!staging_extension_present())
		return NULL;
	if (IsA(parsetree, GrantStmt) && is_extension_grant((GrantStmt *) parsetree))
		return "Only the owner of extension staging (a superuser) may grant its objects: "
			"restore without them (pg_restore -l lists them as \"ACL staging\" lines: "
			"remove those and restore with -L, or use --no-privileges), "
			"then have a superuser grant them again.";
	if (IsA(parsetree, CommentStmt) &&
		((CommentStmt *) parsetree)->objtype == OBJECT_EXTENSION &&
		IsA(((CommentStmt *) parsetree)->object, String) &&
		strcmp(strVal(((CommentStmt *) parsetree)->object), STAGING_NAME) == 0)
		return "Only the owner of extension staging (a superuser) may change its comment: "
			"restore without it (pg_restore -l lists it as \"COMMENT - EXTENSION staging\": "
			"remove that line and restore with -L).";
	return NULL;
}

/*
 * A command failed (called in PG_CATCH, in the memory context that was
 * current before): when for lack of privileges, rethrow the error with
 * the hint; else rethrow it as it is.
 */
void
restore_rethrow_with_hint(const char *hint)
{
	ErrorData  *edata = CopyErrorData();

	if (edata->sqlerrcode != ERRCODE_INSUFFICIENT_PRIVILEGE || edata->hint != NULL)
	{
		FreeErrorData(edata);
		PG_RE_THROW();
	}
	FlushErrorState();
	edata->hint = pstrdup(hint);
	ReThrowError(edata);
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
