/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Backend-local cache of the versioning registrations.
 *
 * The registrations live in two extension tables, staging.versioned_table
 * and staging.attribute_table (regclass columns, so they survive
 * pg_dump/pg_restore).  Hooks and triggers need to ask "is this relation
 * versioned, and where are its columns?" many times per statement, so the
 * answer is kept in a hash table that is rebuilt lazily after any
 * invalidation that may change it:
 *
 *	- a change of a registry table: its row trigger _registry_changed()
 *	  sends a relcache invalidation for the registry table and for the
 *	  registered relation (the latter also makes cached plans replan);
 *	- a relcache invalidation of a registered relation (RENAME COLUMN, ...)
 *	  or of everything (InvalidOid).
 *
 * The invalidation (hooks.c routes relcache invalidations here) only
 * flips a flag; catalogs are read on the next lookup, inside a transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "staging.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(staging_registry_changed);
PG_FUNCTION_INFO_V1(staging_versioned_kind);

#define MAIN_REGISTRY "versioned_table"
#define ATTRIBUTE_REGISTRY "attribute_table"

static HTAB *registry_hash = NULL;

/*
 * The sequence tables of the registered main tables: the main table of
 * each (several share one only when registered so by hand).
 */
typedef struct SequenceOwner
{
	Oid			seq;			/* hash key: the sequence table */
	Oid			main_relid;
	bool		shared;			/* other main tables have it too */
} SequenceOwner;

static HTAB *sequence_hash = NULL;

static bool registry_valid = false;
static Oid	main_registry_relid = InvalidOid;
static Oid	attribute_registry_relid = InvalidOid;

/*
 * Bumped whenever the cache goes stale: what other modules built from
 * registrations (prepared statements of writes, changelog triggers) is
 * stale when it was built under an older generation.
 */
static uint64 generation = 1;

/*
 * Relcache invalidation (routed by hooks.c): the cache is stale if
 * everything was invalidated, if a registry table changed, or if a
 * registered relation changed.
 */
void
registry_invalidate(Oid relid)
{
	if (!registry_valid)
		return;
	/* (loaded while the registry tables did not exist yet: CREATE EXTENSION) */
	if (relid == InvalidOid ||
		!OidIsValid(main_registry_relid) ||
		!OidIsValid(attribute_registry_relid) ||
		relid == main_registry_relid ||
		relid == attribute_registry_relid ||
		(registry_hash != NULL &&
		 hash_search(registry_hash, &relid, HASH_FIND, NULL) != NULL) ||
		(sequence_hash != NULL &&
		 hash_search(sequence_hash, &relid, HASH_FIND, NULL) != NULL))
	{
		registry_valid = false;
		generation++;
	}
}

/*
 * The generation of the registrations: it changes whenever a registration
 * or a registered relation (its columns, indexes, triggers...) changed.
 */
uint64
registry_generation(void)
{
	return generation;
}

/* May role insert rows into a table (into every column, or some)? */
static bool
may_insert_rows(Oid relid, Oid role)
{
	return object_aclcheck(RelationRelationId, relid, role, ACL_INSERT) == ACLCHECK_OK ||
		pg_attribute_aclcheck_all(relid, role, ACL_INSERT, ACLMASK_ANY) == ACLCHECK_OK;
}

/* Attribute number of a column that must exist, or InvalidAttrNumber. */
static AttrNumber
column_attno(Oid relid, const char *column)
{
	AttrNumber	attno = get_attnum(relid, column);

	return attno > 0 ? attno : InvalidAttrNumber;
}

/*
 * Scan one registry table, calling add() for each row.  Rows whose
 * relation no longer exists are skipped (they are removed by the DROP
 * cleanup, but may be seen by a concurrent snapshot).  The scan reads with
 * a fresh catalog snapshot, as the catalogs the registrations refer to
 * are read: unlike GetLatestSnapshot(), that may be taken in parallel
 * mode, where a parallel worker plans the queries of the PARALLEL SAFE
 * functions it runs.
 */
static void
scan_registry(Oid registry_relid,
			  void (*add) (HeapTuple tuple, TupleDesc desc))
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;

	rel = table_open(registry_relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while ((tuple = systable_getnext(scan)) != NULL)
		add(tuple, RelationGetDescr(rel));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/* Fetch a non-null column of a registry row. */
static Datum
registry_column(HeapTuple tuple, TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		value;

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		value = heap_getattr(tuple, i + 1, desc, &isnull);
		if (isnull)
			elog(ERROR, "staging registry column \"%s\" is null", name);
		return value;
	}
	elog(ERROR, "staging registry has no column \"%s\"", name);
	return (Datum) 0;			/* keep compiler quiet */
}

/* Add a main table's registration to the cache. */
static void
add_main_table(HeapTuple tuple, TupleDesc desc)
{
	Oid			relid = DatumGetObjectId(registry_column(tuple, desc, "relid"));
	Name		entity = DatumGetName(registry_column(tuple, desc, "entity_column"));
	Oid			seq = DatumGetObjectId(registry_column(tuple, desc, "sequence_table"));
	VersionedRel *entry;
	SequenceOwner *owner;
	bool		found;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	owner = hash_search(sequence_hash, &seq, HASH_ENTER, &found);
	if (!found)
	{
		owner->main_relid = relid;
		owner->shared = false;
	}
	else
		owner->shared = true;
	entry = hash_search(registry_hash, &relid, HASH_ENTER, NULL);
	entry->kind = VERSIONED_MAIN;
	entry->main_relid = relid;
	entry->entity_attno = column_attno(relid, NameStr(*entity));
	entry->row_id_attno = column_attno(relid, "row_id");
	entry->row_id_type = entry->row_id_attno != InvalidAttrNumber ?
		get_atttype(relid, entry->row_id_attno) : InvalidOid;
	entry->created_in_attno = column_attno(relid, "created_in");
	entry->updated_in_attno = column_attno(relid, "updated_in");
	entry->sequence_relid = seq;
}

/* Add an attribute table's registration; needs its main table first. */
static void
add_attribute_table(HeapTuple tuple, TupleDesc desc)
{
	Oid			relid = DatumGetObjectId(registry_column(tuple, desc, "relid"));
	Oid			main_relid = DatumGetObjectId(registry_column(tuple, desc, "main_table"));
	VersionedRel *main;
	VersionedRel *entry;

	main = hash_search(registry_hash, &main_relid, HASH_FIND, NULL);
	if (main == NULL || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	entry = hash_search(registry_hash, &relid, HASH_ENTER, NULL);
	entry->kind = VERSIONED_ATTRIBUTE;
	entry->main_relid = main_relid;
	entry->entity_attno = main->entity_attno;
	entry->row_id_attno = column_attno(relid, "row_id");
	entry->row_id_type = entry->row_id_attno != InvalidAttrNumber ?
		get_atttype(relid, entry->row_id_attno) : InvalidOid;
	entry->created_in_attno = InvalidAttrNumber;
	entry->updated_in_attno = InvalidAttrNumber;
	entry->sequence_relid = main->sequence_relid;
}

/* Rebuild the cache from the registry tables. */
static void
registry_load(void)
{
	Oid			schema = staging_schema_oid();

	if (registry_hash != NULL)
		hash_destroy(registry_hash);
	registry_hash = blob_hash_create("staging registry", 64, sizeof(Oid),
									 sizeof(VersionedRel), CacheMemoryContext);
	if (sequence_hash != NULL)
		hash_destroy(sequence_hash);
	sequence_hash = blob_hash_create("staging sequence tables", 64, sizeof(Oid),
									 sizeof(SequenceOwner), CacheMemoryContext);

	main_registry_relid = get_relname_relid(MAIN_REGISTRY, schema);
	attribute_registry_relid = get_relname_relid(ATTRIBUTE_REGISTRY, schema);

	/*
	 * Mark valid first: an invalidation arriving while we scan wins.  While
	 * CREATE EXTENSION has not created both registry tables yet, stay
	 * invalid: their creation sends no invalidation we would notice.
	 */
	registry_valid = OidIsValid(main_registry_relid) &&
		OidIsValid(attribute_registry_relid);
	if (OidIsValid(main_registry_relid))
		scan_registry(main_registry_relid, add_main_table);
	if (OidIsValid(attribute_registry_relid))
		scan_registry(attribute_registry_relid, add_attribute_table);
}

/* Make sure the cache is current; false when the extension is absent. */
static bool
registry_ensure(void)
{
	if (!staging_extension_present())
		return false;
	if (!registry_valid)
		registry_load();
	return true;
}

/*
 * The registration of a relation, or NULL when it is not versioned (or
 * the extension is not created in this database).
 */
const VersionedRel *
registry_lookup(Oid relid)
{
	if (!registry_ensure())
		return NULL;
	return hash_search(registry_hash, &relid, HASH_FIND, NULL);
}

/*
 * Is seq the sequence table of a versioned main table?  The guard of
 * CREATE TRIGGER asks: the extension inserts into sequence tables as
 * their owner, also the ids of entities that exist only in the future.
 */
bool
registry_is_sequence_table(Oid seq)
{
	if (!registry_ensure())
		return false;
	return hash_search(sequence_hash, &seq, HASH_FIND, NULL) != NULL;
}

/*
 * Is seq the sequence table of a versioned main table (*registered) into
 * which role may insert rows (into every column, or some)?  New entity
 * ids are claimed for such roles only (staging._next_entity_id()), read
 * from the cache rather than the registry at each call.
 */
bool
registry_sequence_of_insertable(Oid seq, Oid role, bool *registered)
{
	SequenceOwner *owner;
	HASH_SEQ_STATUS status;
	VersionedRel *entry;
	bool		allowed = false;

	*registered = false;
	if (!registry_ensure())
		return false;
	owner = hash_search(sequence_hash, &seq, HASH_FIND, NULL);
	if (owner == NULL)
		return false;
	*registered = true;
	if (!owner->shared)
		return may_insert_rows(owner->main_relid, role);
	hash_seq_init(&status, registry_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->kind == VERSIONED_MAIN && entry->sequence_relid == seq &&
			may_insert_rows(entry->relid, role))
		{
			allowed = true;
			hash_seq_term(&status);
			break;
		}
	}
	return allowed;
}

/*
 * A valid btree index of a versioned main table whose first column is
 * row_id, to find a version row by row_id (the attribute filter and the
 * changelog triggers of attribute tables); 55000 when there is none.
 */
Oid
registry_row_id_index(Relation rel, AttrNumber row_id_attno)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		if (index->rd_index->indkey.values[0] == row_id_attno &&
			index->rd_rel->relam == BTREE_AM_OID &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			index->rd_index->indisvalid)
			result = RelationGetRelid(index);
		index_close(index, AccessShareLock);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);
	if (!OidIsValid(result))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("versioned table %s has no btree index on row_id",
						RelationGetRelationName(rel)),
				 errhint("Create one (row_id is its primary key after staging.enable_versioning).")));
	return result;
}

/*
 * Is any relation of this database versioned?  Hooks that walk a whole
 * query to find versioned tables skip the walk when none is.
 */
bool
registry_any(void)
{
	return registry_ensure() && hash_get_num_entries(registry_hash) > 0;
}

/*
 * Send a relcache invalidation for a relation if it still exists (it is
 * gone when its registration is removed by the DROP TABLE cleanup).
 */
static void
invalidate_relation(Oid relid)
{
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		CacheInvalidateRelcacheByRelid(relid);
}

/*
 * Row trigger on the registry tables: tell every backend (and the plan
 * cache) that the registration of a relation changed, however it was
 * changed (helper functions, pg_restore, or by hand), and give a newly
 * registered table the access method "staging", an unregistered one heap
 * again (table_am.c; the BEFORE trigger _registry_guard checked that the
 * writer owns the table).
 */
Datum
staging_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	Oid			old_relid = InvalidOid;
	Oid			new_relid = InvalidOid;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		RelationGetNamespace(trigdata->tg_relation) != staging_schema_oid())
		elog(ERROR, "staging._registry_changed() must be an AFTER ROW trigger of a registry table");

	desc = RelationGetDescr(trigdata->tg_relation);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		new_relid = DatumGetObjectId(registry_column(trigdata->tg_trigtuple, desc, "relid"));
	else
	{
		old_relid = DatumGetObjectId(registry_column(trigdata->tg_trigtuple, desc, "relid"));
		if (trigdata->tg_newtuple != NULL)
			new_relid = DatumGetObjectId(registry_column(trigdata->tg_newtuple, desc, "relid"));
	}
	if (OidIsValid(old_relid))
		invalidate_relation(old_relid);
	if (OidIsValid(new_relid))
		invalidate_relation(new_relid);
	if (OidIsValid(old_relid) && old_relid != new_relid)
		table_am_set(old_relid, false);
	if (OidIsValid(new_relid) && old_relid != new_relid)
		table_am_set(new_relid, true);
	return PointerGetDatum(NULL);
}

/* SQL: staging.versioned_kind(regclass) -> 'main', 'attribute' or NULL. */
Datum
staging_versioned_kind(PG_FUNCTION_ARGS)
{
	const VersionedRel *entry = registry_lookup(PG_GETARG_OID(0));

	if (entry == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(entry->kind == VERSIONED_MAIN ?
									 "main" : "attribute"));
}
