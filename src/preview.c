/*-------------------------------------------------------------------------
 *
 * preview.c
 *	  Signed preview tokens: staging.sign_preview() and staging.preview().
 *
 * A token is "<version>.<expires>.<signature>": the version, its expiry
 * in UNIX epoch seconds, and the hex HMAC-SHA256 of "<version>.<expires>"
 * under the database's secret.  The secret lives in
 * staging.preview_secret, which only the extension's owner can read; the
 * functions here read it directly (no SQL runs, so nothing can be
 * redirected through search_path) and never return it.
 * staging.rotate_preview_secret() replaces it, which invalidates every
 * token signed before.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(staging_sign_preview);
PG_FUNCTION_INFO_V1(staging_preview);
PG_FUNCTION_INFO_V1(staging_random_secret);

#define SECRET_BYTES 32
#define SIGNATURE_HEX (PG_SHA256_DIGEST_LENGTH * 2)

/* The database's preview secret (palloc'd copy). */
static bytea *
read_secret(void)
{
	Oid			schema = staging_schema_oid();
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	attno;
	bool		isnull = true;
	bytea	   *secret = NULL;

	relid = OidIsValid(schema) ? get_relname_relid("preview_secret", schema) : InvalidOid;
	if (!OidIsValid(relid))
		elog(ERROR, "table staging.preview_secret is missing; reinstall the extension");
	rel = table_open(relid, AccessShareLock);
	attno = get_attnum(relid, "secret");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple) && attno > 0)
	{
		Datum		value = heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull);

		if (!isnull)
			secret = DatumGetByteaPCopy(value);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (secret == NULL || VARSIZE_ANY_EXHDR(secret) < SECRET_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the preview secret of this database is missing"),
				 errhint("A superuser can create one with SELECT staging.rotate_preview_secret().")));
	return secret;
}

/* Hex HMAC-SHA256 of a message under the secret (SIGNATURE_HEX digits). */
static void
hmac_hex(const char *message, int len, char *hex)
{
	bytea	   *secret = read_secret();
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_hmac_ctx *ctx;

	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, (uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret)) < 0 ||
		pg_hmac_update(ctx, (uint8 *) message, len) < 0 ||
		pg_hmac_final(ctx, digest, sizeof(digest)) < 0)
	{
		const char *error = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute the preview token signature: %s", error);
	}
	pg_hmac_free(ctx);
	memset(VARDATA_ANY(secret), 0, VARSIZE_ANY_EXHDR(secret));
	hex_encode((char *) digest, sizeof(digest), hex);
	hex[SIGNATURE_HEX] = '\0';
}

/* Hex HMAC-SHA256 of "<version>.<expires>" under the secret. */
static void
sign(int64 version, int64 expires, char *hex)
{
	char		message[64];
	int			len;

	len = snprintf(message, sizeof(message), INT64_FORMAT "." INT64_FORMAT,
				   version, expires);
	hmac_hex(message, len, hex);
}

/*
 * A fingerprint of the database's preview secret (16 hex digits and a
 * NUL, revealing nothing of it): a preview grant remembers it, so that
 * rotating the secret ends the previews opened with tokens signed before,
 * not only the tokens.
 */
void
staging_preview_secret_fingerprint(char *fingerprint)
{
	static const char message[] = "preview grant";
	char		hex[SIGNATURE_HEX + 1];

	hmac_hex(message, sizeof(message) - 1, hex);
	memcpy(fingerprint, hex, STAGING_SECRET_FINGERPRINT_HEX);
	fingerprint[STAGING_SECRET_FINGERPRINT_HEX] = '\0';
}

/* Parse a non-negative decimal number of a token; false if it is not one. */
static bool
parse_number(const char *start, const char *end, int64 *result)
{
	int64		value = 0;

	if (start == end || end - start > 19)
		return false;
	for (; start < end; start++)
	{
		if (*start < '0' || *start > '9')
			return false;
		if (value > (PG_INT64_MAX - (*start - '0')) / 10)
			return false;
		value = value * 10 + (*start - '0');
	}
	*result = value;
	return true;
}

/* The one error for every token that does not verify. */
static void
invalid_token(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("invalid preview token"),
			 errdetail("The token is malformed, was altered, or was signed with a secret that has been rotated since."),
			 errhint("Ask an editor for a new token from staging.sign_preview().")));
}

/*
 * Check a token: its signature (in constant time) and expiry.  Returns
 * its version and expiry; raises 42501 otherwise.
 */
static int64
verify_token(const char *token, TimestampTz *expires_at)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	int64		version;
	int64		expires;
	char		expected[SIGNATURE_HEX + 1];
	int			diff = 0;
	int			i;

	if (dot2 == NULL ||
		!parse_number(token, dot1, &version) || version < 1 ||
		!parse_number(dot1 + 1, dot2, &expires) ||
		strlen(dot2 + 1) != SIGNATURE_HEX)
		invalid_token();
	sign(version, expires, expected);
	for (i = 0; i < SIGNATURE_HEX; i++)
		diff |= expected[i] ^ dot2[1 + i];
	if (diff != 0)
		invalid_token();

	*expires_at = (TimestampTz) (expires -
								 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) * USECS_PER_SEC;
	if (GetCurrentTimestamp() > *expires_at)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("preview token for version %lld expired at %s",
						(long long) version, timestamptz_to_str(*expires_at)),
				 errhint("Ask an editor for a new token from staging.sign_preview().")));
	return version;
}

/*
 * SQL: staging.sign_preview(version, valid_for) -> text: a token that lets
 * a session read that version until now() + valid_for (rounded up to the
 * second).
 */
Datum
staging_sign_preview(PG_FUNCTION_ARGS)
{
	int64		version = PG_GETARG_INT64(0);
	Interval   *valid_for = PG_GETARG_INTERVAL_P(1);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires;
	int64		expires_version;
	double		span;
	char		hex[SIGNATURE_HEX + 1];

	if (version < 1 || version >= STAGING_MAX_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot sign a preview of version %lld", (long long) version),
				 errhint("Versions are UNIX epoch seconds, 1 or more and less than staging.max_version(); see staging.to_version().")));
	/* Beyond the range of timestamps (a year to spare): no finite expiry. */
	span = ((double) valid_for->month * DAYS_PER_MONTH + valid_for->day) * USECS_PER_DAY +
		valid_for->time;
	if (span >= (double) (END_TIMESTAMP - now) - (double) DAYS_PER_YEAR * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("preview tokens cannot be valid for %s: the expiry would be beyond the range of timestamps",
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(valid_for)))),
				 errhint("Pass valid_for => '1 hour', for example.")));
	if (span <= -(double) DAYS_PER_YEAR * USECS_PER_DAY)
		expires = now;			/* negative: refused below, without overflow */
	else
		expires = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														  TimestampTzGetDatum(now),
														  IntervalPGetDatum(valid_for)));
	if (expires <= now || TIMESTAMP_NOT_FINITE(expires))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("preview tokens must be valid for a finite positive interval, not %s",
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(valid_for)))),
				 errhint("Pass valid_for => '1 hour', for example.")));
	/* Tokens count whole seconds: round up, never expire before valid_for. */
	expires_version = staging_timestamp_to_version(expires - 1) + 1;
	sign(version, expires_version, hex);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf(INT64_FORMAT "." INT64_FORMAT ".%s",
											  version, expires_version, hex)));
}

/*
 * SQL: staging.preview(token [, is_local]) -> bigint: check the token, then
 * let this session read its version (SET staging.version, or SET LOCAL
 * with is_local).  Nothing changes when the token does not verify.
 */
Datum
staging_preview(PG_FUNCTION_ARGS)
{
	char	   *token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		local = PG_NARGS() > 1 && PG_GETARG_BOOL(1);
	TimestampTz expires;
	int64		version = verify_token(token, &expires);
	char		value[32];

	snprintf(value, sizeof(value), INT64_FORMAT, version);
	(void) set_config_option("staging.version", value,
							 superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION,
							 local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
							 true, 0, false);
	staging_grant_preview(version, expires, local);
	PG_RETURN_INT64(version);
}

/* SQL: staging._random_secret() -> bytea: a new secret. */
Datum
staging_random_secret(PG_FUNCTION_ARGS)
{
	bytea	   *secret = palloc(VARHDRSZ + SECRET_BYTES);

	SET_VARSIZE(secret, VARHDRSZ + SECRET_BYTES);
	if (!pg_strong_random(VARDATA(secret), SECRET_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random preview secret")));
	PG_RETURN_BYTEA_P(secret);
}
