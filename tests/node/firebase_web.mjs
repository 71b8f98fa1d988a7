// The npm `firebase` web SDK in Node against the emulator named by FIRESTORE_EMULATOR_HOST.
// FS_SDK=full (default) uses `firebase/firestore` (writes through the Write stream, reads and
// listeners through Listen, transactions through BatchGetDocuments + Commit); FS_SDK=lite uses
// `firebase/firestore/lite` (the REST API v1). Run by
// tests/integration/firestore/test_fs_node_web.py; prints "ok <n> checks" and exits 0, or
// prints the failure and exits 1. FS_TEST_ROOT scopes the collections this run touches;
// FS_ONLY=writes|queries|transactions|listeners runs one part; FS_DEBUG=1 logs the SDK's RPCs.
import assert from 'node:assert/strict';
import {initializeApp} from 'firebase/app';

const TIMEOUT_MS = 60_000;
const sdk = process.env.FS_SDK || 'full';
const fs = await import(sdk === 'lite' ? 'firebase/firestore/lite' : 'firebase/firestore');
const root = `${process.env.FS_TEST_ROOT || `web-${Date.now()}`}-${sdk}`;
const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST || '127.0.0.1:8080').split(':');
const app = initializeApp({projectId: process.env.GCLOUD_PROJECT || 'demo-firebase-sync'});
const db = fs.getFirestore(app);
if (process.env.FS_DEBUG) fs.setLogLevel('debug');
fs.connectFirestoreEmulator(db, host, Number(port));
let checks = 0;

function check(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
  checks += 1;
}

async function rejectsWithCode(promise, code, what) {
  await assert.rejects(promise, (err) => err.code === code, what);
  checks += 1;
}

const ids = (snap) => snap.docs.map((d) => d.id);

async function writesAndReads() {
  const ref = fs.doc(db, `${root}-values`, 'all');
  const data = {
    n: 1, d: 2.5, s: 'héllo', b: true, nil: null,
    t: fs.Timestamp.fromMillis(1_700_000_000_123),
    bytes: fs.Bytes.fromUint8Array(new Uint8Array([0, 1, 255])),
    geo: new fs.GeoPoint(48.85, 2.35),
    ref: fs.doc(db, `${root}-values/other`),
    arr: [1, 'a', {x: 1}],
    map: {nested: {deep: 'yes'}},
  };
  await fs.setDoc(ref, data);
  const got = (await fs.getDoc(ref)).data();
  check(got.n, 1, 'integer');
  check(got.d, 2.5, 'double');
  check(got.s, 'héllo', 'string');
  check(got.b, true, 'boolean');
  check(got.nil, null, 'null');
  check(got.t.toMillis(), 1_700_000_000_123, 'timestamp');
  check(got.bytes.toUint8Array(), new Uint8Array([0, 1, 255]), 'bytes');
  check(got.geo.isEqual(data.geo), true, 'geo point');
  check(got.ref.path, `${root}-values/other`, 'reference');
  check(got.arr, [1, 'a', {x: 1}], 'array');
  check(got.map, {nested: {deep: 'yes'}}, 'map');

  await fs.updateDoc(ref, {
    n: fs.increment(41), arr: fs.arrayUnion('b'), 'map.nested.deep': 'no',
    at: fs.serverTimestamp(), s: fs.deleteField(),
  });
  const after = (await fs.getDoc(ref)).data();
  check(after.n, 42, 'increment');
  check(after.arr, [1, 'a', {x: 1}, 'b'], 'array union');
  check(after.map, {nested: {deep: 'no'}}, 'dotted update');
  check(after.at instanceof fs.Timestamp, true, 'server timestamp');
  check('s' in after, false, 'field delete');

  await fs.setDoc(ref, {extra: true}, {merge: true});
  const merged = (await fs.getDoc(ref)).data();
  check([merged.extra, merged.n], [true, 42], 'set with merge keeps other fields');

  const added = await fs.addDoc(fs.collection(db, `${root}-added`), {k: 'v'});
  check(/^[A-Za-z0-9]{20}$/.test(added.id), true, 'addDoc auto-ID');
  check((await fs.getDoc(added)).data(), {k: 'v'}, 'addDoc stored the document');

  await fs.deleteDoc(ref);
  check((await fs.getDoc(ref)).exists(), false, 'deleteDoc');
  await rejectsWithCode(fs.updateDoc(fs.doc(db, `${root}-values/none`), {a: 1}), 'not-found',
    'update of a missing document: NOT_FOUND');

  const batch = fs.writeBatch(db);
  batch.set(fs.doc(db, `${root}-batch/a`), {v: 1});
  batch.set(fs.doc(db, `${root}-batch/b`), {v: 2});
  batch.delete(added);
  await batch.commit();
  const all = await fs.getDocs(fs.collection(db, `${root}-batch`));
  check(ids(all), ['a', 'b'], 'writeBatch applied both sets');
  check((await fs.getDoc(added)).exists(), false, 'writeBatch applied the delete');

  // A failing batch is atomic: nothing of it lands.
  const bad = fs.writeBatch(db);
  bad.set(fs.doc(db, `${root}-batch/c`), {v: 3});
  bad.update(fs.doc(db, `${root}-batch/none`), {v: 4});
  await rejectsWithCode(bad.commit(), 'not-found', 'batch with a failing update');
  check((await fs.getDoc(fs.doc(db, `${root}-batch/c`))).exists(), false,
    'a failed batch applies nothing');
}

async function queries() {
  const coll = fs.collection(db, `${root}-cities`);
  const batch = fs.writeBatch(db);
  const cities = [['sf', 'CA', 870], ['la', 'CA', 3900], ['ny', 'NY', 8400],
    ['bos', 'MA', 650], ['sea', 'WA', 740]];
  for (const [id, state, pop] of cities) batch.set(fs.doc(coll, id), {state, pop});
  batch.set(fs.doc(db, `${root}-cities/sf/${root}-landmarks/bridge`), {kind: 'bridge'});
  batch.set(fs.doc(db, `${root}-cities/ny/${root}-landmarks/park`), {kind: 'park'});
  await batch.commit();
  const q = (...parts) => fs.getDocs(fs.query(coll, ...parts));
  check(ids(await q(fs.where('pop', '>', 800), fs.orderBy('pop', 'desc'))),
    ['ny', 'la', 'sf'], 'range filter, descending order');
  check(ids(await q(fs.where('state', '==', 'CA'), fs.orderBy('pop'), fs.limit(1))), ['sf'],
    'equality, order, limit');
  check(ids(await q(fs.where('state', 'in', ['MA', 'WA']))), ['bos', 'sea'], 'in');
  check(ids(await q(fs.or(fs.where('state', '==', 'NY'), fs.where('pop', '<', 700)))),
    ['bos', 'ny'], 'OR filter');
  check(ids(await q(fs.orderBy('pop'), fs.startAfter(740), fs.endAt(3900))), ['sf', 'la'],
    'cursors');
  check(ids(await q(fs.orderBy('pop'), fs.limitToLast(2))), ['la', 'ny'], 'limitToLast');
  check(ids(await fs.getDocs(fs.query(fs.collectionGroup(db, `${root}-landmarks`),
    fs.orderBy('kind')))), ['bridge', 'park'], 'collection group');
  // The lite SDK names these getCount and getAggregate.
  const getCount = fs.getCountFromServer ?? fs.getCount;
  const getAggregate = fs.getAggregateFromServer ?? fs.getAggregate;
  check((await getCount(coll)).data().count, 5, 'count aggregation');
  const sums = (await getAggregate(fs.query(coll, fs.where('state', '==', 'CA')),
    {total: fs.sum('pop'), mean: fs.average('pop')})).data();
  check(sums, {total: 4770, mean: 2385}, 'sum and average aggregations');
}

async function transactions() {
  const ref = fs.doc(db, `${root}-tx/hot`);
  await fs.setDoc(ref, {n: 0});
  await Promise.all(Array.from({length: 4}, () => fs.runTransaction(db, async (tx) => {
    const n = (await tx.get(ref)).get('n');
    tx.update(ref, {n: n + 1});
  })));
  check((await fs.getDoc(ref)).get('n'), 4, 'contending transactions all commit');
  // Read one document, write another: the read one goes to the server as a `verify` write.
  const other = fs.doc(db, `${root}-tx/other`);
  const seen = await fs.runTransaction(db, async (tx) => {
    const n = (await tx.get(ref)).get('n');
    tx.set(other, {copied: n});
    return n;
  });
  check(seen, 4, 'transaction result');
  check((await fs.getDoc(other)).data(), {copied: 4}, 'transaction write with a verified read');
  await rejectsWithCode(fs.runTransaction(db, async (tx) => {
    await tx.get(ref);
    throw Object.assign(new Error('give up'), {code: 'cancelled-by-test'});
  }), 'cancelled-by-test', 'a throwing transaction body rejects with its error');
}

// Resolves with the listener's snapshots once `until(snapshot)` holds. Metadata changes are
// included: without them the step from a cached to a server-confirmed snapshot of the same
// documents raises no event.
function collect(ref) {
  const snaps = [];
  const waiters = [];
  const unsubscribe = fs.onSnapshot(ref, {includeMetadataChanges: true},
    (snap) => {
      snaps.push(snap);
      for (const w of [...waiters]) {
        if (w.until(snap)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(snap);
        }
      }
    },
    (err) => waiters.forEach((w) => w.reject(err)));
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

async function listeners() {
  const coll = fs.collection(db, `${root}-watch`);
  await fs.setDoc(fs.doc(coll, 'a'), {v: 1});
  const docWatch = collect(fs.doc(coll, 'a'));
  const allWatch = collect(fs.query(coll, fs.orderBy('v')));
  const topWatch = collect(fs.query(coll, fs.orderBy('v', 'desc'), fs.limit(2)));
  const bigWatch = collect(fs.query(coll, fs.where('v', '>=', 2)));
  const fromServer = (s) => !s.metadata.fromCache;
  await Promise.all([docWatch, allWatch, topWatch, bigWatch].map((w) => w.waitFor(fromServer)));
  check(ids(await allWatch.waitFor(fromServer)), ['a'], 'initial query snapshot');
  check((await bigWatch.waitFor(fromServer)).size, 0, 'initial empty snapshot');

  await fs.setDoc(fs.doc(coll, 'b'), {v: 2});
  await fs.setDoc(fs.doc(coll, 'c'), {v: 3});
  await fs.updateDoc(fs.doc(coll, 'a'), {v: 5});
  await fs.deleteDoc(fs.doc(coll, 'b'));
  const done = (s, want) => fromServer(s) && !s.metadata.hasPendingWrites
    && ids(s).join() === want;
  check(ids(await allWatch.waitFor((s) => done(s, 'c,a'))), ['c', 'a'],
    'query listener follows adds, modifies and deletes');
  check(ids(await topWatch.waitFor((s) => done(s, 'a,c'))), ['a', 'c'], 'limit window');
  check(ids(await bigWatch.waitFor((s) => done(s, 'c,a') || done(s, 'a,c'))).sort(),
    ['a', 'c'], 'filtered listener');
  const doc = await docWatch.waitFor((s) => fromServer(s) && s.get('v') === 5);
  check(doc.get('v'), 5, 'document listener');
  await fs.deleteDoc(fs.doc(coll, 'a'));
  const gone = await docWatch.waitFor((s) => fromServer(s) && !s.exists());
  check(gone.exists(), false, 'document listener sees the delete');
  for (const w of [docWatch, allWatch, topWatch, bigWatch]) w.unsubscribe();
}

async function main() {
  const timer = setTimeout(() => {
    console.error(`timed out after ${TIMEOUT_MS} ms (${checks} checks passed)`);
    process.exit(2);
  }, TIMEOUT_MS);
  const only = process.env.FS_ONLY;
  if (!only || only === 'writes') await writesAndReads();
  if (!only || only === 'queries') await queries();
  if (!only || only === 'transactions') await transactions();
  if (sdk !== 'lite' && (!only || only === 'listeners')) await listeners();
  await fs.terminate(db);
  clearTimeout(timer);
  console.log(`ok ${checks} checks (${sdk})`);
}

main().catch((err) => {
  console.error(`FAILED after ${checks} checks (${sdk}):`, err);
  process.exit(1);
});
