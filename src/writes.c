/*-------------------------------------------------------------------------
 *
 * writes.c
 *	  Versioned writes: INSERT, UPDATE and DELETE of versioned tables
 *	  follow the session version.
 *
 * Row triggers (installed by staging._enable_versioned_writes, which
 * enable_versioning and add_attribute_table call) turn a write at version
 * v into the version rows the write model means (README, "Writing at a
 * version"): every write sets fields of an entity (main columns, its
 * existence, attribute rows by key) at a version, and the value of a
 * field at version w is that of the last write at or before w, leaving
 * out the writes of temporary updates that ended by w.
 *
 *	- The cheap paths, in C: a live write of an entity that has no future
 *	  (no record in staging.field_writes) is made in place.  A row
 *	  [c, u) with c = v costs one trigger call; with c < v the BEFORE
 *	  trigger makes it [v, u), keeping its row_id, and the AFTER trigger
 *	  inserts the history copy [c, v) with the old values and copies of
 *	  its attribute rows, so versions before v read the same forever.  A
 *	  write to an attribute table first splits the main row the same way.
 *	- Any other write (at an update's version, or a live edit of an
 *	  entity that has a future) is recorded per field (staging._write_main,
 *	  staging._write_attribute), and at the end of the statement the
 *	  entity's rows from the live version on are laid out from the record
 *	  (staging._rebuild, sql/install/63_write_model.sql).  The written row
 *	  carries the new values until then: RETURNING and the row count are
 *	  what the user wrote.
 *
 * Writes are allowed at the live version and at the start of an update
 * that has not gone live; before the live version is history (25006);
 * anything else is 55000, refused for the whole statement by the BEFORE
 * STATEMENT trigger.  With staging.version = 'all' the triggers step aside
 * (rows are written as given: maintenance and restores), and so they do
 * for a write that sets the version columns itself (version rows laid out
 * by hand), which only the table's owner and roles that may read every
 * version may do (check_by_hand).
 *
 * The work the triggers do on other rows runs as the table owner, with
 * the version filter off (like foreign key checks), through SPI plans
 * prepared once per table and session.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "access/parallel.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(staging_main_write_before);
PG_FUNCTION_INFO_V1(staging_main_write_after);
PG_FUNCTION_INFO_V1(staging_attribute_write_before);
PG_FUNCTION_INFO_V1(staging_attribute_write_after);
PG_FUNCTION_INFO_V1(staging_write_statement_before);
PG_FUNCTION_INFO_V1(staging_write_statement_after);

#define MAX_VERSION STAGING_MAX_VERSION

/*
 * Prepared statements for one main table and its attribute tables, built
 * on first use and again once the registrations changed (any change of a
 * registered table, its columns included, makes a new registry
 * generation).  Everything but the SPI plans lives in cxt.
 */
typedef struct WritePlans
{
	Oid			relid;			/* hash key: the main table */
	uint64		generation;		/* registry_generation() when built */
	MemoryContext cxt;
	int			ncols;			/* columns a copy carries over */
	AttrNumber *cols;			/* their attribute numbers */
	SPIPlanPtr	insert_copy;	/* INSERT values, created_in, updated_in */
	SPIPlanPtr	copy_row;		/* INSERT ... SELECT from a row_id */
	SPIPlanPtr	set_bounds;		/* UPDATE created_in, updated_in */
	Oid			row_id_index;	/* a btree on row_id, found on first use */
	SPIPlanPtr	next_version;	/* first version of an entity after v */
	int			nattr;
	SPIPlanPtr *copy_attr;		/* per attribute table: copy its rows */
} WritePlans;

static HTAB *plans_hash = NULL;
static uint64 plans_swept = 0;	/* see forget_dropped_relations() */

/* Nesting depth of our own writes: the triggers step aside for them. */
static int	internal_depth = 0;

/*
 * internal_depth after an error: an error inside our own writes leaves
 * the depth raised, and the triggers must not stay aside afterwards.  A
 * subtransaction started inside our writes (a user trigger's exception
 * block) gets the depth back at its abort; anything else gets 0.
 */
typedef struct DepthMark
{
	SubTransactionId subid;
	int			depth;
} DepthMark;

static List *depth_marks = NIL;

/* Entities to lay out at the end of the statement (TopTransactionContext). */
static List *pending_rebuilds = NIL;

typedef struct RowKey
{
	Oid			relid;			/* the main table */
	int64		row_id;
} RowKey;

typedef struct RowEntry
{
	RowKey		key;
	int64		entity;
	char		status;			/* simplehash's */
} RowEntry;

#define ROW_SET_MAX 131072

#define SH_PREFIX row_set
#define SH_ELEMENT_TYPE RowEntry
#define SH_KEY_TYPE RowKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) \
	hash_combine(murmurhash32((uint32) ((uint64) (k).row_id >> 32) ^ (k).relid), \
				 murmurhash32((uint32) (k).row_id))
#define SH_EQUAL(tb, a, b) ((a).row_id == (b).row_id && (a).relid == (b).relid)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A set of main rows of this transaction, keyed by main table and row_id:
 * the locked rows and the deleted rows below.  Made on first use in its
 * own context under TopTransactionContext (gone with the transaction), at
 * most ROW_SET_MAX entries (a table of 8 MB); rows beyond are not kept.
 */
typedef struct RowSet
{
	row_set_hash *hash;
	MemoryContext cxt;
} RowSet;

/* Forget every row of a set. */
static void
row_set_forget(RowSet *set)
{
	if (set->cxt != NULL)
		MemoryContextDelete(set->cxt);
	set->cxt = NULL;
	set->hash = NULL;
}

/* The transaction ended: its memory, the sets' with it, is gone. */
static void
row_set_xact_end(RowSet *set)
{
	set->cxt = NULL;
	set->hash = NULL;
}

/* Does a set hold no row? */
static bool
row_set_is_empty(RowSet *set)
{
	return set->hash == NULL || set->hash->members == 0;
}

/* A row's entry in a set, or NULL. */
static RowEntry *
row_set_find(RowSet *set, Oid relid, int64 row_id)
{
	RowKey		key;

	if (set->hash == NULL)
		return NULL;
	key.relid = relid;
	key.row_id = row_id;
	return row_set_lookup(set->hash, key);
}

/* Add a row to a set: its entry, or NULL when the set is full. */
static RowEntry *
row_set_add(RowSet *set, Oid relid, int64 row_id)
{
	RowKey		key;
	bool		found;

	if (set->hash == NULL)
	{
		set->cxt = AllocSetContextCreate(TopTransactionContext, "staging main rows",
										 ALLOCSET_DEFAULT_SIZES);
		set->hash = row_set_create(set->cxt, 256, NULL);
	}
	if (set->hash->members >= ROW_SET_MAX)
		return NULL;
	key.relid = relid;
	key.row_id = row_id;
	return row_set_insert(set->hash, key, &found);
}

/* Take a row out of a set. */
static void
row_set_remove(RowSet *set, Oid relid, int64 row_id)
{
	RowKey		key;

	if (set->hash == NULL)
		return;
	key.relid = relid;
	key.row_id = row_id;
	(void) row_set_delete(set->hash, key);
}

/*
 * Main rows that attribute writes of the current statement locked and
 * found created at the live version (written in place, the cheap path),
 * keyed by main table and row_id, with the row's entity.  A later
 * attribute row of the statement for the same main row (an INSERT ...
 * SELECT writes several per product) skips the lookup and the lock: the
 * lock is this transaction's until it ends, so no other transaction has
 * changed the row since, and the cache is cleared whenever this one may
 * have: at any write of a main row (staging_main_write_before, which our
 * own statements fire too), at the start of every write statement, at the
 * abort of a subtransaction (its locks are gone) and at the end of the
 * transaction.  An entry also says that the entity had no write record
 * (no future) when its row was locked: another transaction's first
 * write to the entity must change that locked row, so it waits for us;
 * this backend's own records clear the cache (record_main_write,
 * record_attribute_write).  Rows beyond the set's size are looked up
 * every time.
 */
static RowSet locked_rows = {NULL, NULL};
static int64 locked_rows_live;	/* the live version they were found at */

/* Forget the locked main rows (see locked_rows). */
static void
forget_locked_rows(void)
{
	row_set_forget(&locked_rows);
}

/*
 * The entity of a main row in locked_rows, found at the live version live
 * without a write record.
 */
static bool
locked_row_entity(Oid relid, int64 row_id, int64 live, int64 *entity)
{
	RowEntry   *r;

	if (locked_rows_live != live || (r = row_set_find(&locked_rows, relid, row_id)) == NULL)
		return false;
	*entity = r->entity;
	return true;
}

/*
 * Remember a main row locked and found created at the live version live,
 * its entity without a write record.
 */
static void
remember_locked_row(Oid relid, int64 row_id, int64 live, int64 entity)
{
	RowEntry   *r;

	if (locked_rows_live != live)
		forget_locked_rows();
	locked_rows_live = live;
	r = row_set_add(&locked_rows, relid, row_id);
	if (r != NULL)
		r->entity = entity;
}

/*
 * Main rows whose delete this transaction made (the AFTER DELETE trigger
 * saw them go).  The foreign key's cascade then deletes their attribute
 * rows, and the attribute trigger, which would look the main row up only
 * to find it gone, lets those deletes through at once.  Row ids are never
 * handed out again, so an entry stays true until the subtransaction that
 * deleted the row aborts (then the set is forgotten) or the row_id is
 * inserted again by hand (then the entry is dropped); any relcache
 * invalidation forgets the set too (writes_invalidate).  Rows beyond the
 * set's size are looked up.
 */
static RowSet deleted_rows = {NULL, NULL};

/* Did this transaction delete the main row row_id (see deleted_rows)? */
static bool
main_row_deleted(Oid relid, int64 row_id)
{
	return row_set_find(&deleted_rows, relid, row_id) != NULL;
}

/* A main row was deleted (true) or a row with its row_id inserted (false). */
static void
note_deleted_row(Oid relid, int64 row_id, bool deleted)
{
	if (deleted)
		(void) row_set_add(&deleted_rows, relid, row_id);
	else
		row_set_remove(&deleted_rows, relid, row_id);
}

/* staging.field_writes and its index on (main_table, entity_id), once found */
static Oid	field_writes_relid = InvalidOid;
static Oid	field_writes_index = InvalidOid;

/*
 * Laying out rows after a write at a future version: the live row the
 * statement wrote gets its values back, which changes nothing the live
 * version shows (the changelog triggers ask, see writes_rebuilding_future).
 */
static bool rebuilding_future = false;

static void forget_pending_rebuilds(SubTransactionId subid);

/* A subtransaction starts, commits or aborts (routed by hooks.c). */
void
writes_subxact_event(SubXactEvent event, SubTransactionId mySubid)
{
	DepthMark  *mark = depth_marks != NIL ? linitial(depth_marks) : NULL;

	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			if (internal_depth > 0)
			{
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				mark = palloc(sizeof(DepthMark));
				mark->subid = mySubid;
				mark->depth = internal_depth;
				depth_marks = lcons(mark, depth_marks);
				MemoryContextSwitchTo(old);
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
		case SUBXACT_EVENT_ABORT_SUB:
			if (mark != NULL && mark->subid == mySubid)
			{
				if (event == SUBXACT_EVENT_ABORT_SUB)
					internal_depth = mark->depth;
				depth_marks = list_delete_first(depth_marks);
				pfree(mark);
			}
			else if (event == SUBXACT_EVENT_ABORT_SUB)
			{
				internal_depth = 0;
				/* a layout that failed is over */
				rebuilding_future = false;
			}
			if (event == SUBXACT_EVENT_ABORT_SUB)
			{
				forget_locked_rows();	/* the row locks it took are gone */
				row_set_forget(&deleted_rows);	/* and its deletes */
				forget_pending_rebuilds(mySubid);	/* and what they left to lay out */
			}
			break;
		default:
			break;
	}
}

/* A transaction ends (routed by hooks.c). */
void
writes_xact_end(XactEvent event)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		internal_depth = 0;
		list_free_deep(depth_marks);
		depth_marks = NIL;
		pending_rebuilds = NIL; /* in TopTransactionContext */
		rebuilding_future = false;
		row_set_xact_end(&locked_rows);
		row_set_xact_end(&deleted_rows);
	}
}

/*
 * Relcache invalidation (routed by hooks.c): forget staging.field_writes
 * when it or its index changed, or everything was invalidated, and the
 * deleted main rows.
 */
void
writes_invalidate(Oid relid)
{
	/*
	 * A table versioned anew (disable_versioning, then enable_versioning)
	 * numbers its row_ids from the start again: the deleted rows noted
	 * before may name new rows (see deleted_rows).  Forgetting them only
	 * costs the lookups they saved.
	 */
	if (!row_set_is_empty(&deleted_rows))
		row_set_forget(&deleted_rows);
	if (relid == InvalidOid || relid == field_writes_relid || relid == field_writes_index)
	{
		field_writes_relid = InvalidOid;
		field_writes_index = InvalidOid;
	}
}

/*
 * The session version, for a write to rel: staging_session_version(),
 * whose privilege check (42501 for a future version or 'all' without the
 * preview privilege) is left out for the owner of the table reading at a
 * version it chose, who may read every version of it anyway.  A future
 * version that only a token opened (staging.preview()) is read-only: the
 * token is a link handed to storefronts, not the right to change what an
 * update does (42501).
 */
static int64
write_version(Relation rel)
{
	int64		v = staging_setting_version();

	if ((v == STAGING_VERSION_ALL || v > staging_live_version()) &&
		!staging_owner_reads_freely(RelationGetRelid(rel)))
	{
		v = staging_session_version();
		if (staging_version_previewed_only(v, staging_version_setter()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to write table \"%s\" at version %lld: a preview is read-only",
							RelationGetRelationName(rel), (long long) v),
					 errdetail("staging.preview(token) lets a session read the version of its token, not change it."),
					 errhint("Write at that version as its table's owner or as a role that may execute staging.sign_preview(), or SET staging.version = 'live'.")));

		/*
		 * An update whose start has passed but that has not gone live yet
		 * (until advance() or the scheduler makes it live) is readable by
		 * everyone, but what it changes is still the editors' to decide.
		 */
		if (v != STAGING_VERSION_ALL && v > staging_live_version() &&
			!staging_may_read_every_version(staging_version_setter()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to write table \"%s\" at version %lld: it is after the live version",
							RelationGetRelationName(rel), (long long) v),
					 errdetail("Writes at an update that has not gone live, also one whose start has passed, change what the update does: only the table's owner, superusers and roles that may execute staging.sign_preview() may."),
					 errhint("SET staging.version = 'live' to edit the live version.")));
	}
	return v;
}

/* Free the prepared statements and memory of a main table's plans. */
static void
free_write_plans(WritePlans *p)
{
	SPIPlanPtr	all[] = {p->insert_copy, p->copy_row, p->set_bounds,
	p->next_version};
	int			i;

	for (i = 0; i < (int) lengthof(all); i++)
		if (all[i])
			SPI_freeplan(all[i]);
	for (i = 0; i < p->nattr; i++)
		if (p->copy_attr[i])
			SPI_freeplan(p->copy_attr[i]);
	if (p->cxt)
		MemoryContextDelete(p->cxt);
}

/*
 * The statements below run as the table's owner, but are parsed under the
 * caller's search_path: every operator and function in them is named with
 * its schema (as ri_triggers.c does), so that no operator or function of a
 * schema the caller put first runs with the owner's rights.
 */

/* Append "a = b" with the equality operator of type typid, schema-qualified. */
static void
append_equals(StringInfo buf, const char *a, const char *b, Oid typid)
{
	TypeCacheEntry *tc = lookup_type_cache(typid, TYPECACHE_EQ_OPR);
	HeapTuple	tuple = OidIsValid(tc->eq_opr) ?
		SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr)) : NULL;

	if (tuple != NULL && HeapTupleIsValid(tuple))
	{
		Form_pg_operator op = (Form_pg_operator) GETSTRUCT(tuple);

		appendStringInfo(buf, "%s OPERATOR(%s.%s) %s", a,
						 quote_identifier(get_namespace_name(op->oprnamespace)),
						 NameStr(op->oprname), b);
		ReleaseSysCache(tuple);
	}
	else
	{
		/* No equality for the type: compare the text forms. */
		appendStringInfo(buf, "%s::pg_catalog.text OPERATOR(pg_catalog.=) %s::pg_catalog.text",
						 a, b);
	}
}

/*
 * The columns of a table, quoted and comma-separated, that a copy of one
 * of its rows takes over (see staging._copied_columns), less row_id and
 * the version columns; their attribute numbers in *attnos.
 */
static char *
copied_columns(Oid relid, int *ncols, AttrNumber **attnos, MemoryContext cxt)
{
	StringInfoData buf;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	uint64		i;

	if (SPI_execute_with_args("SELECT attnum, attname FROM staging._copied_columns($1) "
							  "WHERE attname OPERATOR(pg_catalog.<>) ALL "
							  "('{row_id,created_in,updated_in}'::pg_catalog.name[]) "
							  "ORDER BY attnum",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "staging: could not read the columns of %u", relid);
	initStringInfo(&buf);
	*ncols = (int) SPI_processed;
	*attnos = MemoryContextAlloc(cxt, sizeof(AttrNumber) * Max(1, SPI_processed));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		(*attnos)[i] = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf,
							   quote_identifier(SPI_getvalue(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 2)));
	}
	return buf.data;
}

/* Build the prepared statements of a main table. */
static void
build_plans(WritePlans *p, Relation rel, const VersionedRel *vr)
{
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *tbl = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel));
	const char *entity = quote_identifier(NameStr(TupleDescAttr(desc, vr->entity_attno - 1)->attname));
	Oid			entity_type = TupleDescAttr(desc, vr->entity_attno - 1)->atttypid;
	char	   *cols;
	StringInfoData sql;
	Oid		   *types;
	int			i;
	int			n;
	Oid			int8s[3] = {INT8OID, INT8OID, INT8OID};
	Oid			ent_types[3];
	List	   *attrs = NIL;
	ListCell   *lc;

	cols = copied_columns(p->relid, &p->ncols, &p->cols, p->cxt);
	initStringInfo(&sql);

	/* INSERT INTO t (cols, created_in, updated_in) VALUES ($1 .. $n+2) */
	types = palloc(sizeof(Oid) * (p->ncols + 2));
	appendStringInfo(&sql, "INSERT INTO %s (%s, created_in, updated_in) VALUES (", tbl, cols);
	for (i = 0; i < p->ncols; i++)
	{
		types[i] = TupleDescAttr(desc, p->cols[i] - 1)->atttypid;
		appendStringInfo(&sql, "$%d, ", i + 1);
	}
	types[p->ncols] = INT8OID;
	types[p->ncols + 1] = INT8OID;
	appendStringInfo(&sql, "$%d, $%d) RETURNING row_id", p->ncols + 1, p->ncols + 2);
	p->insert_copy = keep_plan(sql.data, p->ncols + 2, types);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %1$s (%2$s, created_in, updated_in) "
					 "SELECT %2$s, $2, $3 FROM %1$s WHERE row_id OPERATOR(pg_catalog.=) $1 RETURNING row_id",
					 tbl, cols);
	p->copy_row = keep_plan(sql.data, 3, int8s);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s SET created_in = $2, updated_in = $3 "
					 "WHERE row_id OPERATOR(pg_catalog.=) $1", tbl);
	p->set_bounds = keep_plan(sql.data, 3, int8s);

	ent_types[0] = entity_type;
	ent_types[1] = INT8OID;
	ent_types[2] = INT8OID;
	resetStringInfo(&sql);
	appendStringInfo(&sql, "SELECT pg_catalog.min(created_in) FROM %s WHERE ", tbl);
	append_equals(&sql, entity, "$1", entity_type);
	appendStringInfoString(&sql, " AND created_in OPERATOR(pg_catalog.>) $2");
	p->next_version = keep_plan(sql.data, 2, ent_types);

	/* Attribute tables: copy the rows of one row_id to another. */
	if (SPI_execute_with_args("SELECT relid FROM staging.attribute_table "
							  "WHERE main_table OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY relid::pg_catalog.oid",
							  1, (Oid[]) {REGCLASSOID}, (Datum[]) {ObjectIdGetDatum(p->relid)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "staging: could not read the attribute tables of %s", tbl);
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;

		attrs = lappend_oid(attrs, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																  SPI_tuptable->tupdesc, 1, &isnull)));
	}
	p->nattr = list_length(attrs);
	p->copy_attr = MemoryContextAllocZero(p->cxt,
										  sizeof(SPIPlanPtr) * Max(1, p->nattr));
	n = 0;
	foreach(lc, attrs)
	{
		Oid			arelid = lfirst_oid(lc);
		int			nc;
		AttrNumber *ac;
		char	   *acols = copied_columns(arelid, &nc, &ac, CurrentMemoryContext);
		char	   *atbl = quote_qualified_identifier(get_namespace_name(get_rel_namespace(arelid)),
													  get_rel_name(arelid));

		resetStringInfo(&sql);
		appendStringInfo(&sql, "INSERT INTO %1$s (row_id%2$s%3$s) SELECT $2%2$s%3$s FROM %1$s "
						 "WHERE row_id OPERATOR(pg_catalog.=) $1",
						 atbl, nc > 0 ? ", " : "", acols);
		p->copy_attr[n++] = keep_plan(sql.data, 2, int8s);
	}
}

/* forget_dropped_relations() callback: a dropped table's statements. */
static void
forget_write_plans(void *entry)
{
	free_write_plans((WritePlans *) entry);
}

/*
 * The prepared statements of a main table, built on first use after any
 * invalidation.  The caller is connected to SPI.
 */
static WritePlans *
plans_for(Relation rel, const VersionedRel *vr)
{
	Oid			relid = RelationGetRelid(rel);
	WritePlans *p;
	bool		found;

	if (plans_hash == NULL)
	{
		plans_hash = blob_hash_create("staging write plans", 16, sizeof(Oid),
									  sizeof(WritePlans), TopMemoryContext);
	}
	forget_dropped_relations(plans_hash, &plans_swept, forget_write_plans);
	p = hash_search(plans_hash, &relid, HASH_ENTER, &found);
	if (found && p->generation != registry_generation())
	{
		free_write_plans(p);
		found = false;
	}
	if (!found)
	{
		memset(((char *) p) + sizeof(Oid), 0, sizeof(WritePlans) - sizeof(Oid));
		p->relid = relid;
		/* (an invalidation arriving while we build makes them stale at once) */
		p->generation = registry_generation();
		p->cxt = AllocSetContextCreate(TopMemoryContext, "staging write plans",
									   ALLOCSET_SMALL_SIZES);
		PG_TRY();
		{
			build_plans(p, rel, vr);
		}
		PG_CATCH();
		{
			free_write_plans(p);
			hash_search(plans_hash, &relid, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return p;
}

/*
 * Run our own statements: as the owner of the table, with the version
 * filter off (SECURITY_NOFORCE_RLS, as for foreign key checks), and with
 * our triggers stepping aside.
 */
typedef struct InternalState
{
	Oid			save_userid;
	int			save_sec_context;
} InternalState;

static void
internal_begin(Relation rel, InternalState *st)
{
	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   st->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "staging: SPI_connect failed");
	internal_depth++;
}

static void
internal_end(InternalState *st)
{
	internal_depth--;
	SPI_finish();
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}

/*
 * A write that lays out version rows by hand (gives its own created_in,
 * updated_in or row_id, or completes a version row that the session
 * version does not show) is written as given, at any version: only for
 * roles that may read every version of the table (its owner, superusers,
 * roles that may execute staging.sign_preview()).  42501 for the others.
 */
static void
check_by_hand(Relation rel, const char *what)
{
	Oid			user = GetUserId();

	if (object_ownercheck(RelationRelationId, RelationGetRelid(rel), user) ||
		staging_may_read_every_version(user))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s of table \"%s\"", what, RelationGetRelationName(rel)),
			 errdetail("Version rows are laid out by hand only by the table's owner and roles that may read every version."),
			 errhint("Write at the session version without setting created_in, updated_in or row_id; "
					 "for an attribute table, write the rows of version rows that the session version shows.")));
}

/* Are the write triggers running their own statements now? */
bool
writes_internal(void)
{
	return internal_depth > 0;
}

/*
 * Execute a prepared statement, expecting the given result.  Its execution
 * reads every row (see version_filter_executor_started); what runs inside
 * it (the owner's triggers) does not.
 */
static void
run(SPIPlanPtr plan, Datum *values, const char *nulls, int expected)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	const char *previous;
	int			ret = 0;

	previous = version_filter_internal_statement(sources != NIL ?
												 ((CachedPlanSource *) linitial(sources))->query_string :
												 NULL);
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		(void) version_filter_internal_statement(previous);
	}
	PG_END_TRY();
	if (ret != expected)
		elog(ERROR, "staging: internal statement failed: %s", SPI_result_code_string(ret));
}

/*
 * Get a non-null bigint column (row_id, created_in, updated_in) of a row of
 * versioned table rel; a NULL there is the writer's mistake, named.
 */
static int64
int8_column(Relation rel, HeapTuple tuple, AttrNumber attno)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		isnull;
	Datum		d = heap_getattr(tuple, attno, desc, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of versioned table %s must not be null",
						NameStr(TupleDescAttr(desc, attno - 1)->attname),
						relation_qualified_name(RelationGetRelid(rel))),
				 errhint("Leave row_id, created_in and updated_in out of the write: "
						 "their defaults and the session's version (staging.version) set them.")));
	return DatumGetInt64(d);
}

/*
 * The update row this transaction share-locked last (see
 * update_starting_at): its version, in which transaction and
 * subtransaction, so that each row of a statement does not lock it again.
 */
static int64 locked_update_version = 0;
static LocalTransactionId locked_update_lxid = InvalidLocalTransactionId;
static SubTransactionId locked_update_subid = InvalidSubTransactionId;

/*
 * Look up the update starting at a version: its end (0 when permanent);
 * false when no update starts there.  A write at that version share-locks
 * the update's row in staging.updates until the transaction ends, as a
 * foreign key's check locks the row it references: delete_update and
 * reschedule_update lock it first, so they wait for the writers of the
 * update and then see (and delete or move) every write they made, and a
 * writer waiting for them finds the update gone or moved (40001: retry,
 * which then writes where the update is now, or gets 55000).
 */
static bool
update_starting_at(int64 version, int64 *end)
{
	Oid			relid = get_relname_relid("updates", staging_schema_oid());
	Relation	rel;
	Oid			index;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;
	bool		lock;
	ItemPointerData tid;

	*end = 0;
	if (!OidIsValid(relid))
		return false;
	lock = !(locked_update_version == version &&
			 locked_update_lxid == MyLocalTransactionId &&
			 locked_update_subid == GetCurrentSubTransactionId());
	rel = table_open(relid, lock ? RowShareLock : AccessShareLock);
	index = compat_primary_key_index(rel);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(version));
	scan = systable_beginscan(rel, index, true, GetActiveSnapshot(), 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		AttrNumber	attno = get_attnum(relid, "rollback_id");
		Datum		d = heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull);

		found = true;
		tid = tuple->t_self;
		if (!isnull)
			*end = DatumGetInt64(d);
	}
	systable_endscan(scan);
	if (found && lock)
	{
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TM_FailureData tmfd;
		TM_Result	res;

		res = table_tuple_lock(rel, &tid, GetActiveSnapshot(), slot,
							   GetCurrentCommandId(false), LockTupleShare,
							   LockWaitBlock, 0, &tmfd);
		ExecDropSingleTupleTableSlot(slot);
		if (res == TM_Updated || res == TM_Deleted)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("the update starting at version " INT64_FORMAT " was rescheduled or deleted while the statement ran",
							version),
					 errhint("Retry the transaction.")));
		if (res != TM_Ok && res != TM_SelfModified)
			elog(ERROR, "staging: unexpected result %d locking update " INT64_FORMAT,
				 (int) res, version);
		locked_update_version = version;
		locked_update_lxid = MyLocalTransactionId;
		locked_update_subid = GetCurrentSubTransactionId();
	}
	/* (a lock taken is kept until the end of the transaction) */
	table_close(rel, lock ? NoLock : AccessShareLock);
	return found;
}

/*
 * May this session write at version v?  Returns the end of the update
 * the write belongs to when it is a temporary update that has not gone
 * live yet (its writes end there), else 0.
 */
static int64
check_write_version(Relation rel, int64 v, int64 live)
{
	int64		end;

	if (v < live)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write table \"%s\" at version " INT64_FORMAT ": it is history",
						RelationGetRelationName(rel), v),
				 errdetail("The live version is " INT64_FORMAT "; versions before it never change.", live),
				 errhint("SET staging.version = 'live', or to the start of a future update.")));
	if (v == live)
		return 0;
	if (!update_starting_at(v, &end))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot write table \"%s\" at version " INT64_FORMAT ": no update starts there",
						RelationGetRelationName(rel), v),
				 errhint("Writes go to the live version or to the start of an update (the id in staging.updates); create one with staging.create_update().")));
	return end;
}

/*
 * An INSERT into a main table claims new entity ids in blocks while it
 * runs (see claims_statement_begin()): its statement triggers say when it
 * starts and ends.
 */
static void
statement_claims(TriggerData *td)
{
	const VersionedRel *vr;

	if (!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		return;
	vr = registry_lookup(RelationGetRelid(td->tg_relation));
	if (vr == NULL || vr->kind != VERSIONED_MAIN || !OidIsValid(vr->sequence_relid))
		return;
	if (TRIGGER_FIRED_BEFORE(td->tg_event))
		claims_statement_begin(vr->sequence_relid);
	else
		claims_statement_end(vr->sequence_relid);
}

/*
 * BEFORE STATEMENT trigger of a versioned main table and its attribute
 * tables: a write statement at a history version (25006) or at a future
 * version where no update starts (55000) is refused as a whole, also when
 * it matches no row.  An UPDATE that sets created_in, updated_in or row_id
 * lays out version rows by hand: left to the row trigger, which checks who
 * may.  The extension's own statements and 'all' pass.
 */
Datum
staging_write_statement_before(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr;
	Relation	rel;
	int64		v;
	int64		live;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event))
		elog(ERROR, "staging._write_statement_before() must be a BEFORE STATEMENT trigger");
	statement_claims(td);
	forget_locked_rows();		/* a new statement: see locked_rows */
	if (internal_depth > 0)
		return PointerGetDatum(NULL);
	v = staging_setting_version();
	if (v == STAGING_VERSION_ALL || v == staging_live_version())
		return PointerGetDatum(NULL);
	rel = td->tg_relation;
	vr = registry_lookup(RelationGetRelid(rel));
	if (vr == NULL)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && td->tg_updatedcols != NULL)
	{
		AttrNumber	own[3];
		int			n = 0;

		own[n++] = vr->row_id_attno;
		if (vr->kind == VERSIONED_MAIN)
		{
			own[n++] = vr->created_in_attno;
			own[n++] = vr->updated_in_attno;
		}
		for (int i = 0; i < n; i++)
			if (own[i] > 0 &&
				bms_is_member(own[i] - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols))
				return PointerGetDatum(NULL);
	}
	live = staging_live_version_for_write(rel);
	v = write_version(rel);
	if (v == STAGING_VERSION_ALL)
		return PointerGetDatum(NULL);
	(void) check_write_version(rel, v, live);
	return PointerGetDatum(NULL);
}

/*
 * Checks before a row [c, u) is written at version v: with filtered (the
 * row was picked by the version filter), a row that ended at the live
 * version means advance() moved it while the statement ran (40001); a
 * row not visible at v is not the session version's to write
 * (an attribute row of another version row, say).
 */
static void
check_row_written(Relation rel, int64 c, int64 u, int64 v, int64 live, bool filtered)
{
	if (filtered && u <= v && v == live)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not write table \"%s\": the live version moved to " INT64_FORMAT " while the statement ran",
						RelationGetRelationName(rel), live),
				 errhint("Retry the transaction.")));
	if (!version_visible(c, u, v))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a row of table \"%s\" written at version " INT64_FORMAT " is not visible at that version",
						RelationGetRelationName(rel), v),
				 errhint("Write rows as the session version shows them; for an attribute table, restrict the write to the row_id of rows visible at that version (join the main table).")));
}

/*
 * Does the table have its enabled statement trigger of that name and
 * timing?  The row triggers only record a write; the statement triggers
 * check its version first and lay its rows out at the end.
 */
static bool
has_statement_trigger(Relation rel, const char *tgname, bool before)
{
	TriggerDesc *trigdesc = rel->trigdesc;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (TRIGGER_FOR_ROW(trigger->tgtype) ||
			(TRIGGER_FOR_BEFORE(trigger->tgtype) != 0) != before ||
			trigger->tgenabled == TRIGGER_DISABLED ||
			strcmp(trigger->tgname, tgname) != 0)
			continue;
		return true;
	}
	return false;
}

/*
 * Does this database have the statement triggers' functions (1 or 0, -1
 * not looked up yet)?  A database whose extension is still at 1.0, under
 * a newer library, has neither them nor the triggers.
 */
static int	statement_triggers_expected = -1;

/* pg_proc changed (routed by hooks.c): look the function up again. */
void
writes_invalidate_functions(void)
{
	statement_triggers_expected = -1;
}

/*
 * Refuse the write of a versioned main or attribute table that lacks a
 * statement trigger of versioned writes (dropped or disabled by hand, or a
 * table restored from a dump of extension version 1.0 into 1.1): without
 * them a write would go unchecked, or stay where the row trigger put it
 * and not reach the versions after it.
 */
static void
check_statement_triggers(Relation rel, const VersionedRel *vr)
{
	const char *missing = NULL;

	if (statement_triggers_expected < 0)
	{
		Oid			none[1] = {InvalidOid};

		/* (0 while the database still runs the 1.0 SQL objects) */
		statement_triggers_expected =
			OidIsValid(GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
									   CStringGetDatum("_write_statement_after"),
									   PointerGetDatum(buildoidvector(none, 0)),
									   ObjectIdGetDatum(staging_schema_oid())));
	}
	if (!statement_triggers_expected)
		return;
	if (!has_statement_trigger(rel, "staging_write_statement", true))
		missing = "staging_write_statement";
	else if (!has_statement_trigger(rel, "staging_write_rebuild", false))
		missing = "staging_write_rebuild";
	if (missing == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s table %s lacks its trigger \"%s\" of versioned writes",
					vr->kind == VERSIONED_MAIN ? "versioned" : "attribute",
					relation_qualified_name(RelationGetRelid(rel)), missing),
			 errdetail("Without it a write would not be placed at the session version and laid out into later versions."),
			 errhint("The owner of the main table installs the triggers again with SELECT staging._enable_versioned_writes(%s); restore a dump of extension version 1.0 into 1.0 and run ALTER EXTENSION staging UPDATE.",
					 quote_literal_cstr(relation_qualified_name(vr->main_relid)))));
}

/*
 * Check that a trigger is the row trigger of a versioned table of that
 * kind, whose statement triggers are in place.
 */
static const VersionedRel *
trigger_target(FunctionCallInfo fcinfo, VersionedKind kind, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "%s must be a row trigger", name);
	vr = registry_lookup(RelationGetRelid(td->tg_relation));
	if (vr == NULL || vr->kind != kind)
		return NULL;
	check_statement_triggers(td->tg_relation, vr);
	return vr;
}

/* What a row trigger returns to let the write proceed unchanged. */
static Datum
proceed(TriggerData *td)
{
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(td->tg_newtuple);
	return PointerGetDatum(td->tg_trigtuple);
}

/*
 * The write model (sql/install/63_write_model.sql): a write to an entity
 * that has a future (a record in staging.field_writes), or any write at
 * an update's version, is recorded per field by staging._write_main or
 * staging._write_attribute, and the entity's rows from the live version
 * on are laid out again by staging._rebuild at the end of the statement
 * (the statement trigger staging_write_rebuild).  The row the statement
 * itself writes only carries the new values until then, which keeps
 * RETURNING and the row count what the user sees, and keeps the live row
 * (and its row_id) where a waiting writer finds it.
 *
 * The record belongs to the extension: these calls run as its owner.
 */
typedef struct PendingRebuild
{
	Oid			relid;			/* the main table */
	int64		entity;
	int64		keep_row_id;	/* the live row a DELETE at a future version removed */
	int64		keep_created_in;
	SubTransactionId subid;		/* the subtransaction that wrote */
} PendingRebuild;

/*
 * A subtransaction aborts: its writes are gone, and so must be what they
 * left to lay out (ids are handed out in order, so the entries of the
 * subtransaction and of those it started have ids >= its own).
 */
static void
forget_pending_rebuilds(SubTransactionId subid)
{
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (pending_rebuilds == NIL)
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, pending_rebuilds)
	{
		PendingRebuild *r = lfirst(lc);

		if (r->subid < subid)
			keep = lappend(keep, r);
	}
	MemoryContextSwitchTo(old);
	pending_rebuilds = keep;
}

/* An entity to lay out, once per statement (staging_write_statement_after). */
typedef struct RebuildKey
{
	Oid			relid;
	int64		entity;
} RebuildKey;

typedef struct RebuildEntity
{
	RebuildKey	key;			/* hash key */
	PendingRebuild *keep;		/* the first write that removed the live row */
	char	   *hidden_from;	/* the table's name when the writer may not
								 * read every version of it, else NULL */
} RebuildEntity;

/* Are the rows of a write at a future version being laid out? */
bool
writes_rebuilding_future(void)
{
	return rebuilding_future;
}

/* Run the model's statements as the owner of the extension. */
static void
model_begin(InternalState *st)
{
	Oid			owner = InvalidOid;
	HeapTuple	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(staging_schema_oid()));

	if (HeapTupleIsValid(tuple))
	{
		owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
		ReleaseSysCache(tuple);
	}
	if (!OidIsValid(owner))
		elog(ERROR, "staging: the schema of the extension is missing");
	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(owner, st->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "staging: SPI_connect failed");
	internal_depth++;
}

/*
 * The write record must be there.  A library newer than the installed SQL
 * objects (between installing it and ALTER EXTENSION staging UPDATE from
 * 1.0) has none: live writes are made in place, others are refused.
 */
static void
require_model(Relation rel)
{
	if (!OidIsValid(get_relname_relid("field_writes", staging_schema_oid())))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot write table \"%s\" at a future version: the staging extension's SQL objects are older than its library",
						RelationGetRelationName(rel)),
				 errhint("Run ALTER EXTENSION staging UPDATE.")));
}

/*
 * Does the entity of a main table have a record (a future)?  Asked for
 * every live write, so read straight from the index, with the latest
 * snapshot: a live edit that waited for the first write of an update to
 * the entity must see the record that write committed.  The table and its
 * index stay locked until the end of the transaction (as a query's
 * relations do), so that later calls find the lock taken.
 */
static bool
entity_has_writes(Oid relid, int64 entity)
{
	Relation	writes;
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData key[2];
	TupleTableSlot *slot;
	bool		found;

	if (!OidIsValid(field_writes_relid))
	{
		Oid			nsp = staging_schema_oid();
		Oid			writes_oid = get_relname_relid("field_writes", nsp);
		Oid			index_oid = get_relname_relid("field_writes_entity", nsp);

		if (!OidIsValid(writes_oid) || !OidIsValid(index_oid))
			return false;
		field_writes_index = index_oid;
		field_writes_relid = writes_oid;
	}
	writes = table_open(field_writes_relid, AccessShareLock);
	index = index_open(field_writes_index, AccessShareLock);
	/* the index's columns: (main_table, entity_id) */
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(entity));
	slot = table_slot_create(writes, NULL);
	scan = compat_index_beginscan(writes, index, GetLatestSnapshot(), 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(writes, NoLock);
	return found;
}

/* Lay the entity out again at the end of the statement. */
static void
push_rebuild(Oid relid, int64 entity, int64 keep_row_id, int64 keep_created_in)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingRebuild *r = palloc(sizeof(PendingRebuild));

	r->relid = relid;
	r->entity = entity;
	r->keep_row_id = keep_row_id;
	r->keep_created_in = keep_created_in;
	r->subid = GetCurrentSubTransactionId();
	pending_rebuilds = lappend(pending_rebuilds, r);
	MemoryContextSwitchTo(old);
}

/* A row of a table as a composite datum, for to_jsonb(). */
static Datum
row_datum(HeapTuple tuple, TupleDesc desc)
{
	return heap_copy_tuple_as_datum(tuple, desc);
}

/*
 * The columns an UPDATE sets: those of its SET list, and those a BEFORE
 * trigger that ran before ours changed.
 */
static Datum
set_columns(TriggerData *td, TupleDesc desc)
{
	Datum	   *names = palloc(sizeof(Datum) * desc->natts);
	int			n = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull1;
		bool		isnull2;
		Datum		a;
		Datum		b;

		if (att->attisdropped)
			continue;
		a = heap_getattr(td->tg_trigtuple, i + 1, desc, &isnull1);
		b = heap_getattr(td->tg_newtuple, i + 1, desc, &isnull2);
		if ((td->tg_updatedcols != NULL &&
			 bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols)) ||
			isnull1 != isnull2 ||
			(!isnull1 && !datumIsEqual(a, b, att->attbyval, att->attlen)))
			names[n++] = CStringGetTextDatum(NameStr(att->attname));
	}
	return PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Record a write of a main table's row (staging._write_main); false when
 * it is a plain live write of an entity without a future.
 */
static bool
record_main_write(Relation rel, int64 entity, int64 v, const char *kind,
				  HeapTuple tuple, Datum set_cols)
{
	InternalState st;
	Oid			types[6] = {REGCLASSOID, INT8OID, INT8OID, TEXTOID, JSONBOID, TEXTARRAYOID};
	Datum		values[6] = {ObjectIdGetDatum(RelationGetRelid(rel)), Int64GetDatum(entity),
		Int64GetDatum(v), CStringGetTextDatum(kind), (Datum) 0, set_cols};
	bool		isnull;
	bool		recorded;

	require_model(rel);
	/* (as the table's owner: see owner_row_jsonb) */
	values[4] = owner_row_jsonb(RelationGetRelid(rel), row_datum(tuple, RelationGetDescr(rel)),
								rel->rd_rel->reltype);
	model_begin(&st);
	if (SPI_execute_with_args("SELECT staging._write_main($1, $2, $3, $4, $5, $6)",
							  6, types, values, set_cols == (Datum) 0 ? "     n" : NULL,
							  false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "staging: could not record a write of \"%s\"", RelationGetRelationName(rel));
	recorded = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	internal_end(&st);
	forget_locked_rows();		/* the entity may have a future now */
	return recorded;
}

/*
 * Record a write of an attribute row (staging._write_attribute); false
 * when it is a plain live write of an entity without a future.
 */
static bool
record_attribute_write(Relation rel, int64 entity, int64 v, const char *kind,
					   HeapTuple old, HeapTuple new)
{
	InternalState st;
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			types[6] = {REGCLASSOID, INT8OID, INT8OID, TEXTOID, JSONBOID, JSONBOID};
	Datum		values[6] = {ObjectIdGetDatum(RelationGetRelid(rel)), Int64GetDatum(entity),
		Int64GetDatum(v), CStringGetTextDatum(kind), (Datum) 0, (Datum) 0};
	char		nulls[7] = "      ";
	bool		isnull;
	bool		recorded;

	if (old == NULL)
		nulls[4] = 'n';
	if (new == NULL)
		nulls[5] = 'n';
	require_model(rel);
	/* (as the table's owner: see owner_row_jsonb) */
	if (old != NULL)
		values[4] = owner_row_jsonb(RelationGetRelid(rel), row_datum(old, desc),
									rel->rd_rel->reltype);
	if (new != NULL)
		values[5] = owner_row_jsonb(RelationGetRelid(rel), row_datum(new, desc),
									rel->rd_rel->reltype);
	model_begin(&st);
	if (SPI_execute_with_args("SELECT staging._write_attribute($1, $2, $3, $4, $5, $6)",
							  6, types, values, nulls, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "staging: could not record a write of \"%s\"", RelationGetRelationName(rel));
	recorded = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	internal_end(&st);
	forget_locked_rows();		/* the entity may have a future now */
	return recorded;
}

/*
 * The tables that the running statement inserts into with ON CONFLICT
 * (its own, or a data-modifying WITH's).  PostgreSQL fires BEFORE INSERT
 * row triggers before it looks for a conflicting row, so a write that the
 * trigger records would stay in the record when the row is then skipped
 * (DO NOTHING) or the existing row updated instead (DO UPDATE): such a
 * write is refused (see refuse_recorded_on_conflict).  Set by the
 * ExecutorRun hook for each plan, nested plans included.
 */
static List *on_conflict_relids = NIL;

/* The tables a plan inserts into with ON CONFLICT. */
static List *
plan_on_conflict_relids(PlannedStmt *pstmt)
{
	List	   *relids = NIL;
	List	   *plans;
	ListCell   *lc;

	if ((pstmt->commandType != CMD_INSERT && !pstmt->hasModifyingCTE) || IsParallelWorker())
		return NIL;
	plans = lcons(pstmt->planTree, list_copy(pstmt->subplans));
	foreach(lc, plans)
	{
		ModifyTable *mt = (ModifyTable *) lfirst(lc);

		if (mt != NULL && IsA(mt, ModifyTable) && mt->operation == CMD_INSERT &&
			mt->onConflictAction != ONCONFLICT_NONE)
			relids = lappend_oid(relids, rt_fetch(mt->nominalRelation, pstmt->rtable)->relid);
	}
	return relids;
}

/*
 * Before a plan runs: the tables it inserts into with ON CONFLICT become
 * the current ones.  Returns what to give writes_on_conflict_end() after
 * it ran (or failed); *changed is false when nothing changed (no need to).
 */
List *
writes_on_conflict_begin(PlannedStmt *pstmt, bool *changed)
{
	List	   *saved = on_conflict_relids;
	List	   *mine = plan_on_conflict_relids(pstmt);

	*changed = saved != NIL || mine != NIL;
	on_conflict_relids = mine;
	return saved;
}

/* After a plan ran (or failed): the outer plan's tables again. */
void
writes_on_conflict_end(List *saved)
{
	on_conflict_relids = saved;
}

/*
 * An UPDATE of the entity column that would be recorded (at an update's
 * version, or live into an entity with a future): refused.
 */
static void
refuse_entity_change(Relation rel, const VersionedRel *vr, int64 entity, int64 v, int64 live)
{
	const char *col = NameStr(TupleDescAttr(RelationGetDescr(rel), vr->entity_attno - 1)->attname);

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot change column \"%s\" of entity " INT64_FORMAT " of versioned table \"%s\" at this version",
					col, entity, RelationGetRelationName(rel)),
			 v != live ?
			 errdetail("At an update's version, an UPDATE changes what the update does to the entity; it cannot give it another id.") :
			 errdetail("An update changes entity " INT64_FORMAT ", so a live edit of it is also an edit of its future versions, which keep its id.", entity),
			 errhint("INSERT the entity with its new id and DELETE the old one.")));
}

/* A recorded INSERT into rel in an INSERT ... ON CONFLICT: refused. */
static void
refuse_recorded_on_conflict(Relation rel, int64 entity)
{
	if (!list_member_oid(on_conflict_relids, RelationGetRelid(rel)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("INSERT ... ON CONFLICT cannot write entity " INT64_FORMAT " of table \"%s\" at this version",
					entity, RelationGetRelationName(rel)),
			 errdetail("The write would be recorded for an update before PostgreSQL looks for a conflicting row, and stay recorded when the row is skipped or the existing one updated instead."),
			 errhint("UPDATE the rows that exist, then INSERT the others (INSERT ... WHERE NOT EXISTS).")));
}

/*
 * An error while an entity's rows were laid out for a writer who may not
 * read every version of the table (a clerk's live edit that flows into a
 * future version where a check constraint then fails): its message, detail
 * and context may show the values of that version (the failing row, the
 * statement that wrote it).  Raised again with its SQLSTATE, naming the
 * entity and nothing of that version; errors about the transaction or the
 * system (classes 40, 53, 55, 57, 58, XX), which show no values, keep
 * their message.  Called in PG_CATCH, in the caller's memory context:
 * reads no catalog.
 */
static void
raise_hidden_layout_error(const char *relname, int64 entity)
{
	ErrorData  *edata = CopyErrorData();

	FlushErrorState();
	switch (ERRCODE_TO_CATEGORY(edata->sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			ereport(ERROR,
					(errcode(edata->sqlerrcode),
					 errmsg_internal("%s", edata->message)));
			break;
		default:
			break;
	}
	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 errmsg("cannot write entity " INT64_FORMAT " of table \"%s\": a version of it that you may not read fails",
					entity, relname),
			 errdetail("The error is not shown: it would show values of that version."),
			 errhint("A role that may read every version of the table (its owner, or one that may execute staging.sign_preview) can make this write and see why it fails.")));
}

/*
 * Messages below ERROR raised while an entity's rows are laid out for a
 * writer who may not read every version (a NOTICE of the owner's trigger
 * on a future version row, say) would show that version's values, as its
 * errors would (see raise_hidden_layout_error): they are kept from the
 * client (the server log still gets them) until the caller pops the GUC
 * nest level returned.
 */
static int
hide_layout_messages(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("client_min_messages", "error",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * The check, not-null and view check option errors of a write show the
 * failing row ("Failing row contains ..."), updated_in included: as the
 * BEFORE trigger placed the row, the start of its entity's next version
 * (a live edit of an entity that an update changes, an INSERT of an entity
 * that exists only in the future).  An exclusion violation shows the
 * conflicting row's key: for the version constraint, the versions a
 * hidden row of the entity spans (moving a live row to the entity id of
 * one that exists only in the future).  For a writer who may not read
 * every version of the table, the detail of these errors is left out, as
 * PostgreSQL leaves it out for tables with row-level security.
 *
 * The versioned main tables, among those a statement writes, whose
 * failing rows the writer may not see: their names, NIL when none.
 */
List *
writes_hidden_rows(List *relids)
{
	List	   *names = NIL;
	ListCell   *lc;

	if (relids == NIL || !staging_extension_present() || !registry_any())
		return NIL;
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		const VersionedRel *vr = registry_lookup(relid);

		if (vr != NULL && vr->kind == VERSIONED_MAIN && !reveals_next_version(relid))
			names = lappend(names, get_rel_name(relid));
	}
	return names;
}

/* Is the name one of the list's? */
static bool
names_include(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

/*
 * In PG_CATCH, in the caller's memory context, of a write to the tables
 * writes_hidden_rows() named: throw the error again, without the failing
 * row of those tables (see above); with named_only, only errors that name
 * their table.  Reads no catalog.
 */
void
writes_rethrow_hiding_rows(List *names, bool named_only)
{
	ErrorData  *edata = CopyErrorData();

	if (edata->detail != NULL &&
		(edata->sqlerrcode == ERRCODE_CHECK_VIOLATION ||
		 edata->sqlerrcode == ERRCODE_NOT_NULL_VIOLATION ||
		 edata->sqlerrcode == ERRCODE_WITH_CHECK_OPTION_VIOLATION ||
		 edata->sqlerrcode == ERRCODE_EXCLUSION_VIOLATION) &&
		(edata->table_name == NULL ? !named_only : names_include(names, edata->table_name)))
	{
		FlushErrorState();
		edata->detail = NULL;
		ReThrowError(edata);
	}
	FreeErrorData(edata);
	PG_RE_THROW();
}

/*
 * AFTER STATEMENT trigger of a versioned main table and its attribute
 * tables: lay out the entities the statement wrote (staging._rebuild).
 * Entities pushed by statements that failed are laid out again too,
 * which changes nothing: the layout follows from the record.
 */
Datum
staging_write_statement_after(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	List	   *todo;
	List	   *entities = NIL;
	HTAB	   *seen;
	ListCell   *lc;
	InternalState st;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		elog(ERROR, "staging._write_statement_after() must be an AFTER STATEMENT trigger");
	statement_claims(td);
	if (internal_depth > 0 || pending_rebuilds == NIL)
		return PointerGetDatum(NULL);
	todo = pending_rebuilds;
	pending_rebuilds = NIL;

	/*
	 * Once per entity, in the order first written, with the first live row
	 * a write removed (to keep): a hash, as a bulk write pushes one entry
	 * per row.
	 */
	seen = blob_hash_create("staging entities to lay out", 64, sizeof(RebuildKey),
							sizeof(RebuildEntity), CurrentMemoryContext);
	foreach(lc, todo)
	{
		PendingRebuild *r = lfirst(lc);
		RebuildKey	key;
		RebuildEntity *e;
		bool		found;

		memset(&key, 0, sizeof(key));
		key.relid = r->relid;
		key.entity = r->entity;
		e = hash_search(seen, &key, HASH_ENTER, &found);
		if (!found)
		{
			e->keep = NULL;
			/* (as the writer: model_begin() below changes the user) */
			e->hidden_from = reveals_next_version(r->relid) ? NULL :
				get_rel_name(r->relid);
			entities = lappend(entities, e);
		}
		if (r->keep_row_id != 0 && e->keep == NULL)
			e->keep = r;
	}

	rebuilding_future = staging_setting_version() != STAGING_VERSION_ALL &&
		staging_setting_version() > staging_live_version();
	model_begin(&st);
	foreach(lc, entities)
	{
		RebuildEntity *e = lfirst(lc);
		Oid			types[4] = {REGCLASSOID, INT8OID, INT8OID, INT8OID};
		Datum		values[4] = {ObjectIdGetDatum(e->key.relid), Int64GetDatum(e->key.entity),
			Int64GetDatum(e->keep ? e->keep->keep_row_id : 0),
		Int64GetDatum(e->keep ? e->keep->keep_created_in : 0)};

		MemoryContext cxt = CurrentMemoryContext;
		int			nestlevel = e->hidden_from != NULL ? hide_layout_messages() : -1;

		PG_TRY();
		{
			if (SPI_execute_with_args("SELECT staging._rebuild($1, $2, $3, $4)", 4, types, values,
									  e->keep != NULL ? NULL : "  nn", false, 0) != SPI_OK_SELECT)
				elog(ERROR, "staging: could not lay out entity " INT64_FORMAT, e->key.entity);
		}
		PG_CATCH();
		{
			if (e->hidden_from == NULL)
				PG_RE_THROW();
			MemoryContextSwitchTo(cxt);
			raise_hidden_layout_error(e->hidden_from, e->key.entity);
		}
		PG_END_TRY();
		if (nestlevel >= 0)
			AtEOXact_GUC(true, nestlevel);
	}
	internal_end(&st);
	rebuilding_future = false;
	hash_destroy(seen);
	list_free(entities);
	list_free_deep(todo);
	return PointerGetDatum(NULL);
}

/*
 * BEFORE ROW trigger of a main table: place the written row at the
 * session version.  A live write of an entity without a future is made
 * in place (a row that began before the live version is split first, so
 * that history keeps its values); any other write is recorded, and the
 * rows are laid out at the end of the statement.
 */
Datum
staging_main_write_before(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr = trigger_target(fcinfo, VERSIONED_MAIN,
											"staging._main_write_before()");
	Relation	rel = td->tg_relation;
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	old = td->tg_trigtuple;
	int64		v;
	int64		live;
	int			cols[2];
	Datum		vals[2];
	bool		nulls[2] = {false, false};
	bool		isnull;
	Datum		entity_datum;
	int64		entity;
	bool		recorded;
	bool		new_entity;

	/* a main row may change: see locked_rows */
	forget_locked_rows();
	if (vr == NULL)
		return proceed(td);
	if (!row_set_is_empty(&deleted_rows) && !TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		HeapTuple	written = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : old;
		Datum		d = heap_getattr(written, vr->row_id_attno, desc, &isnull);

		if (!isnull)			/* a deleted row_id given again by hand */
			note_deleted_row(relid, DatumGetInt64(d), false);
	}
	entity_datum = heap_getattr(old, vr->entity_attno, desc, &isnull);
	entity = isnull ? 0 : integer_datum(entity_datum, TupleDescAttr(desc, vr->entity_attno - 1)->atttypid);
	/* (taken before any other way out: the claim is for this row only) */
	new_entity = TRIGGER_FIRED_BY_INSERT(td->tg_event) && !isnull &&
		entity_id_claimed(vr->sequence_relid, entity, true);

	/*
	 * A row that takes an id claimed ahead and not handed out makes it
	 * used (the trigger staging_register_entity does so first, unless it
	 * is disabled): the end of the statement must not give it back.
	 */
	if (!new_entity && !TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		HeapTuple	written = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : old;
		bool		null_entity;
		Datum		d = heap_getattr(written, vr->entity_attno, desc, &null_entity);

		if (!null_entity)
			(void) claims_take(vr->sequence_relid,
							   integer_datum(d, TupleDescAttr(desc, vr->entity_attno - 1)->atttypid));
	}
	if (internal_depth > 0)
		return proceed(td);
	live = staging_live_version_for_write(rel);
	v = write_version(rel);
	if (v == STAGING_VERSION_ALL)
		return proceed(td);
	cols[0] = vr->created_in_attno;
	cols[1] = vr->updated_in_attno;

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		HeapTuple	new = td->tg_newtuple;
		int64		c = int8_column(rel, old, vr->created_in_attno);
		int64		u = int8_column(rel, old, vr->updated_in_attno);
		bool		by_hand;

		/*
		 * An UPDATE that sets the version columns or row_id itself lays
		 * out version rows by hand: written as given (the exclusion
		 * constraint still guards the timeline), for those who may.
		 */
		by_hand = int8_column(rel, new, vr->created_in_attno) != c ||
			int8_column(rel, new, vr->updated_in_attno) != u ||
			!datumIsEqual(heap_getattr(old, vr->row_id_attno, desc, &isnull),
						  heap_getattr(new, vr->row_id_attno, desc, &isnull), true, 8);
		if (by_hand)
		{
			check_by_hand(rel, "set created_in, updated_in or row_id of rows");
			return PointerGetDatum(new);
		}
		recorded = v != live || entity_has_writes(relid, entity);

		/*
		 * A recorded write is a write to this entity: changing its id
		 * would leave its other versions behind.
		 */
		if (recorded)
		{
			bool		null_new;
			Datum		d = heap_getattr(new, vr->entity_attno, desc, &null_new);

			if (null_new || !datumIsEqual(entity_datum, d,
										  TupleDescAttr(desc, vr->entity_attno - 1)->attbyval,
										  TupleDescAttr(desc, vr->entity_attno - 1)->attlen))
				refuse_entity_change(rel, vr, entity, v, live);
		}

		/* The cheap path: a row created at the live version, no future. */
		if (c == v && !recorded)
			return PointerGetDatum(new);
		(void) check_write_version(rel, v, live);
		check_row_written(rel, c, u, v, live, true);
		if (recorded)
			(void) record_main_write(rel, entity, v, "update", new, set_columns(td, desc));
		if (v != live && version_visible(c, u, live))
		{
			/*
			 * The live row, written at a future version: until its values
			 * are laid out again at the end of the statement it is the
			 * update's row [v, u) (what RETURNING shows), not live, so that
			 * nobody, a logical replica's changelog included, takes the
			 * passing values for a live edit.
			 */
			push_rebuild(relid, entity, int8_column(rel, old, vr->row_id_attno), c);
			vals[0] = Int64GetDatum(v);
			vals[1] = Int64GetDatum(u);
			return PointerGetDatum(heap_modify_tuple_by_cols(new, desc, 2, cols, vals, nulls));
		}
		if (recorded)
			push_rebuild(relid, entity, 0, 0);
		if (c == v || v != live)
			return PointerGetDatum(new);
		/* a live edit of a row begun before: history keeps [c, v) */
		vals[0] = Int64GetDatum(v);
		vals[1] = Int64GetDatum(u);
		return PointerGetDatum(heap_modify_tuple_by_cols(new, desc, 2, cols, vals, nulls));
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		int64		c = int8_column(rel, old, vr->created_in_attno);
		int64		u = int8_column(rel, old, vr->updated_in_attno);

		(void) check_write_version(rel, v, live);
		if (c != v)
			check_row_written(rel, c, u, v, live, true);
		if (v != live || entity_has_writes(relid, entity))
		{
			(void) record_main_write(rel, entity, v, "delete", old, (Datum) 0);
			/* the live row comes back, with its row_id, when the rows are laid out */
			if (v != live && version_visible(c, u, live))
				push_rebuild(relid, entity, int8_column(rel, old, vr->row_id_attno), c);
			else
				push_rebuild(relid, entity, 0, 0);
		}
		return PointerGetDatum(old);
	}
	else
	{
		/* INSERT: the entity appears at v, until its next version. */
		HeapTuple	new = td->tg_trigtuple;
		int64		until = MAX_VERSION;
		int64		end;
		int64		given_c = int8_column(rel, new, vr->created_in_attno);

		/*
		 * An INSERT that gives its own version interval (created_in other
		 * than the live or session version, or an updated_in) lays out a
		 * version row by hand: written as given.
		 */
		if ((given_c != live && given_c != v) ||
			int8_column(rel, new, vr->updated_in_attno) != MAX_VERSION)
		{
			check_by_hand(rel, "insert rows with their own created_in or updated_in");
			return PointerGetDatum(new);
		}
		end = check_write_version(rel, v, live);
		/*
		 * Its next version, if any: none for a new entity (its id just
		 * added to the sequence table, so no row of it exists).
		 */
		if (!isnull && !new_entity)
		{
			InternalState st;
			WritePlans *p;
			Datum		args[2] = {entity_datum, Int64GetDatum(v)};

			internal_begin(rel, &st);
			p = plans_for(rel, vr);
			run(p->next_version, args, NULL, SPI_OK_SELECT);
			if (SPI_processed == 1)
			{
				bool		null_until;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null_until);

				if (!null_until)
					until = DatumGetInt64(d);
			}
			internal_end(&st);
		}
		/* (nor a write record: nothing was ever written of a new entity) */
		if (!isnull && (v != live || (!new_entity && entity_has_writes(relid, entity))))
		{
			refuse_recorded_on_conflict(rel, entity);
			(void) record_main_write(rel, entity, v, "insert", new, (Datum) 0);
			push_rebuild(relid, entity, 0, 0);
		}
		/* (a temporary update's entity ends with it: as the rows will be laid out) */
		vals[0] = Int64GetDatum(v);
		vals[1] = Int64GetDatum(end != 0 && end < until ? end : until);
		return PointerGetDatum(heap_modify_tuple_by_cols(new, desc, 2, cols, vals, nulls));
	}
}

/* Insert a copy of a row's values as [from, until); returns its row_id. */
static int64
insert_copy(WritePlans *p, HeapTuple tuple, TupleDesc desc, int64 from, int64 until)
{
	Datum	   *values = palloc(sizeof(Datum) * (p->ncols + 2));
	char	   *nulls = palloc(p->ncols + 2);
	bool		isnull;
	int			i;

	for (i = 0; i < p->ncols; i++)
	{
		values[i] = heap_getattr(tuple, p->cols[i], desc, &isnull);
		nulls[i] = isnull ? 'n' : ' ';
	}
	values[p->ncols] = Int64GetDatum(from);
	values[p->ncols + 1] = Int64GetDatum(until);
	nulls[p->ncols] = nulls[p->ncols + 1] = ' ';
	run(p->insert_copy, values, nulls, SPI_OK_INSERT_RETURNING);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Copy the attribute rows of one version row to another. */
static void
copy_attributes(WritePlans *p, int64 from_row, int64 to_row)
{
	Datum		args[2] = {Int64GetDatum(from_row), Int64GetDatum(to_row)};
	int			i;

	for (i = 0; i < p->nattr; i++)
		run(p->copy_attr[i], args, NULL, SPI_OK_INSERT);
}

/*
 * AFTER ROW trigger of a main table (UPDATE, and DELETE before the
 * foreign keys cascade to the attribute rows): a live write of a row that
 * began before the live version keeps its history, a copy of the old row
 * (and of its attribute rows) for [created_in, live).  Writes at an
 * update's version leave the rows to staging._rebuild.
 */
Datum
staging_main_write_after(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr = trigger_target(fcinfo, VERSIONED_MAIN,
											"staging._main_write_after()");
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	old = td->tg_trigtuple;
	InternalState st;
	WritePlans *p;
	int64		v;
	int64		c;
	int64		c2;
	int64		row_id;

	if (vr == NULL || internal_depth > 0 || TRIGGER_FIRED_BEFORE(td->tg_event))
		return PointerGetDatum(NULL);
	row_id = int8_column(rel, old, vr->row_id_attno);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		note_deleted_row(RelationGetRelid(rel), row_id, true);
	v = write_version(rel);
	if (v == STAGING_VERSION_ALL || v != staging_live_version())
		return PointerGetDatum(NULL);
	c = int8_column(rel, old, vr->created_in_attno);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		c2 = int8_column(rel, td->tg_newtuple, vr->created_in_attno);
		if (c2 == c || c2 != v || c >= v)
			return PointerGetDatum(NULL);	/* in place, or laid out by hand */
	}
	else if (!TRIGGER_FIRED_BY_DELETE(td->tg_event) || c >= v)
		return PointerGetDatum(NULL);
	internal_begin(rel, &st);
	p = plans_for(rel, vr);
	copy_attributes(p, row_id, insert_copy(p, old, desc, c, v));
	internal_end(&st);
	return PointerGetDatum(NULL);
}

/*
 * Lock the version row row_id of a main table and read its bounds and
 * entity; false when there is none.  What "SELECT ... WHERE row_id = $1
 * FOR NO KEY UPDATE" (as the owner, unfiltered) does, without an executor
 * started per call: the first attribute row of each main row a statement
 * writes asks it (the others find the row in locked_rows).  As SPI would,
 * it starts a new command and reads with the transaction's snapshot for
 * it (a new one under READ COMMITTED); a row updated since is followed to
 * its last version under READ COMMITTED, and is a serialization failure
 * otherwise, as for SELECT FOR NO KEY UPDATE.
 */
static bool
lock_version_row(Relation rel, const VersionedRel *vr, Oid index_oid, int64 row_id,
				 int64 *c, int64 *u, int64 *entity)
{
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	ItemPointerData tid;
	Snapshot	snapshot;
	TM_FailureData tmfd;
	TM_Result	res;
	bool		have_tid = false;
	bool		found = false;
	bool		isnull;
	int			flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS;

	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	snapshot = GetActiveSnapshot();
	slot = table_slot_create(rel, NULL);
	index = index_open(index_oid, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(row_id));
	scan = compat_index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		tid = slot->tts_tid;
		have_tid = true;
	}
	index_endscan(scan);
	index_close(index, NoLock);	/* kept until the end of the transaction */
	if (have_tid)
	{
		if (!IsolationUsesXactSnapshot())
			flags |= TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
		res = table_tuple_lock(rel, &tid, snapshot, slot, GetCurrentCommandId(true),
							   LockTupleNoKeyExclusive, LockWaitBlock, flags, &tmfd);
		switch (res)
		{
			case TM_Ok:
				found = true;
				break;
			case TM_SelfModified:
				/* changed by this very command: SELECT FOR UPDATE skips it */
				break;
			case TM_Updated:
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				if (res == TM_Updated)
					elog(ERROR, "staging: unexpected result %d locking a version row", (int) res);
				break;			/* deleted: not there */
			default:
				elog(ERROR, "staging: unexpected result %d locking a version row", (int) res);
		}
	}
	if (found)
	{
		Datum		d = slot_getattr(slot, vr->row_id_attno, &isnull);

		/* a newer version found by following updates must still match */
		if (isnull || DatumGetInt64(d) != row_id)
			found = false;
	}
	if (found)
	{
		*c = DatumGetInt64(slot_getattr(slot, vr->created_in_attno, &isnull));
		*u = DatumGetInt64(slot_getattr(slot, vr->updated_in_attno, &isnull));
		*entity = integer_datum(slot_getattr(slot, vr->entity_attno, &isnull),
								TupleDescAttr(RelationGetDescr(rel), vr->entity_attno - 1)->atttypid);
	}
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	return found;
}

/*
 * BEFORE ROW trigger of an attribute table: a write at version v lands in
 * the version row of v, which is split off first when the main row the
 * attribute row belongs to started before v.
 */
Datum
staging_attribute_write_before(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const VersionedRel *vr = trigger_target(fcinfo, VERSIONED_ATTRIBUTE,
											"staging._attribute_write_before()");
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tuple = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple :
		(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple);
	const VersionedRel *main_vr;
	Relation	main_rel;
	InternalState st;
	WritePlans *p;
	int64		v;
	int64		live;
	int64		row_id;
	int64		c;
	int64		u;
	int64		entity;
	bool		recorded;
	bool		isnull;
	Datum		d;

	if (vr == NULL || internal_depth > 0)
		return proceed(td);
	v = write_version(rel);
	if (v == STAGING_VERSION_ALL)
		return proceed(td);
	d = heap_getattr(tuple, vr->row_id_attno, desc, &isnull);
	if (isnull)
		return proceed(td);		/* NOT NULL or the foreign key will say */
	row_id = integer_datum(d, vr->row_id_type);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		integer_datum(heap_getattr(td->tg_trigtuple, vr->row_id_attno, desc, &isnull),
					  vr->row_id_type) != row_id)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("row_id of attribute table \"%s\" is kept by the staging extension",
						RelationGetRelationName(rel)),
				 errhint("Delete the attribute row and insert it for the other entity.")));
	/* the cascade of its main row's delete (see deleted_rows) */
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event) && main_row_deleted(vr->main_relid, row_id))
		return proceed(td);
	live = staging_live_version_for_write(rel);
	v = write_version(rel);
	main_vr = registry_lookup(vr->main_relid);
	if (main_vr == NULL)
		return proceed(td);

	/*
	 * A main row this statement locked already, created at the live
	 * version, its entity without a future: written in place.
	 */
	if (v == live && locked_row_entity(vr->main_relid, row_id, live, &entity))
		return proceed(td);

	main_rel = table_open(vr->main_relid, RowExclusiveLock);
	internal_begin(main_rel, &st);
	p = plans_for(main_rel, main_vr);
	if (!OidIsValid(p->row_id_index))
		p->row_id_index = registry_row_id_index(main_rel, main_vr->row_id_attno);
	if (!lock_version_row(main_rel, main_vr, p->row_id_index, row_id, &c, &u, &entity))
	{
		internal_end(&st);
		table_close(main_rel, NoLock);
		return proceed(td);		/* the foreign key will say */
	}
	/*
	 * An INSERT of an attribute row for a version row that is not visible
	 * at the live version completes a version row laid out by hand (a
	 * restore): written as given, for those who may (check_by_hand).  At
	 * an update's version it is refused like an UPDATE or DELETE of such
	 * rows below: the row_id is most likely one read before the entity's
	 * first write there, i.e. the live row, which a session editing the
	 * future must not change.  (Attribute tables are not filtered, so an
	 * unrestricted UPDATE would otherwise change other versions, history
	 * included.)
	 */
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) && !version_visible(c, u, v))
	{
		internal_end(&st);
		if (v != live)
			check_row_written(rel, c, u, v, live, false);
		check_by_hand(rel, psprintf("insert rows for row_id " INT64_FORMAT ", a version row that version " INT64_FORMAT " does not show,",
									row_id, v));
		table_close(main_rel, NoLock);
		return proceed(td);
	}
	recorded = v != live || entity_has_writes(vr->main_relid, entity);
	if (recorded && TRIGGER_FIRED_BY_INSERT(td->tg_event))
		refuse_recorded_on_conflict(rel, entity);
	if (!(c == v && v == live) || recorded)
	{
		(void) check_write_version(rel, v, live);
		if (c != v)
			check_row_written(rel, c, u, v, live, false);
		if (c != v && v == live)
		{
			/* a live edit of a row begun before: history keeps [c, v) */
			run(p->set_bounds, (Datum[]) {Int64GetDatum(row_id), Int64GetDatum(v),
				Int64GetDatum(u)}, NULL, SPI_OK_UPDATE);
			run(p->copy_row, (Datum[]) {Int64GetDatum(row_id), Int64GetDatum(c),
				Int64GetDatum(v)}, NULL, SPI_OK_INSERT_RETURNING);
			copy_attributes(p, row_id,
							DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &isnull)));
		}
	}
	else if (version_visible(c, u, v))
		remember_locked_row(vr->main_relid, row_id, live, entity);
	internal_end(&st);
	if (recorded)
	{
		HeapTuple	old = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? NULL : td->tg_trigtuple;
		HeapTuple	new = TRIGGER_FIRED_BY_DELETE(td->tg_event) ? NULL : tuple;

		(void) record_attribute_write(rel, entity, v,
									  TRIGGER_FIRED_BY_INSERT(td->tg_event) ? "insert" :
									  TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "update" : "delete",
									  old, new);
		if (v != live && version_visible(c, u, live))
		{
			/* the live main row is the update's until the end of the statement (as above) */
			internal_begin(main_rel, &st);
			run(p->set_bounds, (Datum[]) {Int64GetDatum(row_id), Int64GetDatum(v),
				Int64GetDatum(u)}, NULL, SPI_OK_UPDATE);
			internal_end(&st);
			push_rebuild(vr->main_relid, entity, row_id, c);
		}
		else
			push_rebuild(vr->main_relid, entity, 0, 0);
	}
	table_close(main_rel, NoLock);
	return proceed(td);
}

/*
 * The AFTER ROW trigger attribute tables had in version 1.0 (edits flowed
 * into later versions there): the write model lays those out now.  Kept
 * so that a 1.0 installation being upgraded still loads; 1.1 drops the
 * trigger.
 */
Datum
staging_attribute_write_after(PG_FUNCTION_ARGS)
{
	return PointerGetDatum(NULL);
}
