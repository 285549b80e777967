/*-------------------------------------------------------------------------
 *
 * merchant.c
 *	  Live-only tables: writes that are live side effects (orders, quotes)
 *	  are refused while the session reads a version other than the live one.
 *
 * staging.live_only(tbl) puts one BEFORE INSERT OR UPDATE OR DELETE OR
 * TRUNCATE ... FOR EACH STATEMENT trigger, staging_live_only, on the table,
 * calling staging._live_only_guard().  Statement triggers fire for every
 * way a row can be written: INSERT (also ON CONFLICT), UPDATE, DELETE,
 * COPY FROM, MERGE (one per action kind it has), TRUNCATE, and the
 * statements of cascading foreign keys.  One call per statement, whatever
 * the number of rows.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(staging_live_only_guard);

/*
 * Trigger of a live-only table: lets the statement through when the session
 * reads the live version ('live', or a version number equal to the live
 * version now), and refuses it with 25006 otherwise ('all', a preview, any
 * other version), naming the table and what to do.
 */
Datum
staging_live_only_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	int64		version;
	int64		live;
	const char *op;
	const char *setting;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("staging._live_only_guard() must be called as a BEFORE ... FOR EACH STATEMENT trigger")));

	version = staging_setting_version();
	live = staging_live_version();
	if (version == live)
		return PointerGetDatum(NULL);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		op = "INSERT into";
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		op = "DELETE from";
	else
		op = "TRUNCATE";
	setting = GetConfigOption("staging.version", true, false);

	if (version == STAGING_VERSION_ALL)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot %s live-only table \"%s\" while this session reads every version ('all')",
						op, RelationGetRelationName(td->tg_relation)),
				 errdetail("Writes to a live-only table (marked with staging.live_only) are live side effects, refused outside the live version."),
				 errhint("Write at the live version (RESET staging.version), or unmark the table with staging.live_only('%s', false).",
						 get_rel_name(RelationGetRelid(td->tg_relation)))));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot %s live-only table \"%s\" while this session reads version " INT64_FORMAT ", not the live version " INT64_FORMAT,
					op, RelationGetRelationName(td->tg_relation), version, live),
			 errdetail("staging.version is '%s'.  Writes to a live-only table (marked with staging.live_only) are live side effects, refused in previews and at any version other than the live one.",
					   setting ? setting : ""),
			 errhint("Write at the live version (RESET staging.version), or unmark the table with staging.live_only('%s', false).",
					 get_rel_name(RelationGetRelid(td->tg_relation)))));
	PG_RETURN_NULL();			/* not reached */
}
