// The official Node.js Firestore client against the emulator named by FIRESTORE_EMULATOR_HOST.
// Run by tests/integration/firestore/test_fs_node.py; prints "ok <n> checks" and exits 0, or
// prints the failure and exits 1. FS_TEST_ROOT scopes the collections this run touches;
// FS_ONLY=values|queries|transactions|listeners runs one part.
import assert from 'node:assert/strict';
import {
  AggregateField, Filter, Firestore, FieldValue, GeoPoint, Timestamp,
} from '@google-cloud/firestore';

const TIMEOUT_MS = 60_000;
const root = process.env.FS_TEST_ROOT || `node-${Date.now()}`;
const db = new Firestore({projectId: process.env.GCLOUD_PROJECT || 'demo-firebase-sync'});
let checks = 0;

function check(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
  checks += 1;
}

async function rejectsWithCode(promise, code, what) {
  await assert.rejects(promise, (err) => err.code === code, what);
  checks += 1;
}

// Resolves with the listener's snapshots once `until(snapshot)` holds.
function collect(ref) {
  const snaps = [];
  const waiters = [];
  const unsubscribe = ref.onSnapshot(
    (snap) => {
      snaps.push(snap);
      for (const w of [...waiters]) {
        if (w.until(snap)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(snap);
        }
      }
    },
    (err) => waiters.forEach((w) => w.reject(err)),
  );
  return {
    snaps,
    unsubscribe,
    waitFor(until) {
      const last = snaps[snaps.length - 1];
      if (last && until(last)) return Promise.resolve(last);
      return new Promise((resolve, reject) => waiters.push({until, resolve, reject}));
    },
  };
}

async function values() {
  const ref = db.collection(`${root}-values`).doc('all');
  const data = {
    n: 1, d: 2.5, s: 'héllo', b: true, nil: null,
    t: Timestamp.fromMillis(1_700_000_000_123),
    bytes: Buffer.from([0, 1, 255]),
    geo: new GeoPoint(48.85, 2.35),
    ref: db.doc(`${root}-values/other`),
    arr: [1, 'a', {x: 1}],
    map: {nested: {deep: 'yes'}},
  };
  await ref.set(data);
  const got = (await ref.get()).data();
  check(got.n, 1, 'integer');
  check(got.d, 2.5, 'double');
  check(got.s, 'héllo', 'string');
  check(got.b, true, 'boolean');
  check(got.nil, null, 'null');
  check(got.t.toMillis(), 1_700_000_000_123, 'timestamp');
  check(Buffer.from(got.bytes).equals(data.bytes), true, 'bytes');
  check(got.geo.isEqual(data.geo), true, 'geo point');
  check(got.ref.path, `${root}-values/other`, 'reference');
  check(got.arr, [1, 'a', {x: 1}], 'array');
  check(got.map, {nested: {deep: 'yes'}}, 'map');
  await ref.update({
    n: FieldValue.increment(41), arr: FieldValue.arrayUnion('b'), 'map.nested.deep': 'no',
    at: FieldValue.serverTimestamp(), s: FieldValue.delete(),
  });
  const after = (await ref.get()).data();
  check(after.n, 42, 'increment');
  check(after.arr, [1, 'a', {x: 1}, 'b'], 'array union');
  check(after.map, {nested: {deep: 'no'}}, 'dotted update');
  check(after.at instanceof Timestamp, true, 'server timestamp');
  check('s' in after, false, 'field delete');
  await rejectsWithCode(ref.create({}), 6, 'create on an existing document: ALREADY_EXISTS');
  await rejectsWithCode(db.doc(`${root}-values/none`).update({a: 1}), 5,
    'update of a missing document: NOT_FOUND');
  check((await db.doc(`${root}-values/none`).get()).exists, false, 'missing document');
}

async function queries() {
  const coll = db.collection(`${root}-cities`);
  const batch = db.batch();
  const cities = [['sf', 'CA', 870], ['la', 'CA', 3900], ['ny', 'NY', 8400],
    ['bos', 'MA', 650], ['sea', 'WA', 740]];
  for (const [id, state, pop] of cities) batch.set(coll.doc(id), {state, pop});
  batch.set(coll.doc('sf').collection(`${root}-landmarks`).doc('bridge'), {kind: 'bridge'});
  batch.set(coll.doc('ny').collection(`${root}-landmarks`).doc('park'), {kind: 'park'});
  await batch.commit();
  const ids = (snap) => snap.docs.map((d) => d.id);
  check(ids(await coll.where('pop', '>', 800).orderBy('pop', 'desc').get()),
    ['ny', 'la', 'sf'], 'range filter, descending order');
  check(ids(await coll.where('state', '==', 'CA').orderBy('pop').limit(1).get()), ['sf'],
    'equality, order, limit');
  check(ids(await coll.where('state', 'in', ['MA', 'WA']).get()), ['bos', 'sea'], 'in');
  check(ids(await coll.where(Filter.or(Filter.where('state', '==', 'NY'),
    Filter.where('pop', '<', 700))).get()), ['bos', 'ny'], 'OR filter');
  check(ids(await coll.orderBy('pop').startAfter(740).endAt(3900).get()), ['sf', 'la'],
    'cursors');
  check(ids(await db.collectionGroup(`${root}-landmarks`).orderBy('kind').get()), ['bridge', 'park'],
    'collection group');
  const sums = (await coll.where('state', '==', 'CA').aggregate({
    total: AggregateField.sum('pop'), mean: AggregateField.average('pop'),
  }).get()).data();
  check(sums, {total: 4770, mean: 2385}, 'sum and average aggregations');
  check((await coll.count().get()).data().count, 5, 'count aggregation');
}

async function transactions() {
  const ref = db.collection(`${root}-tx`).doc('hot');
  await ref.set({n: 0});
  await Promise.all(Array.from({length: 8}, () => db.runTransaction(async (tx) => {
    const n = (await tx.get(ref)).get('n');
    tx.update(ref, {n: n + 1});
  })));
  check((await ref.get()).get('n'), 8, 'contending transactions all commit');
  const seen = await db.runTransaction(async (tx) => (await tx.get(ref)).get('n'),
    {readOnly: true});
  check(seen, 8, 'read-only transaction');
}

async function listeners() {
  const coll = db.collection(`${root}-watch`);
  await coll.doc('a').set({v: 1});
  const docWatch = collect(coll.doc('a'));
  const allWatch = collect(coll.orderBy('v'));
  const topWatch = collect(coll.orderBy('v', 'desc').limit(2));
  const bigWatch = collect(coll.where('v', '>=', 2));
  await Promise.all([docWatch, allWatch, topWatch, bigWatch].map((w) => w.waitFor(() => true)));
  check(allWatch.snaps[0].docs.map((d) => d.id), ['a'], 'initial query snapshot');
  check(bigWatch.snaps[0].size, 0, 'initial empty snapshot');

  await coll.doc('b').set({v: 2});
  await coll.doc('c').set({v: 3});
  await coll.doc('a').update({v: 5});
  await coll.doc('b').delete();
  const ids = (snap) => snap.docs.map((d) => d.id);
  const final = await allWatch.waitFor((s) => ids(s).join() === 'c,a');
  check(ids(final), ['c', 'a'], 'query listener follows adds, modifies and deletes');
  const top = await topWatch.waitFor((s) => ids(s).join() === 'a,c');
  check(ids(top), ['a', 'c'], 'limit window');
  // Sorted here: the Node client orders a watch without orderBy by name, not by `v`.
  const big = await bigWatch.waitFor((s) => ids(s).sort().join() === 'a,c');
  check(big.docChanges().every((c) => ['added', 'modified', 'removed'].includes(c.type)), true,
    'change types');
  const doc = await docWatch.waitFor((s) => s.get('v') === 5);
  check(doc.get('v'), 5, 'document listener');
  await coll.doc('a').delete();
  const gone = await docWatch.waitFor((s) => !s.exists);
  check(gone.exists, false, 'document listener sees the delete');
  for (const w of [docWatch, allWatch, topWatch, bigWatch]) w.unsubscribe();
}

async function main() {
  const timer = setTimeout(() => {
    console.error(`timed out after ${TIMEOUT_MS} ms (${checks} checks passed)`);
    process.exit(2);
  }, TIMEOUT_MS);
  try {
    const only = process.env.FS_ONLY;
    for (const part of [values, queries, transactions, listeners]) {
      if (!only || only === part.name) await part();
    }
    console.log(`ok ${checks} checks`);
  } finally {
    clearTimeout(timer);
    await db.terminate();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
