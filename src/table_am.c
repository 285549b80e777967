/*-------------------------------------------------------------------------
 *
 * table_am.c
 *	  The table access method "staging": versioned tables fail closed when
 *	  the library was not preloaded.
 *
 * The version filter lives in planner and utility hooks, which exist only
 * when the library is loaded before a session runs its first statement.
 * A server restarted without shared_preload_libraries = 'staging' would
 * otherwise let every session read every version of a versioned table.
 * So versioned main tables and attribute tables (and their TOAST tables)
 * use the access method "staging", whose handler PostgreSQL calls, in
 * every backend, whenever it builds the relation cache entry of such a
 * table: that is before any scan, COPY or DDL can touch the table, and it
 * loads the library.  Without the preload, the handler refuses the
 * sessions of roles other than superusers (55000); autovacuum, parallel
 * workers and logical replication are not refused.
 *
 * The handler returns heap's routine itself (the same pointer: core code
 * such as heap_getnext() compares rd_tableam with it), so a staging table
 * is a heap table on disk, in the buffer manager and in WAL.  Switching a
 * table between heap and staging therefore needs no rewrite: only its
 * pg_class row and its dependency on the access method change, as
 * PostgreSQL itself does for relations without storage
 * (ATExecSetAccessMethodNoStorage).  The registry trigger switches a table
 * when it is registered or unregistered, the upgrade from 1.0 switches
 * the tables versioned before, and DROP EXTENSION switches every table
 * back to heap first (else the access method could not be dropped, or
 * CASCADE would drop the tables).
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/parallel.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/logicalworker.h"
#include "replication/walsender.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_table_am_handler);
PG_FUNCTION_INFO_V1(staging_table_am_sync);
PG_FUNCTION_INFO_V1(staging_table_am_release);

/*
 * Processes that open versioned tables on their own account, not to
 * answer a role's queries: autovacuum, parallel workers (their leader was
 * checked), logical replication (walsenders, apply and table
 * synchronization workers).  Every other process (client backends, other
 * extensions' background workers running SQL for a role) is checked.
 */
static bool
is_internal_process(void)
{
	return MyBackendType == B_AUTOVAC_WORKER || IsParallelWorker() ||
		am_walsender || IsLogicalWorker();
}

/*
 * SQL: staging._table_am_handler(internal) -> table_am_handler, the
 * handler of the access method "staging".  Called whenever a backend
 * builds the relation cache entry of a staging table: refuse the sessions
 * that would read it without the version filter, unless a superuser runs
 * them (logged in as one, and still one: not a SECURITY DEFINER function
 * of a superuser called by another role).
 */
Datum
staging_table_am_handler(PG_FUNCTION_ARGS)
{
	if (!staging_loaded_at_preload() && !is_internal_process() &&
		!(superuser_arg(GetUserId()) && superuser_arg(GetSessionUserId())))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("versioned tables cannot be read or changed: library \"%s\" was not loaded by shared_preload_libraries",
						STAGING_NAME),
				 errdetail("Without it, the versions of a versioned table are not filtered; only superusers may open them."),
				 errhint("Add '%s' to shared_preload_libraries in postgresql.conf and restart the server.",
						 STAGING_NAME)));
	PG_RETURN_POINTER(GetHeapamTableAmRoutine());
}

/* OID of the access method "staging", or InvalidOid when there is none. */
static Oid
staging_am_oid(void)
{
	return get_table_am_oid(STAGING_NAME, true);
}

/*
 * Set the access method of one relation (a table or a TOAST table) in
 * its pg_class row, with its dependency on the access method (TOAST
 * tables have none: their table has it).  The caller holds a lock that
 * keeps other sessions from using the relation.
 */
static void
set_relam(Oid relid, Oid amoid)
{
	Relation	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	HeapTuple	tuple = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	Oid			old_am;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	form = (Form_pg_class) GETSTRUCT(tuple);
	old_am = form->relam;
	if (old_am != amoid)
	{
		form->relam = amoid;
		CatalogTupleUpdate(pg_class, &tuple->t_self, tuple);
		if (form->relkind != RELKIND_TOASTVALUE &&
			changeDependencyFor(RelationRelationId, relid,
								AccessMethodRelationId, old_am, amoid) != 1)
			elog(ERROR, "could not change the access method dependency of relation %u", relid);
	}
	heap_freetuple(tuple);
	table_close(pg_class, RowExclusiveLock);
}

/* A relation's kind, access method and TOAST table; false when it is gone. */
static bool
relation_am(Oid relid, char *relkind, Oid *relam, Oid *toast)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;

	if (!HeapTupleIsValid(tuple))
		return false;
	form = (Form_pg_class) GETSTRUCT(tuple);
	*relkind = form->relkind;
	*relam = form->relam;
	*toast = form->reltoastrelid;
	ReleaseSysCache(tuple);
	return true;
}

/*
 * Make a table use the access method "staging" (versioned) or heap (not
 * versioned), and its TOAST table with it.  Only heap and staging tables
 * are switched: both keep their rows the same way, so nothing is
 * rewritten.  Another access method is left alone.
 */
void
table_am_set(Oid relid, bool versioned)
{
	Oid			staging_am = staging_am_oid();
	Oid			from;
	Oid			to;
	Oid			relam;
	Oid			toast;
	Oid			toast_toast;
	char		relkind;

	if (!OidIsValid(staging_am))
		return;
	from = versioned ? HEAP_TABLE_AM_OID : staging_am;
	to = versioned ? staging_am : HEAP_TABLE_AM_OID;
	if (!relation_am(relid, &relkind, &relam, &toast) ||
		(relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW) ||
		(relam != from && relam != to))
		return;
	/* as ALTER TABLE SET ACCESS METHOD does */
	LockRelationOid(relid, AccessExclusiveLock);
	if (!relation_am(relid, &relkind, &relam, &toast))
		return;
	if (relam == from)
		set_relam(relid, to);
	if (OidIsValid(toast) &&
		relation_am(toast, &relkind, &relam, &toast_toast) && relam == from)
	{
		LockRelationOid(toast, AccessExclusiveLock);
		set_relam(toast, to);
	}
	CommandCounterIncrement();
}

/*
 * SQL: staging._table_am_sync(tbl regclass): gives a table the access
 * method its registration calls for: "staging" when it is a versioned
 * main table or an attribute table, heap otherwise.  For the upgrade of
 * installations whose versioned tables were heap tables, and for owners
 * whose tables lost their access method; the registry trigger does the
 * same on every registration.  Only for the table's owner.
 */
Datum
staging_table_am_sync(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	table_am_set(relid, registry_lookup(relid) != NULL);
	PG_RETURN_VOID();
}

/*
 * Does a DROP statement drop the extension staging, run by a role that
 * may drop it?  (Others get their error from DROP EXTENSION, without
 * locking every versioned table first.)
 */
static bool
drops_staging(Node *parsetree)
{
	DropStmt   *stmt = (DropStmt *) parsetree;
	ListCell   *lc;
	Oid			extension;

	if (parsetree == NULL || !IsA(parsetree, DropStmt) ||
		stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		if (strcmp(strVal(lfirst(lc)), STAGING_NAME) != 0)
			continue;
		extension = get_extension_oid(STAGING_NAME, true);
		return OidIsValid(extension) &&
			object_ownercheck(ExtensionRelationId, extension, GetUserId());
	}
	return false;
}

/*
 * Every relation of this database that uses the access method "staging"
 * goes back to heap, so that the access method can be dropped and the
 * tables stay (they would be dropped with it by CASCADE).
 */
static void
release_all(void)
{
	Oid			staging_am = staging_am_oid();
	Relation	pg_class;
	TableScanDesc scan;
	HeapTuple	tuple;
	List	   *relids = NIL;
	ListCell   *lc;

	if (!OidIsValid(staging_am))
		return;
	pg_class = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(pg_class, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		if (form->relam == staging_am)
			relids = lappend_oid(relids, form->oid);
	}
	table_endscan(scan);
	table_close(pg_class, AccessShareLock);
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_TOASTVALUE)
		{
			/* (normally done with its table) */
			LockRelationOid(relid, AccessExclusiveLock);
			set_relam(relid, HEAP_TABLE_AM_OID);
			CommandCounterIncrement();
		}
		else
			table_am_set(relid, false);
	}
}

/*
 * Event trigger (ddl_command_start, DROP EXTENSION): before the extension
 * staging is dropped, its tables go back to heap.  Runs whether or not
 * the library was preloaded.
 */
Datum
staging_table_am_release(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "staging._table_am_release() must be an event trigger");
	if (drops_staging(trigdata->parsetree))
		release_all();
	PG_RETURN_VOID();
}

/*
 * Called by the ProcessUtility hook: the same before DROP EXTENSION, for
 * servers where event triggers do not fire (event_triggers = off).
 */
void
table_am_before_utility(Node *parsetree)
{
	if (drops_staging(parsetree) && staging_extension_present())
		release_all();
}
