/*-------------------------------------------------------------------------
 *
 * staging.c
 *	  Entry point of the staging extension.
 *
 * _PG_init only calls each module's init function (the modules are split
 * by concern: extension.c, registry.c, planner.c, ...); hooks.c installs
 * every hook and callback.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load: initialise the modules that define settings or workers,
 * install the hooks, then reserve the "staging." GUC prefix so that a
 * misspelt setting is an error rather than a silently ignored placeholder.
 */
void
_PG_init(void)
{
	extension_init();
	session_version_init();
	version_filter_init();
	scheduler_init();
	progress_init();
	hooks_init();

	MarkGUCPrefixReserved(STAGING_NAME);
}
