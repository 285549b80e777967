/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The differences between the PostgreSQL major versions staging
 *	  supports (15, 16, 17 and 18), in one place.
 *
 * Each difference is written once, in the spelling of the newest version,
 * with a definition for the older ones behind PG_VERSION_NUM, so that the
 * modules read like code for the current release.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STAGING_COMPAT_H
#define STAGING_COMPAT_H

#include "postgres.h"

#include "access/genam.h"
#include "catalog/dependency.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_extension_d.h"
#include "catalog/pg_namespace_d.h"
#include "catalog/pg_proc_d.h"
#include "optimizer/prep.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "staging supports PostgreSQL 15 to 18"
#endif

/*
 * 16 replaced the per-class ownership and ACL checks by object_ownercheck()
 * and object_aclcheck().  15 gets them for the classes staging checks.
 */
#if PG_VERSION_NUM < 160000
static inline bool
object_ownercheck(Oid classid, Oid objectid, Oid roleid)
{
	switch (classid)
	{
		case RelationRelationId:
			return pg_class_ownercheck(objectid, roleid);
		case NamespaceRelationId:
			return pg_namespace_ownercheck(objectid, roleid);
		case ProcedureRelationId:
			return pg_proc_ownercheck(objectid, roleid);
		case ExtensionRelationId:
			return pg_extension_ownercheck(objectid, roleid);
		default:
			elog(ERROR, "staging: no ownership check for catalog %u", classid);
	}
	return false;				/* keep compiler quiet */
}

static inline AclResult
object_aclcheck(Oid classid, Oid objectid, Oid roleid, AclMode mode)
{
	switch (classid)
	{
		case RelationRelationId:
			return pg_class_aclcheck(objectid, roleid, mode);
		case NamespaceRelationId:
			return pg_namespace_aclcheck(objectid, roleid, mode);
		case ProcedureRelationId:
			return pg_proc_aclcheck(objectid, roleid, mode);
		default:
			elog(ERROR, "staging: no privilege check for catalog %u", classid);
	}
	return ACLCHECK_NO_PRIV;	/* keep compiler quiet */
}
#endif

/*
 * Since 16 the extra value of a GUC check hook, and a new value it puts
 * in place of the one given, must come from guc_malloc (the GUC machinery
 * frees them with guc_free); 15 uses malloc and free.
 */
#if PG_VERSION_NUM >= 160000
#define compat_guc_malloc(size) guc_malloc(LOG, (size))
#define compat_guc_free(ptr) guc_free(ptr)
#else
#define compat_guc_malloc(size) malloc(size)
#define compat_guc_free(ptr) free(ptr)
#endif

/*
 * 16 split get_relids_in_jointree()'s include_joins into outer and inner
 * joins; the base relations of a join tree are asked for the same way.
 */
#if PG_VERSION_NUM >= 160000
#define compat_jointree_base_relids(jtnode) get_relids_in_jointree((jtnode), false, false)
#else
#define compat_jointree_base_relids(jtnode) get_relids_in_jointree((jtnode), false)
#endif

/* 16 gave DecodeDateTime() an argument for the details of its errors. */
static inline int
compat_decode_datetime(char **field, int *ftype, int nf, int *dtype,
					   struct pg_tm *tm, fsec_t *fsec, int *tzp)
{
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra;

	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp, &extra);
#else
	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp);
#endif
}

/* 17 moved the local transaction id of a backend into MyProc->vxid. */
#if PG_VERSION_NUM >= 170000
#define MyLocalTransactionId (MyProc->vxid.lxid)
#else
#define MyLocalTransactionId (MyProc->lxid)
#endif

/* 17: getIdentitySequence() takes the relation instead of its OID. */
#if PG_VERSION_NUM >= 170000
#define compat_identity_sequence(rel, attnum) \
	getIdentitySequence((rel), (attnum), false)
#else
#define compat_identity_sequence(rel, attnum) \
	getIdentitySequence(RelationGetRelid(rel), (attnum), false)
#endif

/* 18: index_beginscan() takes instrumentation (NULL: none). */
#if PG_VERSION_NUM >= 180000
#define compat_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define compat_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * 18: RelationGetPrimaryKeyIndex() skips deferrable primary keys unless
 * asked; staging's own tables have immediate ones.
 */
#if PG_VERSION_NUM >= 180000
#define compat_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define compat_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/* 18 dropped ExecutorRun()'s execute_once. */
#if PG_VERSION_NUM >= 180000
#define COMPAT_EXECUTE_ONCE_PARAM
#define COMPAT_EXECUTE_ONCE_ARG
#else
#define COMPAT_EXECUTE_ONCE_PARAM , bool execute_once
#define COMPAT_EXECUTE_ONCE_ARG , execute_once
#endif

#endif							/* STAGING_COMPAT_H */
