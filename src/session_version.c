/*-------------------------------------------------------------------------
 *
 * session_version.c
 *	  The session version: the setting staging.version, the preview grant,
 *	  and who may read which version.
 *
 * staging.version is 'live' (default), 'all', a version number or a
 * timestamp with time zone; it is parsed once, when it is set, so bad
 * values fail at SET time (22023) and reading it costs nothing.  The
 * parsed value also remembers the role that set it: the right to read a
 * future version is checked for that role, so that a SECURITY DEFINER
 * function cannot be used to read ahead with its owner's rights.
 *
 * Reading a future version (after both the live version and the current
 * time) or 'all' is for superusers, roles that may execute
 * staging.sign_preview(), and a session that opened that one version with
 * staging.preview(token).  The preview grant is itself a setting,
 * staging.preview_grant, that only C code (or a superuser) sets: so it
 * ends with the transaction for staging.preview(token, true), and with
 * RESET ALL and DISCARD ALL, which connection poolers run between
 * clients.  It remembers a fingerprint of the secret that signed the
 * token, so that staging.rotate_preview_secret() ends it too.  A preview
 * opens its version for reading only: writes at it need more (see
 * staging_version_previewed_only()).
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(staging_current_version);

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
	Oid			setter;			/* role that set it; InvalidOid: the
								 * configuration files */
	Oid			setter_outer;	/* the session's role (SET ROLE) then */
	bool		for_role_only;	/* chosen for the code that runs as setter
								 * (staging_set_version_for_role) */
} VersionSetting;

/* A future version opened by staging.preview(), for one role. */
typedef struct PreviewGrant
{
	int64		version;		/* 0: no grant */
	TimestampTz expires;
	Oid			role;
	/* the fingerprint of the secret that signed the token */
	char		secret[STAGING_SECRET_FINGERPRINT_HEX + 1];
} PreviewGrant;

static char *version_string = NULL;
static VersionSetting setting = {VERSION_LIVE, 0, InvalidOid, InvalidOid, false};

/* Is staging_set_version_for_role() setting staging.version? */
static bool choosing_for_role = false;

static char *grant_string = NULL;
static PreviewGrant grant = {0, 0, InvalidOid, ""};

static bool may_read_version(int64 version, Oid role);

/* The fingerprint of the preview secret, read once per transaction. */
static LocalTransactionId secret_lxid = InvalidLocalTransactionId;
static char secret_now[STAGING_SECRET_FINGERPRINT_HEX + 1];

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
 * GUC machinery) when it is not one.  *timestamp says whether it was a
 * point in time (rather than 'live', 'all' or a number).  Never throws: it
 * runs in a GUC check hook.
 */
static bool
parse_version(const char *value, VersionSetting *result, bool *timestamp)
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

	*timestamp = false;

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
		if (errno != 0 || *end != '\0' || v < 1 || v >= STAGING_MAX_VERSION)
		{
			GUC_check_errdetail("Version numbers are UNIX epoch seconds from 1 to 9223372036854775806; 9223372036854775807, staging.max_version(), is the open end, where no row is visible.");
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
	*timestamp = true;
	return true;
}

/*
 * The value of staging.version that stands for a version given as a point
 * in time: the version's start, in UTC, in ISO form ("2035-01-01
 * 05:00:00+00"); NULL when out of memory.  A timestamp without a time zone
 * (or "now", "tomorrow") means what the session's TimeZone and clock say
 * when it is set, but the stored value is parsed again elsewhere: by
 * parallel workers (which may restore staging.version before TimeZone),
 * and by SQL that saves the setting as text and sets it back later.
 * Stored like this, it means the same version wherever it is parsed.
 */
static char *
version_timestamp_text(int64 version)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];
	char	   *result;
	TimestampTz ts;

	ts = (version - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) *
		USECS_PER_SEC;
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		return NULL;
	tm.tm_isdst = 0;			/* else EncodeDateTime leaves out the zone */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, buf);
	result = compat_guc_malloc(strlen(buf) + 1);
	if (result != NULL)
		strcpy(result, buf);
	return result;
}

/*
 * The value of staging.version that stands for a parsed one, in one
 * spelling ("live", "all", the version number), so that SHOW and
 * current_setting() give what SQL can compare (' Live ' is "live");
 * NULL when out of memory.
 */
static char *
version_text(const VersionSetting *parsed)
{
	char		buf[32];
	char	   *result;

	if (parsed->kind == VERSION_LIVE)
		strlcpy(buf, "live", sizeof(buf));
	else if (parsed->kind == VERSION_ALL)
		strlcpy(buf, "all", sizeof(buf));
	else
		snprintf(buf, sizeof(buf), INT64_FORMAT, parsed->version);
	result = compat_guc_malloc(strlen(buf) + 1);
	if (result != NULL)
		strcpy(result, buf);
	return result;
}

/*
 * GUC check hook of staging.version: parse the value once and remember
 * who set it (the GUC machinery keeps this extra with the value, so a
 * value restored at the end of a function or subtransaction keeps its
 * setter).  The value is kept in one spelling (version_text); a point in
 * time as the start of its version in UTC (see version_timestamp_text).
 */
static bool
check_version(char **newval, void **extra, GucSource source)
{
	VersionSetting parsed;
	VersionSetting *copy;
	bool		timestamp;
	char	   *canonical;

	if (!parse_version(*newval, &parsed, &timestamp))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errhint("Use 'live', 'all', a version number (UNIX epoch seconds, 1 or more) or a timestamp with time zone.");
		return false;
	}
	canonical = timestamp ? version_timestamp_text(parsed.version) : version_text(&parsed);
	if (canonical == NULL)
		return false;
	if (strcmp(canonical, *newval) == 0)
		compat_guc_free(canonical);
	else
	{
		compat_guc_free(*newval);
		*newval = canonical;
	}
	parsed.setter = source >= PGC_S_INTERACTIVE ? GetUserId() : InvalidOid;
	parsed.setter_outer = source >= PGC_S_INTERACTIVE ? GetOuterUserId() : InvalidOid;
	parsed.for_role_only = choosing_for_role && OidIsValid(parsed.setter);
	copy = compat_guc_malloc(sizeof(VersionSetting));
	if (copy == NULL)
		return false;
	*copy = parsed;
	*extra = copy;
	return true;
}

/* GUC assign hook of staging.version: remember the parsed value. */
static void
assign_version(const char *newval, void *extra)
{
	setting = *(VersionSetting *) extra;
}

/*
 * GUC check hook of staging.preview_grant: "version:expires:role:secret",
 * as staging_grant_preview() writes it, or empty for no grant.
 */
static bool
check_grant(char **newval, void **extra, GucSource source)
{
	PreviewGrant parsed = {0, 0, InvalidOid, ""};
	PreviewGrant *copy;

	if (**newval != '\0')
	{
		long long	version;
		long long	expires;
		unsigned int role;
		char		secret[STAGING_SECRET_FINGERPRINT_HEX + 1];
		char		tail;

		StaticAssertStmt(STAGING_SECRET_FINGERPRINT_HEX == 16,
						 "the format below reads 16 digits");
		if (sscanf(*newval, "%lld:%lld:%u:%16[0-9a-f]%c",
				   &version, &expires, &role, secret, &tail) != 4 ||
			strlen(secret) != STAGING_SECRET_FINGERPRINT_HEX || version < 1)
		{
			GUC_check_errdetail("staging.preview_grant is set by staging.preview().");
			return false;
		}
		parsed.version = version;
		parsed.expires = expires;
		parsed.role = role;
		strlcpy(parsed.secret, secret, sizeof(parsed.secret));
	}
	copy = compat_guc_malloc(sizeof(PreviewGrant));
	if (copy == NULL)
		return false;
	*copy = parsed;
	*extra = copy;
	return true;
}

/* GUC assign hook of staging.preview_grant. */
static void
assign_grant(const char *newval, void *extra)
{
	grant = *(PreviewGrant *) extra;
}

/* Define staging.version and staging.preview_grant. */
void
session_version_init(void)
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
	DefineCustomStringVariable("staging.preview_grant",
							   "The future version that staging.preview() opened, for which role and until when.",
							   "Set by staging.preview(); RESET ALL and DISCARD ALL end it.",
							   &grant_string,
							   "",
							   PGC_SUSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
							   GUC_DISALLOW_IN_AUTO_FILE | GUC_SUPERUSER_ONLY,
							   check_grant,
							   assign_grant,
							   NULL);
}

/*
 * Let role read one future version until expires (staging.preview() has
 * checked the token): for the session, or with local until the end of the
 * current transaction.
 */
void
staging_grant_preview(int64 version, TimestampTz expires, bool local)
{
	char		value[64 + STAGING_SECRET_FINGERPRINT_HEX];

	staging_preview_secret_fingerprint(secret_now);
	secret_lxid = MyLocalTransactionId;
	snprintf(value, sizeof(value), INT64_FORMAT ":" INT64_FORMAT ":%u:%s",
			 version, (int64) expires, GetUserId(), secret_now);
	(void) set_config_option("staging.preview_grant", value, PGC_SUSET,
							 PGC_S_SESSION,
							 local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
							 true, 0, false);
}

/*
 * Was the preview grant made under the preview secret of now?  After
 * staging.rotate_preview_secret() it is void, like the token that opened
 * it.  The secret is read once per transaction.
 */
static bool
grant_secret_current(void)
{
	if (secret_lxid != MyLocalTransactionId ||
		secret_lxid == InvalidLocalTransactionId)
	{
		staging_preview_secret_fingerprint(secret_now);
		secret_lxid = MyLocalTransactionId;
	}
	return strcmp(grant.secret, secret_now) == 0;
}

/*
 * The future version a valid preview grant lets the role that set
 * staging.version read, or 0.
 */
int64
staging_previewed_version(void)
{
	if (grant.version != 0 && grant.role == staging_version_setter() &&
		GetCurrentTimestamp() <= grant.expires && grant_secret_current())
		return grant.version;
	return 0;
}

/*
 * The role that chose the session version: the role that set
 * staging.version (also inside a SECURITY DEFINER function, which leaves
 * the session's role as it is), as long as the session's role is the one
 * it was then.  After SET ROLE or SET SESSION AUTHORIZATION (a login role
 * that runs each request as the user's role), and for a value from the
 * configuration, the session's role: a choice made for one role does not
 * let the next read ahead.  A value chosen for one role only
 * (staging_set_version_for_role) counts for the role running the code.
 * (A parallel worker, whose roles are set after its settings, keeps the
 * setter as before: its leader checks the read when the plan starts, see
 * version_filter_executor_start.)
 */
static Oid
version_chooser(void)
{
	if (!OidIsValid(setting.setter))
		return GetOuterUserId();
	if (IsParallelWorker())
		return setting.setter;
	if (setting.for_role_only)
		return GetUserId();
	if (setting.setter_outer == GetOuterUserId())
		return setting.setter;
	return GetOuterUserId();
}

/*
 * The role whose right to read the session version counts: the role that
 * chose it (version_chooser), but inside the context that PostgreSQL gives
 * a foreign key's queries (which the write triggers also use for their own
 * statements), the role running the code, when the chooser may read the
 * version.  A cascade runs as the owner of the table it reaches, and so do
 * that table's triggers and rules, inside the writer's statement; a role
 * granted REFERENCES on a versioned table may own such a table, and its
 * code must not read ahead with the right of the editor whose write
 * cascaded (the owner of a versioned table still reads it freely, as the
 * cascade to an attribute table needs).  Where the chooser may not read the
 * version, the chooser counts, so that a cascade opens nothing to it.
 */
Oid
staging_version_setter(void)
{
	Oid			chooser = version_chooser();
	Oid			user;

	if (IsParallelWorker() || setting.for_role_only || !InNoForceRLSOperation())
		return chooser;
	user = GetUserId();
	if (user != chooser && may_read_version(staging_setting_version(), chooser))
		return user;
	return chooser;
}

/*
 * SET staging.version at the current GUC nest level for the code that runs
 * as the current role only: the statements the extension runs as a
 * table's owner (run_as_owner.c), and the owner's triggers they fire, read
 * that version where the owner may; code that runs as another role inside
 * them (the trigger of a table that a foreign key cascades to, as that
 * table's owner) is checked for that role.
 */
void
staging_set_version_for_role(const char *value)
{
	choosing_for_role = true;
	PG_TRY();
	{
		(void) set_config_option("staging.version", value,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		choosing_for_role = false;
	}
	PG_END_TRY();
}

/* May this role read every version, like an editor? */
bool
staging_may_read_every_version(Oid role)
{
	Oid			argtypes[2] = {INT8OID, INTERVALOID};
	Oid			funcid;

	if (superuser_arg(role))
		return true;
	funcid = LookupFuncName(list_make2(makeString(STAGING_NAME),
									   makeString("sign_preview")),
							2, argtypes, true);
	return OidIsValid(funcid) &&
		object_aclcheck(ProcedureRelationId, funcid, role, ACL_EXECUTE) == ACLCHECK_OK;
}

/*
 * Is this version readable by every role that may read the table: a past
 * or the live version, or one up to the current time (the start of the
 * transaction)?
 */
static bool
readable_by_everyone(int64 version)
{
	return version != STAGING_VERSION_ALL &&
		(version <= staging_live_version() ||
		 version <= staging_timestamp_to_version(GetCurrentTransactionStartTimestamp()));
}

/*
 * Does role read this version only because staging.preview() opened it
 * (the version is in the future, and role may not read every version)?
 * Writes ask: a preview lets a session look at its version, not change
 * what the update does there.
 */
bool
staging_version_previewed_only(int64 version, Oid role)
{
	return version != STAGING_VERSION_ALL && !readable_by_everyone(version) &&
		version == grant.version && grant.role == role &&
		!staging_may_read_every_version(role);
}

/*
 * May role read this version (as staging_check_read_privilege() decides,
 * without raising)?
 */
static bool
may_read_version(int64 version, Oid role)
{
	if (readable_by_everyone(version) || staging_may_read_every_version(role))
		return true;
	return version != STAGING_VERSION_ALL && version == grant.version &&
		grant.role == role && GetCurrentTimestamp() <= grant.expires &&
		grant_secret_current();
}

/*
 * Raise 42501 unless role, the one that chose the version (see
 * staging_version_setter()), may read this version (STAGING_VERSION_ALL
 * for every row).  Past and live versions, and versions up to the current
 * time, are for everyone; the future and 'all' for superusers and roles
 * that may execute staging.sign_preview(), and a version opened by
 * staging.preview() for this session.
 */
void
staging_check_read_privilege(int64 version, Oid role)
{
	if (readable_by_everyone(version))
		return;
	if (staging_may_read_every_version(role))
		return;
	if (version != STAGING_VERSION_ALL && version == grant.version &&
		grant.role == role)
	{
		if (!grant_secret_current())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("preview of version %lld ended: the preview secret was rotated since it was opened",
							(long long) version),
					 errhint("Open the preview again with a new token from staging.sign_preview().")));
		if (GetCurrentTimestamp() <= grant.expires)
			return;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("preview of version %lld expired at %s",
						(long long) version, timestamptz_to_str(grant.expires)),
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

/*
 * The setting resolved ('live' to the live version, 'all' to
 * STAGING_VERSION_ALL), without any privilege check: for the planner's
 * estimates, and for writes whose right is checked by the caller.
 */
int64
staging_setting_version(void)
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

/* Is the setting 'live' (not a version number nor 'all')? */
bool
staging_setting_is_live(void)
{
	return setting.kind == VERSION_LIVE;
}

/*
 * The version this session reads and writes now, after checking that it
 * may (42501 otherwise); STAGING_VERSION_ALL for 'all'.
 */
int64
staging_session_version(void)
{
	int64		version = staging_setting_version();

	staging_check_read_privilege(version, staging_version_setter());
	return version;
}

/*
 * May the current user read a table it owns at the session version
 * without the check?  An owner may read every version of its table (it
 * could unregister it anyway), but only for a version it chose itself:
 * inside a SECURITY DEFINER function of the owner, the caller's choice is
 * checked as the caller's.
 */
bool
staging_owner_reads_freely(Oid relid)
{
	Oid			user = GetUserId();

	return staging_version_setter() == user &&
		object_ownercheck(RelationRelationId, relid, user);
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
