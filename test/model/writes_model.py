#!/usr/bin/python3
"""Model-based randomized test of staging's versioned writes.

A reference model of the documented write semantics (README, "Updates
(campaigns) and writing"), written from the documentation and not from the
code, is run side by side with the extension on seeded random sequences of
operations: campaigns (temporary and permanent), edits, inserts and deletes
of entities and attribute rows at the live version and at updates'
versions (one entity per statement, or every entity or attribute row in
one statement; by UPDATE, INSERT, DELETE, MERGE and COPY FROM; setting a
column to the value it has), writes undone (ROLLBACK, or ROLLBACK TO
SAVEPOINT and COMMIT), writes where no update starts (an update's
end, a second after its start), reschedules, deleted updates and
go-lives (to an update's start or end).  After every step the visible
data of both are compared at every interesting version, along with the
SQLSTATE of each statement and the row counts of writes.  A failing
sequence is shrunk to a shortest repro.

The model:
  * every write records, per entity and field (column a, column b, the
    entity's existence, each attribute row by its key), the position (the
    live version, or the start of the update it belongs to, which moves
    with the update), the owner (the update, or 'live'), a sequence number
    and the value;
  * a live write to a field that a temporary update now live had set is
    that update's write (it corrects the update and ends with it);
  * the value of a field at version v is that of the last write (by
    position, then sequence) at or before v, leaving out the writes of
    temporary updates that ended at or before v;
  * an INSERT sets the existence, both columns, and every attribute key
    (absent): a new entity has no attribute rows; a DELETE sets the
    existence;
  * two temporary updates that set fields of one entity may not overlap in
    time (23P01).

Usage: writes_model.py [--scenarios [NAME...]] [--seeds N] [--first S]
                       [--steps K] [--verbose]
  --scenarios runs the named fixed scenarios (reported lost-edit cases, A1 to
  G; all of them when no name follows) before the seeds; --seeds 0 runs
  only them.
Connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE).
Prints "N passed, N failed" (one per sequence) and the shrunk repro of the
first failure.
"""
import argparse
import io
import random
import sys
import time

import psycopg2
import psycopg2.errors

MAXV = 9223372036854775807
DAY = 86400
ENTITIES = [1, 2, 3, 4, 5]
KEYS = [1, 2, 3]

SETUP = """
DROP TABLE IF EXISTS ta, t, sequence_t CASCADE;
DELETE FROM staging.updates;
UPDATE staging.live_state SET version = 1;
CREATE TABLE t(entity_id int PRIMARY KEY, a int, b int);
CREATE TABLE ta(value_id serial PRIMARY KEY,
                entity_id int NOT NULL REFERENCES t(entity_id),
                attribute_id int NOT NULL, value int,
                UNIQUE (entity_id, attribute_id));
INSERT INTO t VALUES (1,101,102),(2,201,202),(3,301,302);
INSERT INTO ta(entity_id, attribute_id, value) VALUES (1,1,111),(1,2,112),(2,1,211);
SELECT staging.enable_versioning('t');
SELECT staging.add_attribute_table('ta', 't');
"""


class Model:
    """The documented semantics, as state and rules."""

    def __init__(self):
        self.live = 1
        self.updates = {}        # id -> end (None: permanent)
        self.writes = []         # [entity, field, position, owner, seq, value]
        self.seq = 0
        init = {1: (101, 102, {1: 111, 2: 112}), 2: (201, 202, {1: 211}),
                3: (301, 302, {})}
        for e in ENTITIES:
            if e in init:
                a, b, attrs = init[e]
                self._write(e, 'exists', 1, 'live', True)
                self._write(e, 'a', 1, 'live', a)
                self._write(e, 'b', 1, 'live', b)
                for k in KEYS:
                    self._write(e, ('attr', k), 1, 'live', attrs.get(k))
            else:
                self._write(e, 'exists', 1, 'live', False)

    def _write(self, entity, field, position, owner, value):
        self.seq += 1
        self.writes.append([entity, field, position, owner, self.seq, value])

    def excluded(self, w, v):
        owner = w[3]
        return owner != 'live' and self.updates.get(owner) is not None \
            and self.updates[owner] <= v

    def value(self, entity, field, v):
        best = None
        for w in self.writes:
            if w[0] == entity and w[1] == field and w[2] <= v \
                    and not self.excluded(w, v):
                if best is None or (w[2], w[4]) > (best[2], best[4]):
                    best = w
        return None if best is None else best[5]

    def visible(self, v):
        """(rows, attribute rows) visible at version v."""
        rows, attrs = set(), set()
        for e in ENTITIES:
            if self.value(e, 'exists', v):
                rows.add((e, self.value(e, 'a', v), self.value(e, 'b', v)))
                for k in KEYS:
                    val = self.value(e, ('attr', k), v)
                    if val is not None:
                        attrs.add((e, k, val))
        return rows, attrs

    def running_temporary(self):
        """Temporary updates now live."""
        return [u for u, end in self.updates.items()
                if end is not None and u <= self.live < end]

    def fields_set(self, owner, entity):
        return {w[1] for w in self.writes if w[3] == owner and w[0] == entity}

    def overlaps(self, u, start, end, entity):
        """Another temporary update overlapping [start, end) that set a field
        of entity, when u is temporary."""
        if end is None:
            return None
        for o, oend in self.updates.items():
            if o == u or oend is None:
                continue
            if o < end and start < oend and self.fields_set(o, entity):
                return o
        return None

    # --- writes: return (sqlstate or None, rowcount) ---
    def write(self, version, entity, sets):
        """sets: {field: value}; version: the session version."""
        if version < self.live:
            return '25006', 0
        if version > self.live and version not in self.updates:
            return '55000', 0
        if version == self.live:
            running = self.running_temporary()
            for field, value in sets.items():
                owner = 'live'
                for t in running:
                    if field in self.fields_set(t, entity):
                        owner = t
                self._write(entity, field, self.live, owner, value)
            return None, 1
        u = version
        if self.overlaps(u, u, self.updates[u], entity):
            return '23P01', 0
        for field, value in sets.items():
            self._write(entity, field, u, u, value)
        return None, 1

    def schedule_ok(self, start, end, ignore=None):
        taken = set()
        for u, e in self.updates.items():
            if u == ignore:
                continue
            taken.add(u)
            if e is not None:
                taken.add(e)
        if start in taken or (end is not None and end in taken):
            return False
        return end is None or end > start

    def create(self, start, end, now):
        if start <= max(self.live, now) or not self.schedule_ok(start, end):
            return '22023', None
        self.updates[start] = end
        return None, start

    def reschedule(self, u, start, end, now):
        if u not in self.updates:
            return '22023', None
        if u <= self.live:          # went live: only the end may change
            if start != u:
                return '55000', None
            old_end = self.updates[u]
            if old_end is not None and old_end <= self.live:
                return '55000', None
            if end is not None and end <= max(self.live, now):
                return '22023', None
        elif start <= max(self.live, now):
            return '22023', None
        if not self.schedule_ok(start, end, ignore=u):
            return '22023', None
        entities = {w[0] for w in self.writes if w[3] == u}
        for e in entities:
            if self.overlaps(u, start, end, e):
                return '23P01', None
        del self.updates[u]
        self.updates[start] = end
        for w in self.writes:
            if w[3] == u:
                if w[2] == u:
                    w[2] = start
                w[3] = start
        return None, start

    def delete(self, u):
        if u not in self.updates:
            return '22023'
        if u <= self.live:
            return '55000'
        del self.updates[u]
        self.writes = [w for w in self.writes if w[3] != u]
        return None

    def advance(self, until):
        points = [p for u, e in self.updates.items() for p in (u, e)
                  if p is not None and p <= until]
        self.live = max([self.live] + points)
        return self.live


class Database:
    def __init__(self, conn):
        self.conn = conn
        conn.autocommit = True
        self.cur = conn.cursor()

    def run(self, sql, args=None):
        """(sqlstate or None, rowcount, rows)"""
        try:
            self.cur.execute(sql, args)
            rows = self.cur.fetchall() if self.cur.description else []
            return None, self.cur.rowcount, rows
        except psycopg2.Error as e:
            return e.pgcode, 0, []

    def at(self, version, sql, args=None):
        self.run("SELECT set_config('staging.version', %s, false)", (str(version),))
        return self.run(sql, args)

    def copy_at(self, version, data):
        """COPY t(entity_id, a, b) FROM STDIN at a version: (sqlstate
        or None, rowcount)"""
        self.run("SELECT set_config('staging.version', %s, false)", (str(version),))
        try:
            self.cur.copy_expert("COPY t(entity_id, a, b) FROM STDIN", io.StringIO(data))
            return None, self.cur.rowcount
        except psycopg2.Error as e:
            return e.pgcode, 0

    def visible(self, v):
        _, _, rows = self.at(v, "SELECT entity_id, a, b FROM t")
        _, _, attrs = self.at(v, "SELECT t.entity_id, ta.attribute_id, ta.value"
                                 " FROM t JOIN ta USING (row_id)")
        self.run("RESET staging.version")
        return set(rows), set(attrs)


def generate(rng, steps, t0):
    """A random sequence of operations; versions relative to t0 (the run
    adds its own), updates named by their rank when the step runs."""
    ops = []
    for _ in range(steps):
        r = rng.random()
        if r < 0.2:
            start = t0 + rng.randint(1, 12) * DAY + rng.choice([0, 3600])
            end = None if rng.random() < 0.5 else start + rng.randint(1, 5) * DAY
            ops.append(('create', start, end))
        elif r < 0.77:
            which = 0 if rng.random() < 0.4 else rng.randint(1, 9)
            kind = rng.choice(['update_a', 'update_b', 'insert', 'delete',
                               'attr_update', 'attr_insert', 'attr_delete',
                               'attr_update_all', 'attr_insert_all',
                               'update_ab', 'update_same', 'update_all',
                               'merge', 'copy', 'attr_delete_all', 'attr_same'])
            ops.append(('write', which, kind, rng.choice(ENTITIES),
                        rng.choice(KEYS), rng.randint(1000, 1999)))
        elif r < 0.79:
            # a write where no update starts (55000): an update's start
            # plus a second, or its end
            ops.append(('write_off', rng.randint(1, 9), rng.choice(['update_a', 'insert']),
                        rng.choice(ENTITIES), rng.randint(1000, 1999)))
        elif r < 0.82:
            # a write undone: rolled back, or to a savepoint (then the
            # transaction commits)
            which = 0 if rng.random() < 0.4 else rng.randint(1, 9)
            kind = rng.choice(['update_a', 'insert', 'delete', 'attr_update',
                               'attr_insert', 'attr_delete', 'update_all'])
            ops.append(('undone', which, kind, rng.choice(ENTITIES), rng.choice(KEYS),
                        rng.randint(1000, 1999), rng.choice(['rollback', 'savepoint'])))
        elif r < 0.87:
            ops.append(('reschedule', rng.randint(0, 9), rng.randint(-2, 12),
                        rng.choice([None, 1, 2, 4])))
        elif r < 0.92:
            ops.append(('delete_update', rng.randint(0, 9)))
        else:
            ops.append(('advance', rng.randint(0, 9), rng.choice([0, 1, 3600, 'end'])))
    return ops


WRITES = {
    'update_a': ("UPDATE t SET a = %(x)s WHERE entity_id = %(e)s", lambda x: {'a': x}),
    'update_b': ("UPDATE t SET b = %(x)s WHERE entity_id = %(e)s", lambda x: {'b': x}),
    'insert': ("INSERT INTO t(entity_id, a, b) VALUES (%(e)s, %(x)s, %(x)s + 1)", None),
    'delete': ("DELETE FROM t WHERE entity_id = %(e)s", None),
    'attr_update': ("UPDATE ta SET value = %(x)s FROM t WHERE ta.row_id = t.row_id"
                    " AND t.entity_id = %(e)s AND ta.attribute_id = %(k)s", None),
    'attr_insert': ("INSERT INTO ta(row_id, attribute_id, value) SELECT row_id, %(k)s, %(x)s"
                    " FROM t WHERE entity_id = %(e)s", None),
    'attr_delete': ("DELETE FROM ta USING t WHERE ta.row_id = t.row_id"
                    " AND t.entity_id = %(e)s AND ta.attribute_id = %(k)s", None),
    # one statement for every attribute row of every entity (several rows
    # per product: the triggers' per-statement caches)
    'update_ab': ("UPDATE t SET a = %(x)s, b = %(x)s + 2 WHERE entity_id = %(e)s",
                  lambda x: {'a': x, 'b': x + 2}),
    # setting a column to the value it has still sets it
    'update_same': ("UPDATE t SET a = a WHERE entity_id = %(e)s", None),
    # one statement for every entity
    'attr_same': ("UPDATE ta SET value = value FROM t WHERE ta.row_id = t.row_id"
                  " AND t.entity_id = %(e)s AND ta.attribute_id = %(k)s", None),
    'update_all': ("UPDATE t SET b = %(x)s + entity_id", None),
    'merge': ("MERGE INTO t USING (VALUES (%(e)s)) s(e) ON t.entity_id = s.e"
              " WHEN MATCHED THEN UPDATE SET a = %(x)s"
              " WHEN NOT MATCHED THEN INSERT (entity_id, a, b) VALUES (s.e, %(x)s, %(x)s + 1)", None),
    'copy': ("COPY t(entity_id, a, b) FROM STDIN", None),
    'attr_delete_all': ("DELETE FROM ta USING t WHERE ta.row_id = t.row_id"
                        " AND ta.attribute_id = %(k)s", None),
    'attr_update_all': ("UPDATE ta SET value = %(x)s + t.entity_id * 10 + ta.attribute_id FROM t"
                        " WHERE ta.row_id = t.row_id", None),
    'attr_insert_all': ("INSERT INTO ta(row_id, attribute_id, value)"
                        " SELECT t.row_id, k.k, %(x)s + t.entity_id * 10 + k.k"
                        " FROM t, (VALUES (1), (2), (3)) k(k) WHERE NOT EXISTS"
                        " (SELECT FROM ta x WHERE x.row_id = t.row_id AND x.attribute_id = k.k)"
                        " ORDER BY t.entity_id, k.k", None),
}


def pick(model, i):
    """The i-th update (by start), or None."""
    ids = sorted(model.updates)
    return ids[i % len(ids)] if ids else None


def model_write(model, version, kind, e, k, x):
    """The model's outcome of a write statement: (sqlstate, rowcount)."""
    v = version
    if v < model.live:
        return '25006', 0
    if v > model.live and v not in model.updates:
        return '55000', 0
    if kind in ('attr_update_all', 'attr_insert_all'):
        # every attribute row visible at v (update), or every one missing
        # (insert); the statement fails as a whole on an overlap
        targets = {}
        for ent in ENTITIES:
            if model.value(ent, 'exists', v):
                keys = [key for key in KEYS if (model.value(ent, ('attr', key), v) is not None)
                        == (kind == 'attr_update_all')]
                if keys:
                    targets[ent] = keys
        if v != model.live and any(model.overlaps(v, v, model.updates[v], ent)
                                   for ent in targets):
            return '23P01', 0
        for ent, keys in targets.items():
            model.write(v, ent, {('attr', key): x + ent * 10 + key for key in keys})
        return None, sum(len(keys) for keys in targets.values())
    if kind in ('update_all', 'attr_delete_all'):
        # every visible entity (with the attribute row); fails as a whole
        # on an overlap
        if kind == 'update_all':
            targets = {ent: {'b': x + ent} for ent in ENTITIES
                       if model.value(ent, 'exists', v)}
        else:
            targets = {ent: {('attr', k): None} for ent in ENTITIES
                       if model.value(ent, 'exists', v)
                       and model.value(ent, ('attr', k), v) is not None}
        if v != model.live and any(model.overlaps(v, v, model.updates[v], ent)
                                   for ent in targets):
            return '23P01', 0
        for ent, sets in targets.items():
            model.write(v, ent, sets)
        return None, len(targets)
    exists = model.value(e, 'exists', v)
    attr = model.value(e, ('attr', k), v) if exists else None
    if kind == 'merge':
        kind = 'update_a' if exists else 'insert'
    if kind == 'copy':
        kind = 'insert'
    if kind == 'update_same':
        if not exists:
            return None, 0
        return model.write(v, e, {'a': model.value(e, 'a', v)})
    if kind == 'attr_same':
        if attr is None:
            return None, 0
        return model.write(v, e, {('attr', k): attr})
    if kind in ('update_a', 'update_b', 'update_ab'):
        if not exists:
            return None, 0
        return model.write(v, e, WRITES[kind][1](x))
    if kind == 'insert':
        if exists:
            return '23P01', 0
        sets = {'exists': True, 'a': x, 'b': x + 1}
        for key in KEYS:
            sets[('attr', key)] = None
        return model.write(v, e, sets)
    if kind == 'delete':
        if not exists:
            return None, 0
        return model.write(v, e, {'exists': False})
    if kind == 'attr_update':
        if attr is None:
            return None, 0
        return model.write(v, e, {('attr', k): x})
    if kind == 'attr_insert':
        if not exists:
            return None, 0
        if attr is not None:
            # Refused twice over: an update overlapping a temporary update
            # that set the entity reports the overlap first (23P01).
            if v != model.live and model.overlaps(v, v, model.updates[v], e):
                return '23P01', 0
            return '23505', 0
        return model.write(v, e, {('attr', k): x})
    if kind == 'attr_delete':
        if attr is None:
            return None, 0
        return model.write(v, e, {('attr', k): None})
    raise ValueError(kind)


def probes(model, t0):
    points = {1, model.live, max(1, model.live - 1), MAXV - 1}
    for u, e in model.updates.items():
        for p in (u, e):
            if p is not None:
                points.update({p - 1, p, p + 1})
    return sorted(points)


def run_sequence(db, ops, verbose=False, observer=None):
    """Run ops against the model and the database; None when they agree,
    else a description of the first divergence (with the step index).
    An observer (changelog_model.py) extends the check: setup(db) after
    the tables are made, before(db, model, op) ahead of each operation,
    after(db, model, op, desc) once the operation's result and the visible
    data agree (a description of a divergence, or None), finish(db, model)
    at the end (likewise); run_op(db, model, op) runs an operation of its
    own and returns its description (None: skipped); probes(model, t0)
    gives the versions where the visible data are compared."""
    if observer is not None:
        observer.teardown(db)
    db.run(SETUP)
    t0 = int(time.time()) + 120
    model = Model()
    row_ids = {}
    if observer is not None:
        observer.setup(db)
    for i, op in enumerate(ops):
        now = int(time.time())
        if observer is not None:
            observer.before(db, model, op)
        if op[0] == 'create':
            start = op[1] + t0
            end = None if op[2] is None else op[2] + t0
            exp, _ = model.create(start, end, now)
            st, _, _ = db.run("SELECT staging.create_update('u', staging.to_timestamp(%s),"
                              " staging.to_timestamp(%s))", (start, end))
            desc = f"create_update(start={start}, end={end})"
            got = st
        elif op[0] == 'write_off':
            # a write at a future version where no update starts: refused
            _, which, kind, e, x = op
            u = pick(model, which)
            if u is None:
                continue
            end = model.updates[u]
            v = end if end is not None and which % 2 else u + 1
            if v < model.live:
                exp = '25006'
            elif v == model.live or v in model.updates:
                continue
            else:
                exp = '55000'
            sql = WRITES[kind][0]
            args = {'e': e, 'k': 1, 'x': x}
            st, _, _ = db.at(v, sql, args)
            db.run("RESET staging.version")
            desc = f"at {v}: {db.cur.mogrify(sql, args).decode()}"
            got = st
        elif op[0] == 'undone':
            # the same write in a transaction that undoes it: nothing
            # changes, in the model or in the database
            _, which, kind, e, k, x, mode = op
            v = model.live if which == 0 or not model.updates else pick(model, which)
            sql = WRITES[kind][0]
            args = {'e': e, 'k': k, 'x': x}
            db.run("BEGIN")
            if mode == 'savepoint':
                db.run("SAVEPOINT s")
            db.at(v, sql, args)
            db.run("ROLLBACK TO SAVEPOINT s" if mode == 'savepoint' else "ROLLBACK")
            if mode == 'savepoint':
                db.run("COMMIT")
            db.run("RESET staging.version")
            desc = f"at {v}, undone ({mode}): {db.cur.mogrify(sql, args).decode()}"
            exp = got = None
        elif op[0] in ('write', 'write_at'):
            _, which, kind, e, k, x = op
            if op[0] == 'write_at':
                v = model.live if which is None else t0 + which
            elif which == 0 or not model.updates:
                v = model.live
            else:
                v = pick(model, which)
            sql = WRITES[kind][0]
            args = {'e': e, 'k': k, 'x': x}
            exp, exp_rows = model_write(model, v, kind, e, k, x)
            if kind == 'copy':
                st, rows = db.copy_at(v, f"{e}\t{x}\t{x + 1}\n")
            else:
                st, rows, _ = db.at(v, sql, args)
            db.run("RESET staging.version")
            desc = f"at {v}: {db.cur.mogrify(sql, args).decode()}"
            got = st
            if st is None and exp is None and rows != exp_rows:
                return i, f"{desc}: {rows} rows, model {exp_rows}"
        elif op[0] in ('reschedule', 'reschedule_at'):
            if op[0] == 'reschedule_at':
                _, at, new_start, new_end = op
                u = t0 + at
                start = u if new_start is None else t0 + new_start
                end = None if new_end is None else t0 + new_end
            else:
                _, which, shift, dur = op
                u = pick(model, which)
                if u is None:
                    continue
                start = u if shift <= 0 else t0 + shift * DAY + 1800
                end = None if dur is None else max(start, model.live) + dur * DAY
            exp, _ = model.reschedule(u, start, end, now)
            st, _, _ = db.run("SELECT staging.reschedule_update(%s, staging.to_timestamp(%s),"
                              " staging.to_timestamp(%s))", (u, start, end))
            desc = f"reschedule_update({u}, {start}, {end})"
            got = st
        elif op[0] in ('delete_update', 'delete_at'):
            u = t0 + op[1] if op[0] == 'delete_at' else pick(model, op[1])
            if u is None:
                continue
            exp = model.delete(u)
            st, _, _ = db.run("SELECT staging.delete_update(%s)", (u,))
            desc = f"delete_update({u})"
            got = st
        elif op[0] in ('advance', 'advance_to'):
            if op[0] == 'advance_to':
                until = t0 + op[1]
            else:
                u = pick(model, op[1])
                if u is None:
                    continue
                if op[2] == 'end':
                    if model.updates[u] is None:
                        continue
                    until = model.updates[u]
                else:
                    until = u + op[2]
            exp = None
            new_live = model.advance(until)
            st, _, rows = db.run("SELECT staging.advance(staging.to_timestamp(%s))", (until,))
            desc = f"advance({until})"
            got = st
            if st is None and rows[0][0] != new_live:
                return i, f"{desc}: live version {rows[0][0]}, model {new_live}"
        elif op[0] == 'expect':
            # A scenario's stated expectation: the rows a query returns at
            # a version (None: live), whatever the model says.
            _, at, sql, want = op
            v = model.live if at is None else t0 + at
            st, _, rows = db.at(v, sql)
            db.run("RESET staging.version")
            if st is not None or sorted(rows) != sorted(want):
                return i, f"at {v}: {sql}: {st or sorted(rows)}, expected {sorted(want)}"
            continue
        elif op[0] == 'keeps_row_id':
            # The live row of an entity keeps its row_id (recorded at the
            # first check, compared at the next ones).
            _, e = op
            st, _, rows = db.at(model.live, "SELECT row_id FROM t WHERE entity_id = %s", (e,))
            db.run("RESET staging.version")
            if e not in row_ids:
                row_ids[e] = rows
            elif rows != row_ids[e]:
                return i, f"live row_id of entity {e}: {rows}, was {row_ids[e]}"
            continue
        elif observer is not None:
            # an operation of the observer's own (a write of another table)
            desc = observer.run_op(db, model, op)
            if desc is None:
                continue
            exp = got = None
        else:
            raise ValueError(op[0])
        if verbose:
            print(f"  {i}: {desc} -> {got} (model {exp})")
        if got != exp:
            return i, f"{desc}: SQLSTATE {got}, model {exp}"
        st, _, rows = db.run("SELECT count(*) FROM staging.verify('t')")
        if st is not None or rows[0][0] != 0:
            return i, f"after {desc}: staging.verify reports problems ({st}, {rows})"
        for v in (probes if observer is None else observer.probes)(model, t0):
            want = model.visible(v)
            have = db.visible(v)
            if want != have:
                return i, (f"after {desc}: at version {v}\n"
                           f"      rows {sorted(have[0])}, model {sorted(want[0])}\n"
                           f"      attributes {sorted(have[1])}, model {sorted(want[1])}")
        if observer is not None:
            f = observer.after(db, model, op, desc)
            if f is not None:
                return i, f
    if observer is not None:
        f = observer.finish(db, model)
        if f is not None:
            return len(ops), f
    return None


# Reported lost-edit cases, as fixed scenarios: versions are offsets from t0
# (the start of the run plus 120 s); each ends with the expected
# result ('expect'), and every step is also compared with the model.
D = DAY
ROWS = "SELECT entity_id, a, b FROM t"
ATTRS = "SELECT t.entity_id, ta.attribute_id, ta.value FROM t JOIN ta USING (row_id)"
SCENARIOS = {
    # A live edit while the live version is an update's start is not that
    # update's change: giving the update an end keeps it.
    'A1': [('create', 5 * D, None), ('advance_to', 5 * D + 3600),
           ('write_at', None, 'update_b', 2, 1, 1021),
           ('write_at', None, 'insert', 4, 1, 401),
           ('reschedule_at', 5 * D, None, 8 * D),
           ('expect', 8 * D, ROWS + " WHERE entity_id IN (2, 4)",
            [(2, 201, 1021), (4, 401, 402)])],
    # A live edit during a running temporary sale does not make the entity
    # part of the sale: a later update may edit it.
    'A2': [('create', 1 * D, 6 * D), ('advance_to', 1 * D + 3600),
           ('create', 3 * D, None),
           ('write_at', None, 'update_b', 2, 1, 1031),
           ('write_at', 3 * D, 'update_a', 2, 1, 1041),
           ('expect', 3 * D, ROWS + " WHERE entity_id = 2", [(2, 1041, 1031)])],
    # A live edit's row does not stop a running update from getting an end.
    'A3': [('create', 7 * D, None), ('create', 8 * D, 9 * D),
           ('write_at', 7 * D, 'update_b', 3, 1, 1021),
           ('advance_to', 9 * D + 3600),
           ('write_at', None, 'update_a', 3, 1, 1050),
           ('reschedule_at', 7 * D, None, 9 * D + 21600),
           ('expect', 9 * D + 21600, ROWS + " WHERE entity_id = 3", [(3, 1050, 302)])],
    # A live INSERT made before a temporary update outlives it.
    'B': [('create', 4 * D, 9 * D),
          ('write_at', None, 'delete', 2, 1, 0),
          ('write_at', 4 * D, 'insert', 2, 1, 1020),
          ('write_at', None, 'insert', 2, 1, 1030),
          ('expect', 9 * D, ROWS + " WHERE entity_id = 2", [(2, 1030, 1031)])],
    # A temporary update made permanent: its change reaches a later update
    # that did not set that column.
    'C1': [('create', 2 * D, 4 * D), ('create', 6 * D, None),
           ('write_at', 2 * D, 'update_a', 1, 1, 555),
           ('write_at', 6 * D, 'update_b', 1, 1, 666),
           ('reschedule_at', 2 * D, None, None),
           ('expect', 6 * D, ROWS + " WHERE entity_id = 1", [(1, 555, 666)])],
    # A permanent update made temporary: what it merged into a later update
    # goes when it ends.
    'C2': [('create', 7 * D, None), ('create', 2 * D, None),
           ('write_at', 2 * D, 'update_a', 1, 1, 1028),
           ('write_at', 7 * D, 'update_b', 1, 1, 1031),
           ('reschedule_at', 2 * D, None, 6 * D),
           ('expect', 7 * D, ROWS + " WHERE entity_id = 1", [(1, 101, 1031)])],
    # delete_update removes what the update merged into later updates.
    'D': [('create', 7 * D, 9 * D), ('create', 5 * D, None),
          ('write_at', 5 * D, 'update_b', 2, 1, 777),
          ('write_at', 7 * D, 'update_a', 2, 1, 888),
          ('delete_at', 5 * D),
          ('expect', 7 * D, ROWS + " WHERE entity_id = 2", [(2, 888, 202)])],
    # Inserted and deleted attribute rows flow into later versions.
    'E': [('create', 8 * D, 9 * D),
          ('write_at', 8 * D, 'update_b', 1, 1, 1011),
          ('write_at', None, 'attr_delete', 1, 2, 0),
          ('write_at', None, 'attr_insert', 1, 3, 1027),
          ('expect', 8 * D, ATTRS + " WHERE t.entity_id = 1", [(1, 1, 111), (1, 3, 1027)])],
    # The live row keeps its row_id when a future version is first edited.
    'F': [('keeps_row_id', 3), ('create', 5 * D, None),
          ('write_at', 5 * D, 'update_a', 3, 1, 1300),
          ('keeps_row_id', 3),
          ('write_at', None, 'attr_insert', 3, 2, 1302),
          ('expect', None, ATTRS + " WHERE t.entity_id = 3", [(3, 2, 1302)]),
          ('expect', 5 * D, ATTRS + " WHERE t.entity_id = 3", [(3, 2, 1302)])],
    # Setting a field to the value it has still sets it: an update inside
    # a temporary one that sets the sale price to itself keeps it after
    # the sale ends, and an attribute row likewise.
    'G': [('create', 2 * D, 6 * D), ('create', 4 * D, None),
          ('write_at', 2 * D, 'update_a', 1, 1, 555),
          ('write_at', 2 * D, 'attr_update', 1, 2, 1555),
          ('write_at', 4 * D, 'update_same', 1, 1, 0),
          ('write_at', 4 * D, 'attr_same', 1, 2, 0),
          ('expect', 6 * D, ROWS + " WHERE entity_id = 1", [(1, 555, 102)]),
          ('expect', 6 * D, ATTRS + " WHERE t.entity_id = 1", [(1, 1, 111), (1, 2, 1555)])],
}


def shrink(db, ops, observer=None):
    """Drop operations while the sequence still diverges."""
    failure = run_sequence(db, ops, observer=observer)
    i = 0
    while i < len(ops):
        candidate = ops[:i] + ops[i + 1:]
        f = run_sequence(db, candidate, observer=observer)
        if f is not None:
            ops, failure = candidate, f
        else:
            i += 1
    return ops, failure


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--seeds', type=int, default=20)
    p.add_argument('--first', type=int, default=1)
    p.add_argument('--steps', type=int, default=25)
    p.add_argument('--verbose', action='store_true')
    p.add_argument('--scenarios', nargs='*', metavar='NAME',
                   help='run the named scenarios (all when none are named), then the seeds')
    args = p.parse_args()
    db = Database(psycopg2.connect(''))
    passed = failed = 0
    first_failure = None
    if args.scenarios is not None:
        for name in args.scenarios or sorted(SCENARIOS):
            f = run_sequence(db, SCENARIOS[name], verbose=args.verbose)
            if f is None:
                passed += 1
                print(f"scenario {name}: ok")
            else:
                failed += 1
                print(f"scenario {name}: step {f[0]}: {f[1]}")
    for seed in range(args.first, args.first + args.seeds):
        rng = random.Random(seed)
        ops = generate(rng, args.steps, 0)     # versions relative to t0
        f = run_sequence(db, ops, verbose=args.verbose)
        if f is None:
            passed += 1
        else:
            failed += 1
            print(f"seed {seed}: step {f[0]}: {f[1]}")
            if first_failure is None:
                first_failure = (seed, ops)
    if first_failure is not None:
        seed, ops = first_failure
        small, failure = shrink(db, ops)
        print(f"\nshrunk repro of seed {seed} ({len(small)} operations):")
        run_sequence(db, small, verbose=True)
        print(f"  diverges at step {failure[0]}: {failure[1]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
