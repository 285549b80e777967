/*-------------------------------------------------------------------------
 *
 * changelog.c
 *	  Row triggers of changelogs: log which entity changed, for indexers.
 *
 * staging.subscribe() puts one AFTER ROW trigger per changelog on each
 * watched table, named like the log table (<name>_cl) and calling
 * staging._changelog_trigger('<name>').  For each row the trigger finds
 * the entity (the entity column of the main table or of a relation table;
 * for an attribute table, the main row reached through row_id) and logs it
 * into <name>_cl when:
 *
 *	- the row is visible at the live version (rows of versioned tables at a
 *	  future version are logged by staging._changelog_advance() when that
 *	  version goes live), and
 *	- it is an INSERT or DELETE, or an UPDATE that changed a subscribed
 *	  column (type's equality, NULLs included), moved the row to another
 *	  entity (both are logged) or made it visible or invisible, and
 *	- the entity was not logged in this changelog by this transaction yet.
 *
 * The last rule uses a backend-local hash reset at transaction end; each
 * entry remembers the subtransaction that logged it, so a rolled back
 * subtransaction (whose changelog rows are gone) forgets its entries.
 * A commit that logged anything sends NOTIFY <name>_cl.
 *
 * The row is inserted straight into the heap and indexes of <name>_cl, as
 * CatalogIndexInsert does, when the log table has its own shape (the four
 * columns, plain indexes, no triggers or row security); otherwise, or when
 * a user changed it, through an INSERT statement (SPI), a few times slower.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

PG_FUNCTION_INFO_V1(staging_changelog_trigger);

/* How a watched table leads to its entity. */
typedef enum WatchedKind
{
	WATCHED_PLAIN,				/* entity column in the row, always visible */
	WATCHED_MAIN,				/* versioned main table: entity + interval */
	WATCHED_ATTRIBUTE			/* row_id -> versioned main table's row */
} WatchedKind;

/* One subscription, as its trigger needs it; cached by trigger OID. */
typedef struct WatchedTable
{
	Oid			tgoid;			/* hash key */
	Oid			relid;			/* the watched table */
	WatchedKind kind;
	Oid			log_relid;		/* <name>_cl */
	Oid			log_owner;		/* the changelog is written as its owner */
	char		channel[NAMEDATALEN];	/* NOTIFY channel: <name>_cl */
	AttrNumber	entity_attno;	/* PLAIN, MAIN */
	Oid			entity_type;	/* int2, int4 or int8 */
	AttrNumber	row_id_attno;	/* ATTRIBUTE */
	Oid			row_id_type;	/* ATTRIBUTE: int2, int4 or int8 */
	AttrNumber	created_in_attno;	/* MAIN */
	AttrNumber	updated_in_attno;	/* MAIN */
	Oid			main_relid;		/* ATTRIBUTE: the main table */
	Oid			main_index;		/* ATTRIBUTE: its index on row_id */
	AttrNumber	main_entity_attno;
	Oid			main_entity_type;
	AttrNumber	main_created_in_attno;
	AttrNumber	main_updated_in_attno;
	int			ncolumns;		/* columns whose changes are logged */
	AttrNumber *columns;
	bool		direct_insert;	/* insert into heap and indexes ourselves */
	Oid			log_sequence;	/* identity sequence of version_id */
	SPIPlanPtr	insert_plan;	/* else: INSERT INTO <name>_cl (entity_id) */
	uint64		generation;		/* registry_generation() when loaded */
	bool		stale;			/* a relation it depends on changed */
} WatchedTable;

/* The columns of a log table, in order, as create_changelog makes them. */
static const struct
{
	const char *name;
	Oid			type;
}			log_columns[] =
{
	{"version_id", INT8OID},
	{"entity_id", INT8OID},
	{"txid", XID8OID},
	{"changed_at", TIMESTAMPTZOID}
};
#define LOG_NATTS ((int) lengthof(log_columns))

/* Key of the per-transaction set of logged entities. */
typedef struct LoggedKey
{
	Oid			log_relid;
	int32		pad;			/* zeroed: the key is hashed as bytes */
	int64		entity;
} LoggedKey;

typedef struct LoggedEntry
{
	LoggedKey	key;
	SubTransactionId subid;		/* subtransaction that logged it */
} LoggedEntry;

/* The main row of an attribute row, cached for one command. */
typedef struct MainRow
{
	int64		row_id;			/* hash key */
	bool		found;
	bool		visible;
	int64		entity;
} MainRow;

/* Beyond this many entries a set is emptied: duplicates are harmless. */
#define MAX_SET_ENTRIES 1000000

static HTAB *watched_tables = NULL;

static HTAB *logged = NULL;		/* in TopTransactionContext */
static SubTransactionId logged_max_subid = InvalidSubTransactionId;

static HTAB *main_rows = NULL;	/* in TopTransactionContext */
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static CommandId cache_cid = InvalidCommandId;

/* Is the current trigger call connected to SPI?  (Connect only if needed.) */
static bool spi_connected = false;

/* Connect to SPI for the rest of this trigger call. */
static void
ensure_spi(void)
{
	if (spi_connected)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi_connected = true;
}

/*
 * Relcache invalidation (routed by hooks.c): subscribing, unsubscribing
 * and DDL on a watched or log table all send one; the entries that depend
 * on that relation are rebuilt on next use.  Must not read catalogs.
 */
void
changelog_invalidate(Oid relid)
{
	HASH_SEQ_STATUS status;
	WatchedTable *w;

	if (watched_tables == NULL)
		return;
	hash_seq_init(&status, watched_tables);
	while ((w = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || w->relid == relid || w->log_relid == relid ||
			w->main_relid == relid)
			w->stale = true;
}

/* Transaction end (routed by hooks.c): the per-transaction sets go. */
void
changelog_xact_end(XactEvent event)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			logged = NULL;
			logged_max_subid = InvalidSubTransactionId;
			main_rows = NULL;
			cache_lxid = InvalidLocalTransactionId;
			break;
		default:
			break;
	}
}

/*
 * Subtransaction abort: its changelog rows are rolled back, so forget the
 * entities it (or any subtransaction inside it, whose ids are larger)
 * logged; they must be logged again if they change again.
 */
void
changelog_subxact_event(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid)
{
	HASH_SEQ_STATUS status;
	LoggedEntry *entry;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* the cached main rows may be the aborted ones' */
	cache_lxid = InvalidLocalTransactionId;
	if (logged == NULL || logged_max_subid < mySubid)
		return;
	hash_seq_init(&status, logged);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->subid >= mySubid)
			hash_search(logged, &entry->key, HASH_REMOVE, NULL);
	}
	logged_max_subid = parentSubid;
}

/* Attribute number of a column that must exist. */
static AttrNumber
required_attno(Oid relid, const char *column)
{
	AttrNumber	attno = get_attnum(relid, column);

	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no column \"%s\" that its changelog trigger needs",
						get_rel_name(relid), column),
				 errhint("Unsubscribe the table with staging.unsubscribe and subscribe it again.")));
	return attno;
}

/*
 * Can rows be put into the log table directly?  Only when it is exactly
 * what create_changelog made (columns, identity), with indexes on plain
 * columns that are checked immediately, and nothing that an INSERT
 * statement would run besides (triggers, row security, partitions).
 */
static bool
can_insert_directly(Oid log_relid, Oid *sequence)
{
	Relation	rel = table_open(log_relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		ok;
	int			i;

	ok = rel->rd_rel->relkind == RELKIND_RELATION &&
		rel->trigdesc == NULL &&
		!rel->rd_rel->relrowsecurity &&
		desc->natts == LOG_NATTS;
	for (i = 0; ok && i < LOG_NATTS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		ok = !att->attisdropped && att->atttypid == log_columns[i].type &&
			strcmp(NameStr(att->attname), log_columns[i].name) == 0 &&
			att->attgenerated == '\0' &&
			att->attidentity == (i == 0 ? ATTRIBUTE_IDENTITY_ALWAYS : '\0');
	}
	if (ok)
	{
		List	   *indexes = RelationGetIndexList(rel);
		ListCell   *lc;

		foreach(lc, indexes)
		{
			Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

			ok = ok && index->rd_index->indimmediate &&
				!index->rd_index->indisexclusion &&
				heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
				heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
			index_close(index, AccessShareLock);
		}
	}
	if (ok)
		*sequence = compat_identity_sequence(rel, 1);
	table_close(rel, AccessShareLock);
	return ok;
}

/*
 * Fill a cache entry from the registry: the changelog's log table and the
 * subscribed columns, and how the table leads to its entity.  The trigger
 * of a partition is a clone of its subscribed partitioned table's.
 */
static void
load_watched_table(WatchedTable *w, Relation rel, const char *changelog)
{
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	bool		isnull;
	HeapTuple	tuple;
	TupleDesc	desc;
	char	   *entity_column;
	Datum		columns;
	bool		columns_null;
	const VersionedRel *versioned;
	MemoryContext oldcxt;
	StringInfoData sql;
	Oid			int8type = INT8OID;
	TupleDesc	reldesc = RelationGetDescr(rel);

	ensure_spi();
	args[0] = CStringGetTextDatum(changelog);
	args[1] = ObjectIdGetDatum(RelationGetRelid(rel));
	if (SPI_execute_with_args("SELECT c.log_table::pg_catalog.oid, c.entity_column, s.columns,"
							  "       k.relowner"
							  "  FROM staging.changelog c"
							  "  JOIN staging.changelog_subscription s"
							  "    ON s.changelog OPERATOR(pg_catalog.=) c.name"
							  "  JOIN pg_catalog.pg_class k"
							  "    ON k.oid OPERATOR(pg_catalog.=) c.log_table::pg_catalog.oid"
							  " WHERE c.name OPERATOR(pg_catalog.=) $1"
							  "   AND (s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $2"
							  "        OR s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) ANY"
							  "       (SELECT relid::pg_catalog.oid FROM pg_catalog.pg_partition_ancestors($2)))",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the changelog registry");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s is not subscribed to changelog \"%s\"",
						RelationGetRelationName(rel), changelog),
				 errhint("Drop its trigger \"%s_cl\", or subscribe it with staging.subscribe.",
						 changelog)));
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	w->relid = RelationGetRelid(rel);
	w->log_relid = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull));
	entity_column = SPI_getvalue(tuple, desc, 2);
	columns = SPI_getbinval(tuple, desc, 3, &columns_null);
	w->log_owner = DatumGetObjectId(SPI_getbinval(tuple, desc, 4, &isnull));
	snprintf(w->channel, NAMEDATALEN, "%s_cl", changelog);

	versioned = registry_lookup(w->relid);
	if (versioned != NULL && versioned->kind == VERSIONED_ATTRIBUTE)
	{
		const VersionedRel *main;

		/* copy before the next lookup, which may rebuild the registry */
		w->main_relid = versioned->main_relid;
		main = registry_lookup(w->main_relid);
		if (main == NULL)
			elog(ERROR, "versioned table %u of attribute table %s is not registered",
				 w->main_relid, RelationGetRelationName(rel));
		w->kind = WATCHED_ATTRIBUTE;
		w->row_id_attno = required_attno(w->relid, "row_id");
		w->main_entity_attno = main->entity_attno;
		w->main_entity_type = get_atttype(w->main_relid, main->entity_attno);
		w->main_created_in_attno = required_attno(w->main_relid, "created_in");
		w->main_updated_in_attno = required_attno(w->main_relid, "updated_in");
		{
			Relation	main_rel = table_open(w->main_relid, AccessShareLock);

			w->main_index = registry_row_id_index(main_rel,
												  required_attno(w->main_relid, "row_id"));
			table_close(main_rel, AccessShareLock);
		}
		/* attribute tables keep their integer link column's type */
		w->row_id_type = get_atttype(w->relid, w->row_id_attno);
		if ((w->row_id_type != INT2OID && w->row_id_type != INT4OID &&
			 w->row_id_type != INT8OID) ||
			get_atttype(w->main_relid, required_attno(w->main_relid, "row_id")) != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("row_id of %s must be an integer and row_id of %s bigint",
							RelationGetRelationName(rel), get_rel_name(w->main_relid)),
					 errhint("Version the tables with staging.enable_versioning and staging.add_attribute_table.")));
	}
	else
	{
		w->kind = versioned != NULL ? WATCHED_MAIN : WATCHED_PLAIN;
		w->entity_attno = required_attno(w->relid, entity_column);
		w->entity_type = TupleDescAttr(reldesc, w->entity_attno - 1)->atttypid;
		/* subscribe() checked the type; ALTER TABLE may have changed it since */
		if (w->entity_type != INT2OID && w->entity_type != INT4OID &&
			w->entity_type != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("entity column \"%s\" of table \"%s\", subscribed to changelog \"%s\", has type %s, not an integer type",
							entity_column, RelationGetRelationName(rel), changelog,
							format_type_be(w->entity_type)),
					 errhint("Change the column back to an integer type, or call staging.unsubscribe() for the table.")));
		if (w->kind == WATCHED_MAIN)
		{
			w->created_in_attno = required_attno(w->relid, "created_in");
			w->updated_in_attno = required_attno(w->relid, "updated_in");
		}
	}

	/* The compared columns: the listed ones, or all but bookkeeping. */
	oldcxt = MemoryContextSwitchTo(CacheMemoryContext);
	w->ncolumns = 0;
	w->columns = palloc(sizeof(AttrNumber) * Max(reldesc->natts, 1));
	if (!columns_null)
	{
		ArrayType  *array = DatumGetArrayTypeP(columns);
		Datum	   *names;
		int			n;
		int			i;

		deconstruct_array(array, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
						  &names, NULL, &n);
		for (i = 0; i < n && i < reldesc->natts; i++)
			w->columns[w->ncolumns++] =
				required_attno(w->relid, NameStr(*DatumGetName(names[i])));
	}
	else
	{
		int			i;

		for (i = 0; i < reldesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(reldesc, i);
			const char *name = NameStr(att->attname);

			if (att->attisdropped)
				continue;
			if ((w->kind == WATCHED_MAIN &&
				 (strcmp(name, "created_in") == 0 || strcmp(name, "updated_in") == 0 ||
				  strcmp(name, "row_id") == 0)) ||
				(w->kind == WATCHED_ATTRIBUTE && strcmp(name, "row_id") == 0))
				continue;
			w->columns[w->ncolumns++] = att->attnum;
		}
	}
	MemoryContextSwitchTo(oldcxt);

	w->direct_insert = can_insert_directly(w->log_relid, &w->log_sequence);
	if (w->direct_insert)
		return;
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s.%s (entity_id) VALUES ($1)",
					 quote_identifier(get_namespace_name(get_rel_namespace(w->log_relid))),
					 quote_identifier(get_rel_name(w->log_relid)));
	w->insert_plan = SPI_prepare(sql.data, 1, &int8type);
	if (w->insert_plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(w->insert_plan);
}

/* The cache entry of a trigger, built on first use after invalidation. */
static WatchedTable *
watched_table(TriggerData *trigdata)
{
	Oid			tgoid = trigdata->tg_trigger->tgoid;
	WatchedTable *w;
	bool		found;

	if (watched_tables == NULL)
		watched_tables = blob_hash_create("staging changelog triggers", 16, sizeof(Oid),
										  sizeof(WatchedTable), CacheMemoryContext);

	w = hash_search(watched_tables, &tgoid, HASH_FIND, NULL);
	if (w != NULL && !w->stale && w->generation == registry_generation())
		return w;
	if (w != NULL)
	{
		if (w->insert_plan != NULL)
			SPI_freeplan(w->insert_plan);
		if (w->columns != NULL)
			pfree(w->columns);
		hash_search(watched_tables, &tgoid, HASH_REMOVE, NULL);
	}

	if (trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "staging._changelog_trigger() needs the changelog name as its argument");
	{
		WatchedTable loaded;

		memset(&loaded, 0, sizeof(loaded));
		loaded.tgoid = tgoid;
		/* (an invalidation arriving while we load makes it stale at once) */
		loaded.generation = registry_generation();
		/* fill a local copy: an error must not leave a half-built entry */
		load_watched_table(&loaded, trigdata->tg_relation,
						   trigdata->tg_trigger->tgargs[0]);
		w = hash_search(watched_tables, &tgoid, HASH_ENTER, &found);
		*w = loaded;
	}
	return w;
}

/*
 * The cache of main rows holds for one command of one transaction: they
 * cannot change in between without a new command id (or a subtransaction
 * abort, which resets it).
 */
static void
check_command_caches(void)
{
	CommandId	cid = GetCurrentCommandId(false);

	if (cache_lxid == MyLocalTransactionId && cache_cid == cid)
		return;
	cache_lxid = MyLocalTransactionId;
	cache_cid = cid;
	if (main_rows != NULL)
		hash_destroy(main_rows);
	main_rows = NULL;
}

/* Does this session write at a version after the live one? */
static bool
writes_at_future_version(void)
{
	int64		v = staging_setting_version();

	return v != STAGING_VERSION_ALL && v > staging_live_version();
}

/* Is a version interval [created_in, updated_in) live? */
static bool
interval_is_live(Datum created_in, Datum updated_in)
{
	return version_visible(DatumGetInt64(created_in), DatumGetInt64(updated_in),
						   staging_live_version());
}

/*
 * The main row of an attribute row: its entity and whether it is live.
 * The row is read as this transaction sees it now (SnapshotSelf: also the
 * changes of the current command); a main row deleted by this transaction
 * (a cascade) is found as it was, among its dead versions, and counts as
 * live when one of them was: a live row's attribute rows deleted with it
 * log its entity, those of a future row that delete_update or a layout
 * removed do not (nothing the live version shows changed).
 */
static MainRow *
main_row(WatchedTable *w, int64 row_id)
{
	MainRow    *row;
	bool		found;
	Relation	rel;
	Relation	index;
	ScanKeyData key;
	TupleTableSlot *slot;
	int			pass;

	check_command_caches();
	if (main_rows == NULL || hash_get_num_entries(main_rows) >= MAX_SET_ENTRIES)
	{
		if (main_rows != NULL)
			hash_destroy(main_rows);
		main_rows = blob_hash_create("staging changelog main rows", 1024, sizeof(int64),
									 sizeof(MainRow), TopTransactionContext);
	}
	row = hash_search(main_rows, &row_id, HASH_ENTER, &found);
	if (found)
		return row;
	row->found = false;

	rel = table_open(w->main_relid, AccessShareLock);
	index = index_open(w->main_index, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(row_id));
	for (pass = 0; pass < 2 && !row->found; pass++)
	{
		IndexScanDesc scan = compat_index_beginscan(rel, index,
													pass == 0 ? SnapshotSelf : SnapshotAny,
													1, 0);

		index_rescan(scan, &key, 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			bool		created_null;
			bool		updated_null;
			Datum		entity = slot_getattr(slot, w->main_entity_attno, &isnull);
			Datum		created_in = slot_getattr(slot, w->main_created_in_attno,
												  &created_null);
			Datum		updated_in = slot_getattr(slot, w->main_updated_in_attno,
												  &updated_null);
			bool		live = !created_null && !updated_null &&
				interval_is_live(created_in, updated_in);

			if (isnull)
				continue;
			if (!row->found)
			{
				row->found = true;
				row->entity = integer_datum(entity, w->main_entity_type);
				row->visible = false;
			}
			row->visible = row->visible || live;
			/* SnapshotSelf shows one version: no need to look further */
			if (pass == 0 || row->visible)
				break;
		}
		index_endscan(scan);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return row;
}

/*
 * The entity of a row and whether the row is live; false when the row has
 * no entity (NULL entity column, or an attribute row without main row).
 */
static bool
row_entity(WatchedTable *w, TupleTableSlot *slot, int64 *entity, bool *visible)
{
	bool		isnull;
	Datum		value;

	if (w->kind == WATCHED_ATTRIBUTE)
	{
		MainRow    *row;

		value = slot_getattr(slot, w->row_id_attno, &isnull);
		if (isnull)
			return false;
		row = main_row(w, integer_datum(value, w->row_id_type));
		*entity = row->entity;
		*visible = row->visible;
		return row->found;
	}
	value = slot_getattr(slot, w->entity_attno, &isnull);
	if (isnull)
		return false;
	*entity = integer_datum(value, w->entity_type);
	*visible = true;
	if (w->kind == WATCHED_MAIN)
	{
		bool		created_null;
		bool		updated_null;
		Datum		created_in = slot_getattr(slot, w->created_in_attno, &created_null);
		Datum		updated_in = slot_getattr(slot, w->updated_in_attno, &updated_null);

		*visible = !created_null && !updated_null &&
			interval_is_live(created_in, updated_in);
	}
	return true;
}

/*
 * Did an UPDATE change one of the compared columns?  Equal images are
 * equal; otherwise the type's equality operator decides (a type without
 * one counts as changed).  NULL equals only NULL.
 */
static bool
columns_changed(WatchedTable *w, TupleTableSlot *old, TupleTableSlot *new)
{
	TupleDesc	desc = old->tts_tupleDescriptor;
	int			i;

	for (i = 0; i < w->ncolumns; i++)
	{
		AttrNumber	attno = w->columns[i];
		Form_pg_attribute att = TupleDescAttr(desc, attno - 1);
		bool		old_null;
		bool		new_null;
		Datum		old_value = slot_getattr(old, attno, &old_null);
		Datum		new_value = slot_getattr(new, attno, &new_null);
		TypeCacheEntry *type;

		if (att->attisdropped || (old_null && new_null))
			continue;
		if (old_null != new_null)
			return true;
		if (datum_image_eq(old_value, new_value, att->attbyval, att->attlen))
			continue;
		type = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);
		if (!OidIsValid(type->eq_opr_finfo.fn_oid))
			return true;
		if (!DatumGetBool(FunctionCall2Coll(&type->eq_opr_finfo, att->attcollation,
											old_value, new_value)))
			return true;
	}
	return false;
}

/*
 * Insert a log row into the heap and the indexes of the log table, as
 * CatalogIndexInsert does (can_insert_directly() said this is all an
 * INSERT would do).
 */
static void
insert_directly(WatchedTable *w, int64 entity)
{
	Relation	rel = table_open(w->log_relid, RowExclusiveLock);
	Datum		values[LOG_NATTS];
	bool		nulls[LOG_NATTS] = {false};
	HeapTuple	tuple;
	TupleTableSlot *slot;
	List	   *indexes;
	ListCell   *lc;

	values[0] = Int64GetDatum(nextval_internal(w->log_sequence, false));
	values[1] = Int64GetDatum(entity);
	values[2] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tuple);

	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tuple, slot, false);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(index);
		Datum		index_values[INDEX_MAX_KEYS];
		bool		index_nulls[INDEX_MAX_KEYS];

		if (info->ii_Expressions != NIL || info->ii_Predicate != NIL)
			elog(ERROR, "index \"%s\" of changelog %s changed under its trigger",
				 RelationGetRelationName(index), RelationGetRelationName(rel));
		if (info->ii_ReadyForInserts)
		{
			FormIndexDatum(info, slot, NULL, index_values, index_nulls);
			index_insert(index, index_values, index_nulls, &tuple->t_self, rel,
						 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						 false, info);
		}
		index_close(index, RowExclusiveLock);
	}
	list_free(indexes);
	ExecDropSingleTupleTableSlot(slot);
	heap_freetuple(tuple);
	table_close(rel, RowExclusiveLock);
}

/*
 * Log an entity in a changelog unless this transaction already did, as
 * the changelog's owner (writers need no privilege on it), and queue the
 * NOTIFY that is sent at commit.
 */
static void
log_entity(WatchedTable *w, int64 entity)
{
	LoggedKey	key;
	LoggedEntry *entry;
	bool		found;
	Datum		arg = Int64GetDatum(entity);
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	if (logged == NULL || hash_get_num_entries(logged) >= MAX_SET_ENTRIES)
	{
		if (logged != NULL)
			hash_destroy(logged);
		logged = blob_hash_create("staging changelog entities", 1024, sizeof(LoggedKey),
								  sizeof(LoggedEntry), TopTransactionContext);
	}
	memset(&key, 0, sizeof(key));
	key.log_relid = w->log_relid;
	key.entity = entity;
	entry = hash_search(logged, &key, HASH_ENTER, &found);
	if (found)
		return;
	entry->subid = GetCurrentSubTransactionId();
	logged_max_subid = Max(logged_max_subid, entry->subid);

	if (w->direct_insert)
		insert_directly(w, entity);
	else
	{
		ensure_spi();
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(w->log_owner,
							   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		rc = SPI_execute_plan(w->insert_plan, &arg, NULL, false, 0);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not log entity " INT64_FORMAT " in %s: %s",
				 entity, w->channel, SPI_result_code_string(rc));
	}
	Async_Notify(w->channel, NULL);
}

/*
 * Logical replication applies the rows of a write at a future version
 * one by one, without the writer's session version: the live row moves
 * to the update's start (an UPDATE that makes it invisible) while the
 * statement runs, then the entity's rows are laid out again (the live
 * row back at the live version, its attribute rows back to their values,
 * new rows for the update).  The apply worker remembers, for the rest of
 * its transaction, the entities whose live row moved to the future, and
 * does not log their rows: what the live version shows did not change.
 * The entities are logged when the version goes live.
 */
typedef struct MovedEntity
{
	Oid			main_relid;
	int64		entity;
} MovedEntity;

static List *moved_entities = NIL;	/* in TopTransactionContext */
static LocalTransactionId moved_lxid = InvalidLocalTransactionId;

/* Is this an apply (or table synchronisation) worker of a subscription? */
static bool
applying_replicated_rows(void)
{
	return SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA;
}

/* Remember (or, when remember is false, look up) a moved entity. */
static bool
moved_entity(Oid main_relid, int64 entity, bool remember)
{
	ListCell   *lc;
	MovedEntity *m;
	MemoryContext oldcontext;

	if (moved_lxid != MyLocalTransactionId)
	{
		moved_entities = NIL;	/* freed with the previous transaction */
		moved_lxid = MyLocalTransactionId;
	}
	foreach(lc, moved_entities)
	{
		m = (MovedEntity *) lfirst(lc);
		if (m->main_relid == main_relid && m->entity == entity)
			return true;
	}
	if (!remember)
		return false;
	oldcontext = MemoryContextSwitchTo(TopTransactionContext);
	m = palloc(sizeof(MovedEntity));
	m->main_relid = main_relid;
	m->entity = entity;
	moved_entities = lappend(moved_entities, m);
	MemoryContextSwitchTo(oldcontext);
	return true;
}

/*
 * Log the entities whose live state this row change changed (see the
 * header of this file).  Connects to SPI only if needed (spi_connected).
 */
static void
log_row_change(TriggerData *trigdata)
{
	TriggerEvent event = trigdata->tg_event;
	WatchedTable *w;
	int64		old_entity = 0;
	int64		new_entity = 0;
	bool		old_visible = false;
	bool		new_visible = false;
	bool		has_old = false;
	bool		has_new = false;

	w = watched_table(trigdata);

	/*
	 * A session writing at a future version (an update's start) leaves what
	 * the live version shows as it was: versioned writes there split the live
	 * row into an unchanged copy and the update's row.  Those entities are
	 * logged when the version goes live (staging._changelog_advance). The
	 * writer's right to that version was checked by the write triggers.
	 * The same holds while its rows are laid out after the statement.
	 */
	if (w->kind != WATCHED_PLAIN && (writes_at_future_version() || writes_rebuilding_future()))
		goto done;

	if (TRIGGER_FIRED_BY_INSERT(event))
	{
		has_new = row_entity(w, trigdata->tg_trigslot, &new_entity, &new_visible);
		/* a copy of a live row that moved to the future (see above) */
		if (has_new && new_visible && w->kind != WATCHED_PLAIN &&
			applying_replicated_rows() &&
			moved_entity(w->kind == WATCHED_MAIN ? w->relid : w->main_relid,
						 new_entity, false))
			goto done;
	}
	else if (TRIGGER_FIRED_BY_DELETE(event))
	{
		has_old = row_entity(w, trigdata->tg_trigslot, &old_entity, &old_visible);
		if (has_old && w->kind != WATCHED_PLAIN && applying_replicated_rows() &&
			moved_entity(w->kind == WATCHED_MAIN ? w->relid : w->main_relid,
						 old_entity, false))
			goto done;
	}
	else
	{
		has_old = row_entity(w, trigdata->tg_trigslot, &old_entity, &old_visible);
		has_new = row_entity(w, trigdata->tg_newslot, &new_entity, &new_visible);
		/* a live row moved to an update's start (see above) */
		if (w->kind == WATCHED_MAIN && applying_replicated_rows() &&
			has_old && has_new && old_visible && !new_visible &&
			old_entity == new_entity)
		{
			bool		isnull;
			Datum		created_in = slot_getattr(trigdata->tg_newslot,
												  w->created_in_attno, &isnull);

			if (!isnull && DatumGetInt64(created_in) > staging_live_version())
			{
				(void) moved_entity(w->relid, new_entity, true);
				goto done;
			}
		}
		/*
		 * The rows of a moved entity laid out again (its live row back at
		 * the live version, its attribute rows back to their values): no
		 * change of what the live version shows.
		 */
		if (w->kind != WATCHED_PLAIN && applying_replicated_rows() && has_new &&
			moved_entity(w->kind == WATCHED_MAIN ? w->relid : w->main_relid,
						 new_entity, false))
			goto done;
		/* same entity, live before and after: log only a real change */
		if (has_old && has_new && old_visible && new_visible &&
			old_entity == new_entity &&
			!columns_changed(w, trigdata->tg_trigslot, trigdata->tg_newslot))
			has_old = has_new = false;
	}
	if (has_old && old_visible)
		log_entity(w, old_entity);
	if (has_new && new_visible && !(has_old && old_visible && old_entity == new_entity))
		log_entity(w, new_entity);

done:
	return;
}

/*
 * The trigger.  It runs nested in itself when logging fires another
 * changelog's trigger (a trigger of the owner's on a log table that writes
 * a watched table): each call has its own SPI connection, and the caller's
 * state is restored when it returns or fails.
 */
Datum
staging_changelog_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		caller_spi_connected = spi_connected;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "staging._changelog_trigger() must be an AFTER ROW trigger");

	spi_connected = false;
	PG_TRY();
	{
		log_row_change(trigdata);
		if (spi_connected)
			SPI_finish();
	}
	PG_CATCH();
	{
		/* the abort of the (sub)transaction closes our SPI connection */
		spi_connected = caller_spi_connected;
		PG_RE_THROW();
	}
	PG_END_TRY();
	spi_connected = caller_spi_connected;
	return PointerGetDatum(NULL);
}
