/*-------------------------------------------------------------------------
 *
 * staging.c
 *	  Entry point of the staging extension.
 *
 * _PG_init only calls each module's init function; the modules are split
 * by concern (extension.c, registry.c, planner.c, ...).
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load: initialise each module, then reserve the "staging." GUC
 * prefix so that a misspelt setting is an error rather than a silently
 * ignored placeholder.
 */
void
_PG_init(void)
{
	extension_init();
	registry_init();
	planner_init();
	versioning_init();
	version_init();
	changelog_init();
	scheduler_init();
	writes_init();

	MarkGUCPrefixReserved(STAGING_NAME);
}
