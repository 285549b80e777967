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
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "datatype/timestamp.h"
#include "executor/execdesc.h"
#include "executor/spi.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "tcop/utility.h"
#include "utils/hsearch.h"

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

/*
 * run_as_owner.c: did this (sub)transaction just add this entity id to the
 * sequence table (a new entity, with no version rows anywhere else)?
 */
extern bool entity_id_claimed(Oid seq, int64 id, bool consume);

/*
 * run_as_owner.c: new entity ids claimed in blocks while an INSERT into a
 * versioned table runs, and what is left of them given back at its end
 */
extern void claims_statement_begin(Oid seq);
extern void claims_statement_end(Oid seq);
extern bool claims_take(Oid seq, int64 id);
extern void claims_subxact_event(SubXactEvent event, SubTransactionId subid,
								 SubTransactionId parent);
extern void claims_xact_end(XactEvent event);

/*
 * run_as_owner.c: a statement prepared once and kept for the session, and
 * the sweep of kept statements of tables dropped since
 */
extern SPIPlanPtr keep_plan(const char *sql, int nargs, Oid *argtypes);
/* run_as_owner.c: the schema-qualified, quoted name of a relation */
extern char *relation_qualified_name(Oid relid);
/* run_as_owner.c: a row of a user's table as jsonb, made as its owner */
extern Datum owner_row_jsonb(Oid relid, Datum row, Oid rowtype);
extern void forget_dropped_relations(HTAB *hash, uint64 *swept,
									 void (*forget) (void *entry));

/* progress.c: progress reports of long operations (NOTICEs, paced) */
extern void progress_init(void);
extern void progress_begin(const char *operation);
extern bool progress_report(const char *operation, const char *message);
extern void progress_end(const char *operation, const char *summary);

/* hooks.c: installs every hook and callback, routing to the modules */
extern void hooks_init(void);

/* extension.c: was the library preloaded, is the extension in this db? */
extern void extension_init(void);
extern bool staging_extension_present(void);
extern Oid	staging_schema_oid(void);
extern void extension_invalidate(Oid relid);
extern bool staging_loaded_at_preload(void);

/* table_am.c: the access method "staging" of versioned tables */
extern void table_am_set(Oid relid, bool versioned);
extern void table_am_before_utility(Node *parsetree);

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
	AttrNumber	entity_attno;	/* main table's entity column */
	AttrNumber	row_id_attno;
	Oid			row_id_type;	/* int8; an attribute table's may be int2/int4 */
	AttrNumber	created_in_attno;	/* main tables only */
	AttrNumber	updated_in_attno;	/* main tables only */
	Oid			sequence_relid; /* main tables only: its sequence table */
} VersionedRel;

extern const VersionedRel *registry_lookup(Oid relid);
extern void registry_invalidate(Oid relid);
extern uint64 registry_generation(void);
extern bool registry_any(void);
extern bool registry_sequence_of_insertable(Oid seq, Oid role, bool *registered);
extern bool registry_is_sequence_table(Oid seq);
extern Oid	registry_row_id_index(Relation rel, AttrNumber row_id_attno);

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

/*
 * The visibility of a version row: a row valid for [created_in,
 * updated_in) is visible at version v.  The one definition, used by the
 * version filter, writes and changelogs, and by SQL as
 * staging._visible_at().
 */
static inline bool
version_visible(int64 created_in, int64 updated_in, int64 version)
{
	return created_in <= version && updated_in > version;
}

/* Open end of every version interval: staging.max_version(). */
#define STAGING_MAX_VERSION PG_INT64_MAX

/*
 * live_version.c: the live version (staging.live_state), cached per
 * backend; the _for_write variant first locks out staging.advance().
 */
extern int64 staging_live_version(void);
extern int64 staging_live_version_for_write(Relation rel);
extern void live_version_invalidate(Oid relid);

/*
 * session_version.c: the setting staging.version and who may read what.
 * staging_session_version() is the version this session reads and writes
 * now ('live' resolved; STAGING_VERSION_ALL for 'all'), after checking
 * that the role that set it may read it (42501 otherwise);
 * staging_setting_version() the same without the check.
 */
#define STAGING_VERSION_ALL (-1)
extern void session_version_init(void);
extern int64 staging_session_version(void);
extern int64 staging_setting_version(void);
extern bool staging_setting_is_live(void);
extern void staging_check_read_privilege(int64 version, Oid role);
extern Oid	staging_version_setter(void);
extern void staging_set_version_for_role(const char *value);
extern int64 staging_previewed_version(void);
extern bool staging_version_previewed_only(int64 version, Oid role);
extern bool staging_may_read_every_version(Oid role);
extern bool staging_owner_reads_freely(Oid relid);
extern int64 staging_timestamp_to_version(TimestampTz ts);
extern void staging_grant_preview(int64 version, TimestampTz expires,
								  bool local);

/* preview.c: a fingerprint of the preview secret, in so many hex digits */
#define STAGING_SECRET_FINGERPRINT_HEX 16
extern void staging_preview_secret_fingerprint(char *fingerprint);

/* version_filter.c: the filter functions; hands versions to workers */
extern void version_filter_init(void);
extern void version_filter_executor_start(QueryDesc *queryDesc, int eflags);
extern void version_filter_executor_started(QueryDesc *queryDesc, int eflags);
extern const char *version_filter_internal_statement(const char *source);

/* planner.c: attaches the version filter to scans */
extern void planner_filter_base_rel(PlannerInfo *root, Oid relid,
									RelOptInfo *rel);
extern void planner_filter_member_rel(PlannerInfo *root, RelOptInfo *rel,
									  RangeTblEntry *rte);
extern bool planner_filter_on_conflict(Query *parse);
extern void planner_invalidate(Oid relid);
extern void planner_invalidate_functions(void);
extern uint64 planner_filter_count(void);
extern void planner_order_filters_first(PlannedStmt *stmt);

/* utility_guard.c: refuses DDL and COPY that would break versioning */
extern void utility_guard_check(PlannedStmt *pstmt);

/* restore.c: a restore by the database owner */
extern PlannedStmt *restore_rewrite_utility(PlannedStmt *pstmt);
extern Oid	restore_copy_begin(Node *parsetree, ProcessUtilityContext context);
extern void restore_copy_end(Oid saved);
extern const char *restore_privilege_hint(Node *parsetree);
extern void restore_rethrow_with_hint(const char *hint);

/* writes.c: versioned write triggers */
extern void writes_xact_end(XactEvent event);
extern void writes_invalidate(Oid relid);
extern void writes_invalidate_functions(void);
extern void writes_subxact_event(SubXactEvent event, SubTransactionId subid);
extern bool writes_internal(void);
extern List *writes_on_conflict_begin(PlannedStmt *pstmt, bool *changed);
extern void writes_on_conflict_end(List *saved);
extern bool writes_rebuilding_future(void);
extern List *writes_hidden_rows(List *relids);
extern void writes_rethrow_hiding_rows(List *names, bool named_only);

/* hide_next_version.c: updated_in beyond what the reader may know */
extern bool reveals_next_version(Oid relid);
extern PlannerGlobal *inline_sql_functions(Query *parse, ParamListInfo boundParams);
extern bool hide_next_versions(Query *parse, bool used_once);

/* changelog.c: changelog triggers */
extern void changelog_invalidate(Oid relid);
extern void changelog_xact_end(XactEvent event);
extern void changelog_subxact_event(SubXactEvent event, SubTransactionId subid,
									SubTransactionId parent);

/* scheduler.c: the background worker that makes due updates live */
extern void scheduler_init(void);

#endif							/* STAGING_H */
