/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Progress reports of long operations (clone_schema, compare_schemas,
 *	  swap_schemas, enable_versioning, add_attribute_table), and the
 *	  setting staging.progress_interval that paces them.
 *
 * An operation calls begin once, then report after each step it finishes,
 * then end.  A step is reported (a NOTICE "operation: message") only when
 * staging.progress_interval has passed since the operation began or was
 * last reported; 0 reports every step, -1 none.  The end reports a summary
 * only when some step of the operation was reported, so quick calls print
 * nothing.  The times are in each NOTICE's DETAIL, which a client can hide
 * (psql's \set VERBOSITY terse) to get stable output, as VACUUM VERBOSE
 * does with its timings.
 *
 * Operations are told apart by name, so that one may run inside another
 * (swap_schemas counting rows with compare_schemas).  An operation that
 * failed leaves its entry behind; its next begin starts it afresh.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(staging_progress_begin);
PG_FUNCTION_INFO_V1(staging_progress);
PG_FUNCTION_INFO_V1(staging_progress_end);

/* staging.progress_interval, in milliseconds; -1: never, 0: every step. */
static int	progress_interval = 10000;

/* Operations that may be running at once (nested ones, failed ones). */
#define PROGRESS_SLOTS 8

typedef struct ProgressState
{
	char		operation[NAMEDATALEN]; /* empty: a free slot */
	TimestampTz started;		/* begin */
	TimestampTz step_started;	/* end of the previous step */
	TimestampTz last_report;	/* last NOTICE, or begin */
	int			reported;		/* steps reported so far */
} ProgressState;

static ProgressState progress_slots[PROGRESS_SLOTS];

/* Define staging.progress_interval. */
void
progress_init(void)
{
	DefineCustomIntVariable("staging.progress_interval",
							"Least time between two progress reports of a long operation.",
							"Long steps of clone_schema, compare_schemas, swap_schemas, enable_versioning "
							"and add_attribute_table are reported as NOTICEs at most this often; "
							"0 reports every step, -1 none.",
							&progress_interval,
							10000, -1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* Seconds from a to b. */
static double
seconds_between(TimestampTz a, TimestampTz b)
{
	return (double) (b - a) / USECS_PER_SEC;
}

/*
 * The slot of an operation; with create, a new one (the free or else the
 * oldest slot) when it has none.
 */
static ProgressState *
progress_slot(const char *operation, bool create)
{
	ProgressState *oldest = NULL;
	int			i;

	for (i = 0; i < PROGRESS_SLOTS; i++)
	{
		ProgressState *slot = &progress_slots[i];

		if (strcmp(slot->operation, operation) == 0 && slot->operation[0] != '\0')
			return slot;
	}
	if (!create)
		return NULL;
	for (i = 0; i < PROGRESS_SLOTS; i++)
	{
		ProgressState *slot = &progress_slots[i];

		if (slot->operation[0] == '\0')
			return slot;
		if (oldest == NULL || slot->started < oldest->started)
			oldest = slot;
	}
	return oldest;
}

/* Start (or restart) the clock of an operation. */
void
progress_begin(const char *operation)
{
	ProgressState *slot = progress_slot(operation, true);
	TimestampTz now = GetCurrentTimestamp();

	strlcpy(slot->operation, operation, NAMEDATALEN);
	slot->started = now;
	slot->step_started = now;
	slot->last_report = now;
	slot->reported = 0;
}

/*
 * A step of an operation has finished: report it as a NOTICE when the
 * interval has passed since the last report (or the begin).  An operation
 * that was not begun begins now.  Returns whether it was reported.
 */
bool
progress_report(const char *operation, const char *message)
{
	ProgressState *slot = progress_slot(operation, false);
	TimestampTz now = GetCurrentTimestamp();
	bool		due;

	if (slot == NULL)
	{
		progress_begin(operation);
		slot = progress_slot(operation, false);
	}
	due = progress_interval == 0 ||
		(progress_interval > 0 &&
		 TimestampDifferenceExceeds(slot->last_report, now, progress_interval));
	if (due)
	{
		ereport(NOTICE,
				(errmsg("%s: %s", operation, message),
				 errdetail("The step took %.1f s; %.1f s since %s started.",
						   seconds_between(slot->step_started, now),
						   seconds_between(slot->started, now), operation)));
		slot->last_report = now;
		slot->reported++;
	}
	slot->step_started = now;
	return due;
}

/*
 * The operation has finished: report the summary when some step was
 * reported, and forget the operation.
 */
void
progress_end(const char *operation, const char *summary)
{
	ProgressState *slot = progress_slot(operation, false);

	if (slot == NULL)
		return;
	if (slot->reported > 0 && progress_interval >= 0)
		ereport(NOTICE,
				(errmsg("%s: %s", operation, summary),
				 errdetail("%.1f s in all.",
						   seconds_between(slot->started, GetCurrentTimestamp()))));
	slot->operation[0] = '\0';
}

/* SQL: staging._progress_begin(operation text). */
Datum
staging_progress_begin(PG_FUNCTION_ARGS)
{
	progress_begin(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/* SQL: staging._progress(operation text, message text) -> reported. */
Datum
staging_progress(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(progress_report(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								   text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

/* SQL: staging._progress_end(operation text, summary text). */
Datum
staging_progress_end(PG_FUNCTION_ARGS)
{
	progress_end(text_to_cstring(PG_GETARG_TEXT_PP(0)),
				 text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}
