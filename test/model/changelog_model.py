#!/usr/bin/python3
"""Model-based randomized test of staging's changelogs.

Runs the sequences of writes_model.py (campaigns, writes at the live
version and at updates' versions, writes undone, reschedules, deleted
updates, go-lives, temporary updates ending) with changelogs subscribed to
the tables they write, and checks after every step that the consumers
receive exactly the entities whose data, as a reader sees it at the live
version, changed with that step (README, "Changelogs (for indexers)"):

  cl_all   t and its attribute table ta, every column
  cl_a     t, column a only (a change of b alone is not logged)
  cl_attr  ta only, column value
  cl_ta    ta only, every column
  cl_rel   tr, a plain table with the entity column, every column
  cl_search  t's columns a and b, ta's value and tr's tag

The sequences get writes of tr besides (an INSERT, an UPDATE of tag, to
the same value, of the entity column, a DELETE, a TRUNCATE), at the live
version or while the session reads a future update; and transactions that
roll a live write of t back to a savepoint and then write t again.

The expected set of a step is computed from writes_model's reference model:
the entities whose subscribed data visible at the live version differs
before and after the step (an entity's existence counts for a subscription
of t; for one of ta, the attribute rows of a visible main row, so a main
row with attribute rows appearing or disappearing counts there too).
Logged but unchanged (a false positive) and changed but not logged (a
miss) both fail, except where the README defines a superset: at a
go-live, a subscription without a column list (cl_all, cl_ta) logs every
entity with a version row that starts or ends in (old live version, new
live version] (read from the table at 'all' before the go-live), and that
set must hold every changed entity.

Writes at an update's version that is not live yet change nothing visible:
they are logged when the update goes live, so nothing is expected at write
time; likewise a reschedule or delete_update (only of updates not live
yet, or the end of a running one) expects nothing.

Two consumers read each changelog with staging.next_batch: 'eager'
drains it after every step (batches of 1, 2, 5 or 1000 entities, each
finished with finish_batch, some asked twice to see that an unfinished
batch is returned again unchanged); its entities are the step's logged
set.  'lazy' takes a batch now and then without finishing it (it must be
returned again, same id and entities, until finished) and drains only
every few steps: what it receives must be the union of what 'eager'
received meanwhile.  A step that logged something must send NOTIFY
<name>_cl, one that logged nothing must not.  At the end, once both
consumers finished everything, staging.prune_changelog must leave
<name>_cl empty.

Usage: changelog_model.py [--seeds N] [--first S] [--steps K] [--verbose]
Connects with the libpq environment; prints "N passed, N failed" (one per
sequence) and the shrunk repro of the first failure.
"""
import argparse
import os
import random
import select
import sys
import time

import psycopg2

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import writes_model as wm  # noqa: E402

# name -> (subscriptions [(table, columns or None)], kind of expected set)
CHANGELOGS = {
    'cl_all': ([('t', None), ('ta', None)], 'all'),
    'cl_a': ([('t', ['a'])], 'a'),
    'cl_attr': ([('ta', ['value'])], 'attr'),
    'cl_ta': ([('ta', None)], 'attr'),
    'cl_rel': ([('tr', None)], 'rel'),
    'cl_search': ([('t', ['a', 'b']), ('ta', ['value']), ('tr', ['tag'])], 'search'),
}
KINDS = ('all', 'a', 'attr', 'rel', 'search')

# A plain relation table with the entity column (no foreign key: its
# entities need not exist in t), written at the live version or while the
# session reads a future update (plain tables are always live).
REL_SETUP = """
DROP TABLE IF EXISTS tr;
CREATE TABLE tr(id serial PRIMARY KEY, entity_id int, tag int);
INSERT INTO tr(entity_id, tag) VALUES (1, 10), (1, 11), (2, 20), (4, 40);
"""
REL_INIT = {1: (1, 10), 2: (1, 11), 3: (2, 20), 4: (4, 40)}
REL_FIRST = "(SELECT min(id) FROM tr WHERE entity_id = %(e)s)"
REL_WRITES = {
    'insert': "INSERT INTO tr(entity_id, tag) VALUES (%(e)s, %(x)s)",
    'update_tag': "UPDATE tr SET tag = %(x)s WHERE id = " + REL_FIRST,
    'update_same': "UPDATE tr SET tag = tag WHERE entity_id = %(e)s",
    'move': "UPDATE tr SET entity_id = %(e2)s WHERE id = " + REL_FIRST,
    'delete': "DELETE FROM tr WHERE id = " + REL_FIRST,
    'truncate': "TRUNCATE tr",
}
NO_COLUMN_LIST = {'cl_all', 'cl_ta'}


def state(model, rel, kind, e, v):
    """What a subscription of that kind sees of entity e at version v (rel:
    the rows of tr, id -> (entity, tag))."""
    if kind == 'rel':
        return tuple(sorted(tag for ent, tag in rel.values() if ent == e))
    if kind == 'search':
        return (state(model, rel, 'all', e, v), state(model, rel, 'rel', e, v))
    exists = model.value(e, 'exists', v)
    attrs = frozenset((k, model.value(e, ('attr', k), v)) for k in wm.KEYS
                      if exists and model.value(e, ('attr', k), v) is not None)
    if kind == 'all':
        return (model.value(e, 'a', v), model.value(e, 'b', v), attrs) if exists else None
    if kind == 'a':
        return model.value(e, 'a', v) if exists else None
    return attrs


def snapshot(model, rel):
    """Per changelog kind and entity, what is visible at the live version."""
    return {kind: {e: state(model, rel, kind, e, model.live) for e in wm.ENTITIES}
            for kind in KINDS}


def generate(rng, steps):
    """writes_model's sequence with writes of tr among its operations."""
    ops = []
    for op in wm.generate(rng, steps, 0):
        if rng.random() < 0.25:
            kind = rng.choice(['insert', 'insert', 'update_tag', 'update_tag', 'update_same',
                               'move', 'delete', 'delete', 'truncate'])
            ops.append(('rel', kind, rng.choice(wm.ENTITIES), rng.choice(wm.ENTITIES),
                        rng.randint(100, 999), rng.random() < 0.3))
        elif rng.random() < 0.05:
            ops.append(('savepoint', rng.choice(wm.ENTITIES), rng.choice(wm.ENTITIES),
                        rng.randint(1000, 1999)))
        ops.append(op)
    return ops


def is_advance(op):
    return op[0] in ('advance', 'advance_to')


class Observer:
    """writes_model.run_sequence's observer: makes the changelogs and tr,
    snapshots the model before each step and compares what the consumers
    receive after it (the consumers' batch sizes and the lazy one's
    rhythm come from a generator seeded with the sequence's seed)."""

    def __init__(self, seed=0):
        self.seed = seed
        self.listener = None

    @staticmethod
    def probes(model, t0):
        """The model and the database need to agree at the live version
        only (writes_model.py compares the others)."""
        return [model.live]

    def teardown(self, db):
        db.run("SELECT staging.drop_changelog(name) FROM staging.changelog")

    def setup(self, db):
        self.rng = random.Random(self.seed)
        st, _, _ = db.run(REL_SETUP)
        assert st is None, f"relation table: {st}"
        self.rel = dict(REL_INIT)
        self.next_id = len(REL_INIT) + 1
        for name, (subs, _) in CHANGELOGS.items():
            st, _, _ = db.run("SELECT staging.create_changelog(%s, 't')", (name,))
            assert st is None, f"create_changelog({name}): {st}"
            # create_changelog subscribed t with every column
            if all(tbl != 't' for tbl, _ in subs):
                db.run("SELECT staging.unsubscribe(%s, 't')", (name,))
            for tbl, cols in subs:
                if (tbl, cols) != ('t', None):
                    st, _, _ = db.run("SELECT staging.subscribe(%s, %s, %s::name[])",
                                      (name, tbl, cols))
                    assert st is None, f"subscribe({name}, {tbl}, {cols}): {st}"
            for consumer in ('eager', 'lazy'):
                db.run("SELECT staging.add_consumer(%s, %s)", (name, consumer))
        if self.listener is None:
            self.listener = psycopg2.connect('')
            self.listener.autocommit = True
            cur = self.listener.cursor()
            for name in CHANGELOGS:
                cur.execute(f"LISTEN {name}_cl")
        self.drain_notifies(0.05)
        self.lazy_pending = {name: None for name in CHANGELOGS}   # (batch, entities)
        self.lazy_got = {name: set() for name in CHANGELOGS}
        self.eager_since = {name: set() for name in CHANGELOGS}

    def drain_notifies(self, wait, want=frozenset()):
        """The channels notified since the last call (waiting up to wait
        seconds for those in want)."""
        got = set()
        deadline = time.time() + wait
        while True:
            self.listener.poll()
            while self.listener.notifies:
                got.add(self.listener.notifies.pop(0).channel)
            left = deadline - time.time()
            if want <= got or left <= 0:
                return got
            select.select([self.listener], [], [], left)

    def before(self, db, model, op):
        self.old = snapshot(model, self.rel)
        self.op_error = None
        self.old_live = model.live
        self.rows = None
        if is_advance(op):
            db.run("SET staging.version = 'all'")
            _, _, self.rows = db.run("SELECT entity_id, created_in, updated_in FROM t")
            db.run("RESET staging.version")

    def next_batch(self, db, name, consumer, size):
        st, _, rows = db.run("SELECT batch_id, entity_id FROM staging.next_batch(%s, %s, %s)",
                             (name, consumer, size))
        if st is not None:
            return st, None, None
        if not rows:
            return None, None, set()
        ids = {r[0] for r in rows}
        if len(ids) != 1:
            return f"rows of several batches {sorted(ids)}", None, None
        entities = [r[1] for r in rows]
        if len(set(entities)) != len(entities):
            return f"entity repeated in one batch: {entities}", None, None
        return None, ids.pop(), set(entities)

    @staticmethod
    def too_big(name, consumer, entities, size):
        """A new batch holds at most size entities (a batch returned again
        keeps those it had)."""
        if len(entities) > size:
            return f"next_batch({name}, {consumer}, {size}): {len(entities)} entities"
        return None

    def drain(self, db, name, consumer):
        """Every entity the consumer has not finished: (problem, set)."""
        got = set()
        for _ in range(100):
            size = self.rng.choice([1, 2, 5, 1000])
            err, batch, entities = self.next_batch(db, name, consumer, size)
            if err is not None:
                return f"next_batch({name}, {consumer}): {err}", got
            if batch is None:
                return None, got
            err = self.too_big(name, consumer, entities, size)
            if err is not None:
                return err, got
            if self.rng.random() < 0.3:
                err, again, entities2 = self.next_batch(db, name, consumer, size)
                if err is not None or (again, entities2) != (batch, entities):
                    return (f"next_batch({name}, {consumer}) again before finishing: batch "
                            f"{again} {sorted(entities2 or [])}, was {batch} {sorted(entities)}"), got
            got |= entities
            st, _, _ = db.run("SELECT staging.finish_batch(%s, %s, %s)", (name, consumer, batch))
            if st is not None:
                return f"finish_batch({name}, {consumer}, {batch}): {st}", got
        return f"next_batch({name}, {consumer}) never ran empty", got

    def expected(self, model, name, op):
        """(must, may): the entities that must be logged, and those that
        may be logged besides."""
        kind = CHANGELOGS[name][1]
        new = self.new
        changed = {e for e in wm.ENTITIES if self.old[kind][e] != new[kind][e]}
        if is_advance(op) and name in NO_COLUMN_LIST and model.live != self.old_live:
            lo, hi = self.old_live, model.live
            rows = {e for e, c, u in self.rows if lo < c <= hi or lo < u <= hi}
            return rows, set(), changed
        return changed, set(), changed

    def after(self, db, model, op, desc):
        problems = []
        logged_any = set()
        self.new = snapshot(model, self.rel)
        if self.op_error:
            problems.append(self.op_error)
        for name in CHANGELOGS:
            err, got = self.drain(db, name, 'eager')
            if err:
                return f"after {desc}: {err}"
            must, may, changed = self.expected(model, name, op)
            if not must <= got or not got <= must | may:
                problems.append(f"{name}: logged {sorted(got)}, expected {sorted(must)}"
                                + (f" (and maybe {sorted(may)})" if may else "")
                                + (f", changed {sorted(changed)}" if changed != must else ""))
            if not changed <= got:
                problems.append(f"{name}: changed {sorted(changed)} not all logged ({sorted(got)})")
            self.eager_since[name] |= got
            if got:
                logged_any.add(f"{name}_cl")
            err = self.lazy_step(db, name)
            if err:
                return f"after {desc}: {err}"
        notified = self.drain_notifies(0.5, logged_any)
        if notified != logged_any:
            problems.append(f"NOTIFY on {sorted(notified)}, expected on {sorted(logged_any)}")
        if problems:
            return f"after {desc} (live {self.old_live} -> {model.live}):\n      " + \
                "\n      ".join(problems)
        return None

    def lazy_step(self, db, name):
        """The lazy consumer: look at its batch, or drain now and then."""
        r = self.rng.random()
        if r < 0.3:
            return self.lazy_drain(db, name)
        if r < 0.7:
            size = self.rng.choice([1, 2, 1000])
            err, batch, entities = self.next_batch(db, name, 'lazy', size)
            if err is not None:
                return f"next_batch({name}, lazy): {err}"
            pending = self.lazy_pending[name]
            if pending is None and batch is not None:
                err = self.too_big(name, 'lazy', entities, size)
                if err is not None:
                    return err
            if pending is not None and (batch, entities) != pending:
                return (f"next_batch({name}, lazy) before finishing: batch {batch} "
                        f"{sorted(entities)}, was {pending[0]} {sorted(pending[1])}")
            if batch is not None:
                self.lazy_pending[name] = (batch, entities)
        return None

    def lazy_drain(self, db, name):
        got = set()
        pending = self.lazy_pending[name]
        if pending is not None:
            got |= pending[1]
            st, _, _ = db.run("SELECT staging.finish_batch(%s, 'lazy', %s)", (name, pending[0]))
            if st is not None:
                return f"finish_batch({name}, lazy, {pending[0]}): {st}"
            self.lazy_pending[name] = None
        err, rest = self.drain(db, name, 'lazy')
        if err:
            return err
        got |= rest
        want = self.eager_since[name]
        self.eager_since[name] = set()
        if got != want:
            return (f"{name}: consumer lazy received {sorted(got)} since its last drain, "
                    f"consumer eager {sorted(want)}")
        return None

    def run_op(self, db, model, op):
        """A write of tr, in the database and in self.rel; or a write of t
        undone by a savepoint before another one in the same transaction."""
        if op[0] == 'savepoint':
            return self.savepoint(db, model, op)
        _, kind, e, e2, x, future = op
        later = [u for u in sorted(model.updates) if u > model.live]
        v = later[0] if future and later else model.live
        args = {'e': e, 'e2': e2, 'x': x}
        st, _, _ = db.at(v, REL_WRITES[kind], args)
        db.run("RESET staging.version")
        desc = f"at {v}: {db.cur.mogrify(REL_WRITES[kind], args).decode()}"
        if st is not None:
            self.op_error = f"{desc}: SQLSTATE {st}"
        mine = sorted(i for i, (ent, _) in self.rel.items() if ent == e)
        if kind == 'insert':
            self.rel[self.next_id] = (e, x)
            self.next_id += 1
        elif kind == 'update_tag' and mine:
            self.rel[mine[0]] = (e, x)
        elif kind == 'move' and mine:
            self.rel[mine[0]] = (e2, self.rel[mine[0]][1])
        elif kind == 'delete' and mine:
            del self.rel[mine[0]]
        elif kind == 'truncate':
            self.rel = {}
        return desc

    def savepoint(self, db, model, op):
        """UPDATE a of e1 rolled back to a savepoint, then UPDATE b of e2,
        at the live version, in one transaction: e1 is not logged (unless
        it is e2: an entity forgotten with its savepoint is logged again)."""
        _, e1, e2, x = op
        sql1 = "UPDATE t SET a = %(x)s WHERE entity_id = %(e)s"
        sql2 = "UPDATE t SET b = %(x)s WHERE entity_id = %(e)s"
        db.run("BEGIN")
        db.run("SAVEPOINT s")
        st1, _, _ = db.run(sql1, {'x': x, 'e': e1})
        db.run("ROLLBACK TO SAVEPOINT s")
        st2, rows, _ = db.run(sql2, {'x': x + 1, 'e': e2})
        db.run("COMMIT")
        exp, exp_rows = wm.model_write(model, model.live, 'update_b', e2, 1, x + 1)
        desc = (f"at {model.live}: BEGIN; SAVEPOINT s; {db.cur.mogrify(sql1, {'x': x, 'e': e1}).decode()};"
                f" ROLLBACK TO SAVEPOINT s; {db.cur.mogrify(sql2, {'x': x + 1, 'e': e2}).decode()}; COMMIT")
        if (st1, st2, rows) != (None, exp, exp_rows):
            self.op_error = f"{desc}: SQLSTATE {st1}, {st2}, {rows} rows; model {exp}, {exp_rows} rows"
        return desc

    def finish(self, db, model):
        for name in CHANGELOGS:
            err = self.lazy_drain(db, name)
            if err:
                return f"at the end: {err}"
            # both consumers finished everything: pruning leaves nothing
            db.run("SELECT staging.prune_changelog(%s)", (name,))
            st, _, rows = db.run(f"SELECT count(*) FROM {name}_cl")
            if st is not None or rows[0][0] != 0:
                return f"at the end: {name}_cl holds {st or rows[0][0]} rows after pruning"
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--seeds', type=int, default=20)
    p.add_argument('--first', type=int, default=1)
    p.add_argument('--steps', type=int, default=25)
    p.add_argument('--verbose', action='store_true')
    args = p.parse_args()
    db = wm.Database(psycopg2.connect(''))
    observer = Observer()
    passed = failed = 0
    first_failure = None
    for seed in range(args.first, args.first + args.seeds):
        rng = random.Random(seed)
        ops = generate(rng, args.steps)
        observer.seed = seed
        f = wm.run_sequence(db, ops, verbose=args.verbose, observer=observer)
        if f is None:
            passed += 1
        else:
            failed += 1
            print(f"seed {seed}: step {f[0]}: {f[1]}")
            if first_failure is None:
                first_failure = (seed, ops)
    if first_failure is not None:
        seed, ops = first_failure
        observer.seed = seed
        small, failure = wm.shrink(db, ops, observer=observer)
        print(f"\nshrunk repro of seed {seed} ({len(small)} operations):")
        wm.run_sequence(db, small, verbose=True, observer=observer)
        print(f"  diverges at step {failure[0]}: {failure[1]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
