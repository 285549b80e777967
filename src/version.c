/*-------------------------------------------------------------------------
 *
 * version.c
 *	  The session version: the GUC staging.version, the live version, and
 *	  the values the version filter compares with at execution time.
 *
 * staging.version is 'live' (default), 'all', a version number or a
 * timestamp with time zone; it is parsed once, when it is set, so bad
 * values fail at SET time (22023) and reading it costs nothing.
 *
 * The live version is kept in staging.live_state.  Each backend caches it
 * and drops the cache on a relcache invalidation of staging.live_state.
 * The contract: whoever changes staging.live_state (staging.advance, a
 * restore, a hand-made UPDATE) need not do anything, because the statement
 * trigger live_state_changed on that table sends the invalidation
 * (CacheInvalidateRelcacheByRelid); other sessions pick it up at their
 * next statement, the changing session at its next command.  In READ
 * COMMITTED the cache holds the newest committed value; in REPEATABLE
 * READ and SERIALIZABLE the live version is read with the transaction
 * snapshot, once per transaction, so it stays put like the data does.
 *
 * The version filter that planner.c adds compares created_in and
 * updated_in with staging._read_upper() and staging._read_lower().  They
 * resolve the session version once per execution of a plan (a cursor
 * keeps its version across FETCHes, the next execution of a cached plan
 * follows the GUC) and check there, not per row, that the session may
 * read it.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "catalog/namespace.h"
#include "parser/parse_func.h"
#include "replication/walsender.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(staging_read_upper);
PG_FUNCTION_INFO_V1(staging_read_lower);
PG_FUNCTION_INFO_V1(staging_read_visible);
PG_FUNCTION_INFO_V1(staging_read_upper_owned);
PG_FUNCTION_INFO_V1(staging_read_lower_owned);
PG_FUNCTION_INFO_V1(staging_read_visible_owned);
PG_FUNCTION_INFO_V1(staging_current_version);
PG_FUNCTION_INFO_V1(staging_live_state_changed);

/* What staging.version says, parsed by its check hook. */
typedef enum VersionKind
{
	VERSION_LIVE,
	VERSION_ALL,
	VERSION_FIXED
} VersionKind;

typedef struct VersionSetting
{
	VersionKind kind;
	int64		version;		/* VERSION_FIXED only */
} VersionSetting;

static char *version_string = NULL;
static VersionSetting setting = {VERSION_LIVE, 0};

/* Cache of the live version (see the header comment). */
static Oid	live_state_relid = InvalidOid;
static bool live_valid = false;
static int64 live_cached;
static bool xact_live_valid = false;
static LocalTransactionId xact_live_lxid = InvalidLocalTransactionId;
static int64 xact_live_cached;

/* The future version that staging.preview() opened for this session. */
static int64 preview_version = 0;
static TimestampTz preview_expires = 0;
static LocalTransactionId preview_lxid = InvalidLocalTransactionId;
static Oid	preview_userid = InvalidOid;

/*
 * The read range of one plan execution, shared by the filter functions
 * evaluated in that execution (keyed by their memory context, which is the
 * executor's per-query context) and forgotten when that context goes.
 */
typedef struct QueryRange
{
	MemoryContext cxt;
	int64		version;		/* or STAGING_VERSION_ALL */
	bool		checked;		/* may the session read it? checked, or exempt */
	int64		lower;			/* updated_in > lower */
	int64		upper;			/* created_in <= upper */
	struct QueryRange *next;
	MemoryContextCallback callback;
} QueryRange;

static QueryRange *query_ranges = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static void staging_process_utility(PlannedStmt *pstmt, const char *queryString,
									bool readOnlyTree,
									ProcessUtilityContext context,
									ParamListInfo params,
									QueryEnvironment *queryEnv,
									DestReceiver *dest, QueryCompletion *qc);

/* The version of a point in time: UNIX epoch seconds, rounded down. */
int64
staging_timestamp_to_version(TimestampTz ts)
{
	int64		seconds = ts / USECS_PER_SEC;

	if (ts < 0 && ts % USECS_PER_SEC != 0)
		seconds--;
	return seconds + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * Parse a value of staging.version; false (with a detail message for the
 * GUC machinery) when it is not one.  Never throws: it runs in a GUC
 * check hook.
 */
static bool
parse_version(const char *value, VersionSetting *result)
{
	char		buf[MAXDATELEN + 1];
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt;
	fsec_t		fsec;
	int			tz;
	TimestampTz ts;
	const char *p;
	size_t		len;

	/* Trim surrounding white space. */
	while (*value && isspace((unsigned char) *value))
		value++;
	len = strlen(value);
	while (len > 0 && isspace((unsigned char) value[len - 1]))
		len--;
	if (len == 0 || len > MAXDATELEN)
	{
		GUC_check_errdetail("\"%s\" is not 'live', 'all', a version number or a timestamp with time zone.", value);
		return false;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';

	if (pg_strcasecmp(buf, "live") == 0)
	{
		result->kind = VERSION_LIVE;
		return true;
	}
	if (pg_strcasecmp(buf, "all") == 0)
	{
		result->kind = VERSION_ALL;
		return true;
	}

	/* A version number: digits, perhaps signed. */
	p = buf;
	if (*p == '+' || *p == '-')
		p++;
	if (*p != '\0' && strspn(p, "0123456789") == strlen(p))
	{
		char	   *end;
		long long	v;

		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno != 0 || *end != '\0' || v < 1)
		{
			GUC_check_errdetail("Version numbers are UNIX epoch seconds from 1 to 9223372036854775807.");
			return false;
		}
		result->kind = VERSION_FIXED;
		result->version = v;
		return true;
	}

	/* A timestamp with time zone, in the session's TimeZone if none given. */
	if (ParseDateTime(buf, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0 ||
		compat_decode_datetime(field, ftype, nf, &dtype, &tt, &fsec, &tz) != 0)
	{
		GUC_check_errdetail("\"%s\" is not 'live', 'all', a version number or a timestamp with time zone.", buf);
		return false;
	}
	if (dtype != DTK_DATE || tm2timestamp(&tt, fsec, &tz, &ts) != 0 ||
		staging_timestamp_to_version(ts) < 1)
	{
		GUC_check_errdetail("Timestamp \"%s\" is out of range: versions start at 1970-01-01 00:00:01+00.", buf);
		return false;
	}
	result->kind = VERSION_FIXED;
	result->version = staging_timestamp_to_version(ts);
	return true;
}

/* GUC check hook: parse the value once, hand it to the assign hook. */
static bool
check_version(char **newval, void **extra, GucSource source)
{
	VersionSetting parsed;
	VersionSetting *copy;

	if (!parse_version(*newval, &parsed))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errhint("Use 'live', 'all', a version number (UNIX epoch seconds, 1 or more) or a timestamp with time zone.");
		return false;
	}
	copy = compat_guc_malloc(sizeof(VersionSetting));
	if (copy == NULL)
		return false;
	*copy = parsed;
	*extra = copy;
	return true;
}

/* GUC assign hook: remember the parsed value. */
static void
assign_version(const char *newval, void *extra)
{
	setting = *(VersionSetting *) extra;
}

/*
 * Relcache callback: forget the live version when staging.live_state
 * changed (or everything was invalidated).  Reads no catalogs.
 */
static void
live_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == live_state_relid)
	{
		live_valid = false;
		xact_live_valid = false;
	}
}

/* Define staging.version and register the invalidation callback. */
void
version_init(void)
{
	DefineCustomStringVariable("staging.version",
							   "The version this session reads and writes.",
							   "'live' (default), 'all' (every row), a version number (UNIX epoch seconds) or a timestamp with time zone.",
							   &version_string,
							   "live",
							   PGC_USERSET,
							   0,
							   check_version,
							   assign_version,
							   NULL);
	CacheRegisterRelcacheCallback(live_relcache_callback, (Datum) 0);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = staging_process_utility;
}

/*
 * Read staging.live_state with the given snapshot (NULL: a fresh catalog
 * snapshot, which also works in parallel workers).
 */
static int64
read_live_state(Snapshot snapshot)
{
	Oid			schema = staging_schema_oid();
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	attno;
	bool		isnull;
	int64		version;

	if (!OidIsValid(schema))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						STAGING_NAME),
				 errhint("Run CREATE EXTENSION %s first.", STAGING_NAME)));
	live_state_relid = get_relname_relid("live_state", schema);
	if (!OidIsValid(live_state_relid))
		elog(ERROR, "table staging.live_state is missing; reinstall the extension");

	rel = table_open(live_state_relid, AccessShareLock);
	attno = get_attnum(live_state_relid, "version");
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple) || attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table staging.live_state holds no live version"),
				 errhint("Insert its row again: INSERT INTO staging.live_state DEFAULT VALUES.")));
	version = DatumGetInt64(heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * The live version, cached per backend (see the header comment for when
 * the cache is refreshed).
 */
int64
staging_live_version(void)
{
	if (IsolationUsesXactSnapshot())
	{
		if (!xact_live_valid || xact_live_lxid != MyLocalTransactionId)
		{
			/* Mark valid first: an invalidation arriving while we read wins. */
			xact_live_valid = true;
			xact_live_lxid = MyLocalTransactionId;
			xact_live_cached = read_live_state(GetTransactionSnapshot());
		}
		return xact_live_cached;
	}
	if (!live_valid)
	{
		live_valid = true;
		live_cached = read_live_state(NULL);
	}
	return live_cached;
}

/* Trigger on staging.live_state: make every backend re-read it. */
Datum
staging_live_state_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "staging._live_state_changed() must be called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* May the current user read any version, like an editor? */
static bool
may_read_any_version(void)
{
	Oid			argtypes[2] = {INT8OID, INTERVALOID};
	Oid			funcid;

	if (superuser())
		return true;
	funcid = LookupFuncName(list_make2(makeString(STAGING_NAME),
									   makeString("sign_preview")),
							2, argtypes, true);
	return OidIsValid(funcid) &&
		object_aclcheck(ProcedureRelationId, funcid, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK;
}

/*
 * Let this session, as the current user, read one future version until
 * the token's expiry (staging.preview() has checked the token).  With
 * local, only until the end of the current transaction.
 */
void
staging_grant_preview(int64 version, TimestampTz expires, bool local)
{
	preview_version = version;
	preview_expires = expires;
	preview_lxid = local ? MyLocalTransactionId : InvalidLocalTransactionId;
	preview_userid = GetUserId();
}

/*
 * Raise 42501 unless the current user may read this version
 * (STAGING_VERSION_ALL for every row).  Past and live versions, and
 * versions up to the current time, are for everyone; the future and 'all'
 * for superusers and roles that may execute staging.sign_preview(), and a
 * version opened by staging.preview() for this session.
 */
static void
check_read_privilege(int64 version)
{
	if (version != STAGING_VERSION_ALL &&
		(version <= staging_live_version() ||
		 version <= staging_timestamp_to_version(GetCurrentTransactionStartTimestamp())))
		return;
	if (may_read_any_version())
		return;
	if (version != STAGING_VERSION_ALL && version == preview_version &&
		preview_userid == GetUserId() &&
		(preview_lxid == InvalidLocalTransactionId || preview_lxid == MyLocalTransactionId))
	{
		if (GetCurrentTimestamp() <= preview_expires)
			return;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("preview of version %lld expired at %s",
						(long long) version, timestamptz_to_str(preview_expires)),
				 errhint("Open the preview again with a new token from staging.sign_preview().")));
	}
	if (version == STAGING_VERSION_ALL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read every version of versioned tables (staging.version = 'all'%s)",
						row_security ? "" : " because row_security is off"),
				 errdetail("Only superusers and roles that may execute staging.sign_preview() may read every version."),
				 errhint(row_security ?
						 "SET staging.version = 'live', or ask an administrator to GRANT EXECUTE ON FUNCTION staging.sign_preview(bigint, interval) to your role." :
						 "SET row_security = on to read the session version, or dump versioned tables as a role that may read every version.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to read future version %lld (staging.version)",
					(long long) version),
			 errdetail("Future versions are readable by superusers, roles that may execute staging.sign_preview(), and sessions that opened a preview with staging.preview(token)."),
			 errhint("Open a preview with staging.preview(token), or SET staging.version = 'live'.")));
}

/* The setting resolved: 'live' to the live version, 'all' to ALL. */
static int64
setting_version(void)
{
	switch (setting.kind)
	{
		case VERSION_LIVE:
			return staging_live_version();
		case VERSION_ALL:
			return STAGING_VERSION_ALL;
		case VERSION_FIXED:
			break;
	}
	return setting.version;
}

/*
 * The version this session reads and writes now, after checking that it
 * may (42501 otherwise); STAGING_VERSION_ALL for 'all'.
 */
int64
staging_session_version(void)
{
	int64		version = setting_version();

	check_read_privilege(version);
	return version;
}

/*
 * The version the planner should estimate with: the session version
 * without the privilege check (only statistics depend on it), or
 * STAGING_VERSION_ALL.
 */
int64
staging_estimate_version(void)
{
	return setting_version();
}

/*
 * The version the filter reads in a new execution, and whether reading it
 * needs no privilege check: every row for referential integrity checks
 * (they run as the table owner, exempt from row security too) and for
 * walsenders (replication copies every row); with row_security off
 * (pg_dump sets it), every row, for roles that may read 'all' (as row
 * security does, the others get an error); otherwise the session version.
 */
static int64
read_version(bool *exempt)
{
	*exempt = false;
	if (InNoForceRLSOperation() || am_walsender)
	{
		*exempt = true;
		return STAGING_VERSION_ALL;
	}
	if (!row_security)
		return STAGING_VERSION_ALL;
	return setting_version();
}

/* Memory context callback: the execution ended, forget its range. */
static void
forget_query_range(void *arg)
{
	QueryRange **link;

	for (link = &query_ranges; *link != NULL; link = &(*link)->next)
	{
		if (*link == (QueryRange *) arg)
		{
			*link = (*link)->next;
			break;
		}
	}
}

/*
 * The read range of the execution that calls a filter function: resolved
 * on the first call in that execution, then kept in fn_extra.  The
 * privilege check runs once per execution, unless the function filters a
 * table that the current user owns (owned: the planner chose the _owned
 * variant, and the plan is replanned for another role).  An owner may
 * read every version of the table anyway, by unregistering it.
 */
static QueryRange *
query_range(FunctionCallInfo fcinfo, bool owned)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	QueryRange *range = (QueryRange *) flinfo->fn_extra;

	if (range != NULL)
		return range;
	for (range = query_ranges; range != NULL; range = range->next)
		if (range->cxt == flinfo->fn_mcxt)
			break;
	if (range == NULL)
	{
		bool		exempt;
		int64		version = read_version(&exempt);

		range = MemoryContextAlloc(flinfo->fn_mcxt, sizeof(QueryRange));
		range->cxt = flinfo->fn_mcxt;
		range->version = version;
		range->checked = exempt;
		if (version == STAGING_VERSION_ALL)
		{
			range->lower = PG_INT64_MIN;
			range->upper = PG_INT64_MAX;
		}
		else
			range->lower = range->upper = version;
		range->callback.func = forget_query_range;
		range->callback.arg = range;
		MemoryContextRegisterResetCallback(flinfo->fn_mcxt, &range->callback);
		range->next = query_ranges;
		query_ranges = range;
	}
	if (!owned && !range->checked)
	{
		check_read_privilege(range->version);
		range->checked = true;
	}
	flinfo->fn_extra = range;
	return range;
}

/* SQL: staging._read_upper(): the filter's bound for created_in. */
Datum
staging_read_upper(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, false)->upper);
}

/* SQL: staging._read_lower(): the filter's bound for updated_in. */
Datum
staging_read_lower(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, false)->lower);
}

/*
 * SQL: staging._read_visible(created_in, updated_in): the filter in one
 * call, for scans where no index can use the bounds.
 */
Datum
staging_read_visible(PG_FUNCTION_ARGS)
{
	QueryRange *range = query_range(fcinfo, false);

	PG_RETURN_BOOL(PG_GETARG_INT64(0) <= range->upper &&
				   PG_GETARG_INT64(1) > range->lower);
}

/* SQL: the same three for a table the current user owns (no check). */
Datum
staging_read_upper_owned(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, true)->upper);
}

Datum
staging_read_lower_owned(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(query_range(fcinfo, true)->lower);
}

Datum
staging_read_visible_owned(PG_FUNCTION_ARGS)
{
	QueryRange *range = query_range(fcinfo, true);

	PG_RETURN_BOOL(PG_GETARG_INT64(0) <= range->upper &&
				   PG_GETARG_INT64(1) > range->lower);
}

/*
 * SQL: staging.current_version(): the version this session reads now,
 * NULL for 'all'.  Raises 42501 when the session may not read it.
 */
Datum
staging_current_version(PG_FUNCTION_ARGS)
{
	int64		version = staging_session_version();

	if (version == STAGING_VERSION_ALL)
		PG_RETURN_NULL();
	PG_RETURN_INT64(version);
}

/*
 * ProcessUtility_hook: COPY of a versioned main table TO a file or the
 * client writes every version row (a backup, like pg_dump), so it is only
 * for roles that may read 'all'; others get 42501, as with row security
 * and row_security off.  COPY (SELECT ...) reads the session version.
 */
static void
staging_process_utility(PlannedStmt *pstmt, const char *queryString,
						bool readOnlyTree, ProcessUtilityContext context,
						ParamListInfo params, QueryEnvironment *queryEnv,
						DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) pstmt->utilityStmt;

		if (!copy->is_from && copy->relation != NULL &&
			!InNoForceRLSOperation() && !am_walsender)
		{
			Oid			relid = RangeVarGetRelid(copy->relation, NoLock, true);
			const VersionedRel *entry = OidIsValid(relid) ? registry_lookup(relid) : NULL;

			if (entry != NULL && entry->kind == VERSIONED_MAIN &&
				!may_read_any_version())
			{
				char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															  get_rel_name(relid));

				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to copy every version of versioned table %s",
								name),
						 errdetail("COPY of a table writes every version row; only superusers and roles that may execute staging.sign_preview() may read every version."),
						 errhint("COPY (SELECT * FROM %s) TO ... copies the rows of the session version.",
								 name)));
			}
		}
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}
