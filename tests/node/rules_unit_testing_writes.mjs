// @firebase/rules-unit-testing's contexts write through the web SDK's Write stream. Run by
// tests/integration/firestore/test_fs_node_web.py against FIRESTORE_EMULATOR_HOST; prints
// "ok <n> checks" and exits 0, or prints the failure and exits 1. The rules let signed-in
// callers read everything and write everywhere but `readonly`: the stream carries the caller's
// identity, and a transaction's `verify` of a document it only read is no write.
import assert from 'node:assert/strict';
import {
  assertFails, assertSucceeds, initializeTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  collection, doc, getDoc, getDocs, runTransaction, setDoc, writeBatch,
} from 'firebase/firestore';

const TIMEOUT_MS = 60_000;
const root = process.env.FS_TEST_ROOT || `rut-${Date.now()}`;
const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST || '127.0.0.1:8080').split(':');
const rules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /{coll}/{id} {
      allow read: if request.auth != null;
      allow write: if request.auth != null && coll != 'readonly';
    }
  }
}`;
let checks = 0;

function check(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
  checks += 1;
}

async function main() {
  const timer = setTimeout(() => {
    console.error(`timed out after ${TIMEOUT_MS} ms (${checks} checks passed)`);
    process.exit(2);
  }, TIMEOUT_MS);
  const env = await initializeTestEnvironment({
    projectId: process.env.GCLOUD_PROJECT || 'demo-firebase-sync',
    firestore: {host, port: Number(port), rules},
  });
  const alice = env.authenticatedContext('alice').firestore();
  await setDoc(doc(alice, `${root}/a`), {by: 'alice'});
  check((await getDoc(doc(alice, `${root}/a`))).data(), {by: 'alice'}, 'authenticated write');
  const batch = writeBatch(alice);
  batch.set(doc(alice, `${root}/b`), {n: 1});
  batch.set(doc(alice, `${root}/c`), {n: 2});
  await batch.commit();
  await env.withSecurityRulesDisabled(async (ctx) => {
    await setDoc(doc(ctx.firestore(), `${root}/d`), {by: 'admin'});
  });
  const ids = (await getDocs(collection(alice, root))).docs.map((d) => d.id);
  check(ids, ['a', 'b', 'c', 'd'], 'batch and rules-disabled writes landed');

  await env.withSecurityRulesDisabled(async (ctx) => {
    await setDoc(doc(ctx.firestore(), 'readonly/r'), {n: 7});
  });
  await assertFails(setDoc(doc(alice, 'readonly/x'), {n: 1}));
  checks += 1;
  const nobody = env.unauthenticatedContext().firestore();
  await assertFails(setDoc(doc(nobody, `${root}/e`), {n: 1}));
  checks += 1;
  await assertSucceeds(runTransaction(alice, async (tx) => {
    const n = (await tx.get(doc(alice, 'readonly/r'))).get('n');
    tx.set(doc(alice, `${root}/copy`), {n});
  }));
  check((await getDoc(doc(alice, `${root}/copy`))).data(), {n: 7},
    'a transaction that only read readonly/r commits (its verify is no write)');
  await env.clearFirestore();
  check((await getDocs(collection(alice, root))).size, 0, 'clearFirestore');
  await env.cleanup();
  clearTimeout(timer);
  console.log(`ok ${checks} checks`);
}

main().catch((err) => {
  console.error(`FAILED after ${checks} checks:`, err);
  process.exit(1);
});
