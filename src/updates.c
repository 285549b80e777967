/*-------------------------------------------------------------------------
 *
 * updates.c
 *	  Scheduled updates (campaigns): the C side of going live.
 *
 * The schedule itself (staging.updates, create_update, reschedule_update,
 * delete_update, advance) is SQL in the install script: it is set-based
 * work that reads best as SQL.  What needs C is telling every backend
 * that the live version moved: a plain UPDATE of staging.live_state does
 * not send a relcache invalidation, and sessions that cache the live
 * version rely on one.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(staging_live_state_changed);

/*
 * Statement trigger on staging.live_state: however the live version was
 * changed (advance(), a restore, by hand), send a relcache invalidation
 * of the table, delivered to every backend when this transaction commits.
 */
Datum
staging_live_state_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "staging._live_state_changed() must be an AFTER trigger");

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}
