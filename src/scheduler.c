/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  Background worker that makes due updates live on time.
 *
 * Design: one launcher, registered at server start when the library is
 * preloaded, wakes up every staging.scheduler_naptime seconds.  On each
 * wake-up it reads staging.scheduler_databases (re-read on SIGHUP) and,
 * for each database named there, one after the other, starts a
 * short-lived worker connected to that database that runs
 * "SELECT staging.advance(now())" in one transaction and exits; the
 * launcher waits for it before starting the next.  So:
 *	- a due update goes live at most one naptime (plus the time the
 *	  databases before it take) after its start;
 *	- a database not listed is never connected to;
 *	- a database without the extension is connected to and left alone;
 *	- an error in one database (a missing database, a failing changelog
 *	  hook) is logged by that worker, with a CONTEXT line naming the
 *	  database, and does not stop the others; the next round retries;
 *	- a worker waits for locks at most its share of the naptime (at
 *	  least LOCK_WAIT_MIN_MS): a transaction that holds staging.updates
 *	  or staging.live_state in one database delays the others by that
 *	  much, not until it ends;
 *	- the launcher needs max_worker_processes room for itself and one
 *	  more worker.
 * The launcher is restarted by the postmaster 10 s after it dies, and
 * with the server.
 *
 * The worker also publishes invalidations (staging.publish_invalidations():
 * dates committed ones with their commit LSN).  With
 * staging.invalidate_after_replay = on, the NOTIFY of swaps and go-lives
 * waits for the standbys, so the worker stays for its share of the
 * naptime (naptime / number of databases) and calls it every
 * PUBLISH_POLL_MS; the launcher sleeps only for what is left of the
 * naptime after the round.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procsignal.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

PGDLLEXPORT void staging_scheduler_main(Datum main_arg);
PGDLLEXPORT void staging_scheduler_database_main(Datum main_arg);

/* GUC staging.scheduler_databases: comma-separated database names */
static char *scheduler_databases = NULL;

/* GUC staging.scheduler_naptime: seconds between two rounds */
static int	scheduler_naptime = 60;

/* GUC staging.invalidate_after_replay: NOTIFY only once standbys replayed */
static bool invalidate_after_replay = false;

/* GUC staging.replay_wait_timeout: how long an invalidation waits for them */
static int	replay_wait_timeout = 10000;

/* How often a worker publishes while invalidations wait for standbys. */
#define PUBLISH_POLL_MS 100

/* The least lock_timeout of a database worker's advance(). */
#define LOCK_WAIT_MIN_MS 1000

/*
 * Define the scheduler's settings (in every process that loads the
 * library, so that SHOW works) and, when preloaded, register the launcher.
 */
void
scheduler_init(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("staging.scheduler_databases",
							   "Databases in which the background worker makes due updates live.",
							   "A comma-separated list of database names; empty disables the scheduler.",
							   &scheduler_databases,
							   "",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("staging.scheduler_naptime",
							"Seconds between two rounds of the scheduler.",
							NULL,
							&scheduler_naptime,
							60, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("staging.invalidate_after_replay",
							 "Sends NOTIFY staging_invalidation only once every connected standby replayed the change.",
							 "Off: at commit.  On: staging.publish_invalidations() (the scheduler) sends it later.",
							 &invalidate_after_replay,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("staging.replay_wait_timeout",
							"Longest wait of an invalidation for lagging standbys.",
							"After it, the invalidation is published naming the standbys that lag.",
							&replay_wait_timeout,
							10000, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "%s", STAGING_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "staging_scheduler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "staging scheduler launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "staging scheduler");
	RegisterBackgroundWorker(&worker);
}

/*
 * Start the worker for one database and wait until it is done.  Returns
 * false when the postmaster died.
 */
static bool
run_database_worker(const char *dbname, int32 window_ms)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	if (strlen(dbname) >= BGW_EXTRALEN)
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("staging scheduler: database name \"%s\" is too long", dbname)));
		return true;
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "%s", STAGING_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "staging_scheduler_database_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "staging scheduler for database %s", dbname);
	snprintf(worker.bgw_type, BGW_MAXLEN, "staging scheduler");
	strlcpy(worker.bgw_extra, dbname, BGW_EXTRALEN);
	worker.bgw_main_arg = Int32GetDatum(window_ms);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("staging scheduler: could not start a worker for database \"%s\"", dbname),
				 errhint("Raise max_worker_processes.")));
		return true;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED ||
		WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		return false;
	pfree(handle);
	return true;
}

/* One round: a worker for each listed database, one after the other. */
static void
scheduler_round(void)
{
	char	   *rawlist = pstrdup(scheduler_databases ? scheduler_databases : "");
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitGUCList(rawlist, ',', &names))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("staging scheduler: invalid list syntax in \"staging.scheduler_databases\"")));
		return;
	}
	foreach(lc, names)
	{
		if (ShutdownRequestPending)
			break;
		if (!run_database_worker((const char *) lfirst(lc),
								 (int32) (scheduler_naptime * 1000L / list_length(names))))
			proc_exit(1);
	}
}

/*
 * The launcher: a round every naptime until SIGTERM; SIGHUP re-reads the
 * configuration (the database list and the naptime).
 */
void
staging_scheduler_main(Datum main_arg)
{
	MemoryContext round_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);

	/*
	 * The postmaster tells us with SIGUSR1 that a database worker started or
	 * stopped; a worker without a database connection ignores SIGUSR1 unless
	 * told otherwise.  The handler sets our latch.
	 */
	pqsignal(SIGUSR1, procsignal_sigusr1_handler);
	BackgroundWorkerUnblockSignals();

	round_context = AllocSetContextCreate(TopMemoryContext,
										  "staging scheduler round",
										  ALLOCSET_DEFAULT_SIZES);
	while (!ShutdownRequestPending)
	{
		MemoryContext oldcontext;
		TimestampTz round_start = GetCurrentTimestamp();
		long		sleep_ms;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		oldcontext = MemoryContextSwitchTo(round_context);
		scheduler_round();
		MemoryContextSwitchTo(oldcontext);
		MemoryContextReset(round_context);

		/* Workers that stayed to publish used part of the naptime. */
		sleep_ms = scheduler_naptime * 1000L -
			TimestampDifferenceMilliseconds(round_start, GetCurrentTimestamp());
		if (sleep_ms > 0)
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms,
							 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	/* Exit code 1: restarted after bgw_restart_time unless shutting down. */
	proc_exit(1);
}

/*
 * One transaction that calls staging.publish_invalidations() when it
 * exists (not before ALTER EXTENSION staging UPDATE to 1.1); returns how
 * many invalidations still wait for standbys.
 */
static int64
publish_invalidations(void)
{
	int64		pending = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.to_regprocedure('staging.publish_invalidations()') IS NOT NULL",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		bool		present = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 1, &isnull));

		if (present)
		{
			const char *query = "SELECT staging.publish_invalidations()";

			pgstat_report_activity(STATE_RUNNING, query);
			if (SPI_execute(query, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "staging scheduler: \"%s\" failed", query);
			pending = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull));
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return pending;
}

/*
 * Error context of a database worker: its messages in the server log say
 * which database they concern (the default log_line_prefix does not).
 */
static void
database_worker_error_context(void *arg)
{
	errcontext("staging scheduler worker for database \"%s\"", (const char *) arg);
}

/*
 * A database worker: make due updates live in one database, in one
 * transaction, then publish invalidations (staying for window_ms, the
 * argument, while they wait for standbys), then exit.  Databases without
 * the extension are left alone.
 */
void
staging_scheduler_database_main(Datum main_arg)
{
	char		dbname[BGW_EXTRALEN];
	TimestampTz leave = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													DatumGetInt32(main_arg));
	bool		present;
	ErrorContextCallback errcallback;
	char		lock_wait[32];

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);

	errcallback.callback = database_worker_error_context;
	errcallback.arg = dbname;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("staging scheduler");

	/*
	 * Wait for locks (a merchant's open transaction that created an update,
	 * a long write at the live version) at most our share of the naptime:
	 * the launcher waits for us before it serves the next database.
	 */
	snprintf(lock_wait, sizeof(lock_wait), "%d",
			 Max(DatumGetInt32(main_arg), LOCK_WAIT_MIN_MS));
	SetConfigOption("lock_timeout", lock_wait, PGC_SUSET, PGC_S_SESSION);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	present = staging_extension_present();
	if (present)
	{
		const char *query = "SELECT staging.live_version(), staging.advance(now())";
		int			ret;

		pgstat_report_activity(STATE_RUNNING, query);
		SPI_connect();
		ret = SPI_execute(query, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "staging scheduler: \"%s\" failed: %d", query, ret);
		else
		{
			bool		isnull;
			int64		old_live;
			int64		new_live;

			old_live = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
			new_live = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
			/* This one names the database in its own words. */
			error_context_stack = errcallback.previous;
			if (new_live != old_live)
				ereport(LOG,
						(errmsg("staging scheduler: live version of database \"%s\" advanced from "
								INT64_FORMAT " to " INT64_FORMAT,
								dbname, old_live, new_live)));
			error_context_stack = &errcallback;
		}
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* Publish; while some wait for standbys, poll until our time is up. */
	while (present)
	{
		(void) publish_invalidations();
		if (!invalidate_after_replay || GetCurrentTimestamp() >= leave)
			break;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 PUBLISH_POLL_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}
