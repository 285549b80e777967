/*-------------------------------------------------------------------------
 *
 * extension.c
 *	  Is the library preloaded, and is the extension created in this
 *	  database?
 *
 * Every hook starts with staging_extension_present(): in a database
 * without the extension it answers from a backend-local cache, so the
 * hooks cost one branch.  The cache is dropped on any relcache
 * invalidation, which CREATE/DROP EXTENSION always send (they create and
 * drop relations), and looked up again lazily: the callback itself never
 * reads the catalogs.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(staging_assert_preloaded);

/* Was _PG_init run while shared_preload_libraries were being loaded? */
static bool loaded_at_preload = false;

/* Cached answer of staging_extension_present(); valid until invalidated */
static bool presence_valid = false;
static Oid	cached_schema_oid = InvalidOid;

/*
 * Relcache invalidation (routed by hooks.c): forget what we know about the
 * extension.  Must not touch the catalogs.
 */
void
extension_invalidate(Oid relid)
{
	presence_valid = false;
}

/* Remember whether we are being preloaded. */
void
extension_init(void)
{
	loaded_at_preload = process_shared_preload_libraries_in_progress;
}

/*
 * Was the library loaded by shared_preload_libraries?  Only then does
 * every session of the server run with the version filter (table_am.c).
 */
bool
staging_loaded_at_preload(void)
{
	return loaded_at_preload;
}

/*
 * True when the staging extension exists in the current database (and we
 * are inside a transaction that can look that up).
 */
bool
staging_extension_present(void)
{
	if (!presence_valid)
	{
		if (!IsTransactionState())
			return false;
		cached_schema_oid = InvalidOid;
		if (OidIsValid(get_extension_oid(STAGING_NAME, true)))
			cached_schema_oid = get_namespace_oid(STAGING_NAME, true);
		presence_valid = true;
	}
	return OidIsValid(cached_schema_oid);
}

/* OID of the extension's schema, or InvalidOid when not created here. */
Oid
staging_schema_oid(void)
{
	return staging_extension_present() ? cached_schema_oid : InvalidOid;
}

/*
 * Called first by the install and upgrade scripts: refuse CREATE
 * EXTENSION and ALTER EXTENSION UPDATE unless the library was loaded by
 * shared_preload_libraries, because a session that loaded it late would
 * have read versioned tables without the version filter.
 */
Datum
staging_assert_preloaded(PG_FUNCTION_ARGS)
{
	if (!loaded_at_preload)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" must be loaded via shared_preload_libraries",
						STAGING_NAME),
				 errhint("Add '%s' to shared_preload_libraries in postgresql.conf, restart the server, then run CREATE EXTENSION %s or ALTER EXTENSION %s UPDATE again.",
						 STAGING_NAME, STAGING_NAME, STAGING_NAME)));
	PG_RETURN_VOID();
}
