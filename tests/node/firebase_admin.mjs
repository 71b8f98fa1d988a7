// The npm `firebase-admin` SDK's Firestore against the emulator named by
// FIRESTORE_EMULATOR_HOST. Run by tests/integration/firestore/test_fs_node_web.py; prints
// "ok <n> checks" and exits 0, or prints the failure and exits 1.
import assert from 'node:assert/strict';
import {initializeApp} from 'firebase-admin/app';
import {FieldValue, Timestamp, getFirestore} from 'firebase-admin/firestore';

const TIMEOUT_MS = 60_000;
const root = process.env.FS_TEST_ROOT || `admin-${Date.now()}`;
const app = initializeApp({projectId: process.env.GCLOUD_PROJECT || 'demo-firebase-sync'});
const db = getFirestore(app);
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

async function crud() {
  const users = db.collection(`${root}-users`);
  await users.doc('ada').set({name: 'Ada', born: 1815, tags: ['math']});
  await users.doc('alan').create({name: 'Alan', born: 1912});
  await rejectsWithCode(users.doc('alan').create({}), 6, 'create twice: ALREADY_EXISTS');
  await users.doc('ada').update({tags: FieldValue.arrayUnion('poetry'), seen: FieldValue.serverTimestamp()});
  const ada = await users.doc('ada').get();
  check(ada.get('tags'), ['math', 'poetry'], 'array union');
  check(ada.get('seen') instanceof Timestamp, true, 'server timestamp');
  check(ada.createTime.toMillis() <= ada.updateTime.toMillis(), true, 'create <= update time');
  const stale = ada.updateTime;
  await users.doc('ada').update({born: 1816});
  await rejectsWithCode(users.doc('ada').update({born: 1815}, {lastUpdateTime: stale}), 9,
    'stale lastUpdateTime: FAILED_PRECONDITION');
  const [a, b, missing] = await db.getAll(users.doc('ada'), users.doc('alan'), users.doc('x'));
  check([a.exists, b.exists, missing.exists], [true, true, false], 'getAll');
  check(ids(await users.where('born', '<', 1900).get()), ['ada'], 'query');
  check((await users.count().get()).data().count, 2, 'count');
  await users.doc('alan').collection('papers').doc('1936').set({title: 'On Computable Numbers'});
  check((await users.doc('alan').listCollections()).map((c) => c.id), ['papers'],
    'listCollections');
  check((await users.listDocuments()).map((d) => d.id).sort(), ['ada', 'alan'], 'listDocuments');
}

async function bulk() {
  const coll = db.collection(`${root}-bulk`);
  const writer = db.bulkWriter();
  for (let i = 0; i < 30; i += 1) writer.set(coll.doc(`d${i}`), {i});
  await writer.close();
  check((await coll.count().get()).data().count, 30, 'bulkWriter (BatchWrite)');
  await db.recursiveDelete(coll);
  check((await coll.get()).size, 0, 'recursiveDelete');
}

async function transactionsAndListen() {
  const ref = db.collection(`${root}-tx`).doc('n');
  await ref.set({n: 0});
  await Promise.all(Array.from({length: 5}, () => db.runTransaction(async (tx) => {
    const n = (await tx.get(ref)).get('n');
    tx.update(ref, {n: n + 1});
  })));
  check((await ref.get()).get('n'), 5, 'contending transactions');

  const seen = [];
  const done = new Promise((resolve, reject) => {
    const stop = ref.onSnapshot((snap) => {
      seen.push(snap.get('n'));
      if (snap.get('n') === 6) {
        stop();
        resolve();
      }
    }, reject);
  });
  await ref.update({n: FieldValue.increment(1)});
  await done;
  check(seen.at(-1), 6, 'onSnapshot sees the increment');
}

async function main() {
  const timer = setTimeout(() => {
    console.error(`timed out after ${TIMEOUT_MS} ms (${checks} checks passed)`);
    process.exit(2);
  }, TIMEOUT_MS);
  await crud();
  await bulk();
  await transactionsAndListen();
  await db.terminate();
  clearTimeout(timer);
  console.log(`ok ${checks} checks`);
}

main().catch((err) => {
  console.error(`FAILED after ${checks} checks:`, err);
  process.exit(1);
});
