/*-------------------------------------------------------------------------
 *
 * staging.h
 *	  Declarations shared by the modules of the staging extension.
 *
 * Each module (one .c file per concern) exposes an init function that
 * _PG_init calls, and the few functions other modules need.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STAGING_H
#define STAGING_H

#include "postgres.h"

#include "compat.h"

#include "access/attnum.h"
#include "catalog/pg_type_d.h"
#include "utils/hsearch.h"
#include "datatype/timestamp.h"

/* Name of the extension, its schema and its GUC prefix. */
#define STAGING_NAME "staging"

/*
 * A backend-local hash table keyed by a fixed-size binary key (an OID, an
 * id, a small struct), in the given memory context.
 */
static inline HTAB *
blob_hash_create(const char *name, long nelem, Size keysize, Size entrysize,
				 MemoryContext context)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = context;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* extension.c: was the library preloaded, is the extension in this db? */
extern void extension_init(void);
extern bool staging_extension_present(void);
extern Oid	staging_schema_oid(void);

/* registry.c: which relations are versioned, cached per backend */
typedef enum VersionedKind
{
	VERSIONED_MAIN,				/* table with row_id, created_in, updated_in */
	VERSIONED_ATTRIBUTE			/* EAV/attribute table linked by row_id */
} VersionedKind;

typedef struct VersionedRel
{
	Oid			relid;			/* hash key */
	VersionedKind kind;
	Oid			main_relid;		/* the main table (itself for a main table) */
	Oid			sequence_relid; /* main table's sequence table */
	AttrNumber	entity_attno;	/* main table's entity column */
	AttrNumber	row_id_attno;
	Oid			row_id_type;	/* int8; an attribute table's may be int2/int4 */
	AttrNumber	created_in_attno;	/* main tables only */
	AttrNumber	updated_in_attno;	/* main tables only */
} VersionedRel;

extern void registry_init(void);

/*
 * An integer Datum of type int2, int4 or int8 as int64: entity ids keep
 * their table's type, and an attribute table's row_id its link column's.
 */
static inline int64
integer_datum(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		default:
			return DatumGetInt64(value);
	}
}

extern const VersionedRel *registry_lookup(Oid relid);
extern bool registry_is_empty(void);

/* planner.c: the planner hooks that add the version filter */
extern void planner_init(void);

/*
 * version.c: the session version (GUC staging.version).  The version this
 * session reads and writes at, resolved at the time of the call ('live'
 * follows staging.live_version()); STAGING_VERSION_ALL for 'all'.  It
 * raises 42501 when the current user may not read that version (future
 * or 'all' without the preview privilege).  staging_live_version() is
 * cached per backend and refreshed after any change of staging.live_state
 * (a trigger there sends the relcache invalidation; writers need not).
 */
#define STAGING_VERSION_ALL (-1)
extern void version_init(void);
extern int64 staging_session_version(void);
extern int64 staging_live_version(void);
/* ... without the privilege check: planner estimates, and triggers of writes whose right was checked */
extern int64 staging_estimate_version(void);
extern int64 staging_timestamp_to_version(TimestampTz ts);
/* preview.c: signed preview tokens; version.c remembers the grant */
extern void staging_grant_preview(int64 version, TimestampTz expires,
								  bool local);

/* versioning.c: DDL helpers and guards of versioned tables (issue 3) */
extern void versioning_init(void);

/* writes.c, updates.c, scheduler.c: versioned writes, campaigns (issue 4) */
extern void scheduler_init(void);
extern void writes_init(void);

/* changelog.c: changelog triggers and consumers (issue 5) */
extern void changelog_init(void);

/* swap.c: clone, compare and swap of schemas (issue 6) */

#endif							/* STAGING_H */
