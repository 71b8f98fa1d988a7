// @firebase/rules-unit-testing against both databases with real rules: assertSucceeds /
// assertFails for signed-in users (with custom claims) and nobody, withSecurityRulesDisabled,
// clearFirestore, clearDatabase; firebase-admin's databaseAuthVariableOverride over /.ws.
// Run by tests/integration/rules/test_rules_unit_testing_node.py with FIRESTORE_EMULATOR_HOST,
// RTDB_HOST (host:port) and GCLOUD_PROJECT (a fresh project: the script installs its rules);
// prints "ok <n> checks" and exits 0, or prints the failure and exits 1.
import assert from 'node:assert/strict';
import {
  assertFails, assertSucceeds, initializeTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  collection, deleteDoc, doc, getDoc, getDocs, limit, query, setDoc, updateDoc, where,
} from 'firebase/firestore';
import {
  equalTo, get, onDisconnect, onValue, orderByChild, query as dbQuery, ref, set, update,
} from 'firebase/database';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getDatabase } from 'firebase-admin/database';

const TIMEOUT_MS = 90_000;
const projectId = process.env.GCLOUD_PROJECT || `demo-rut-rules-${Date.now()}`;
const [fsHost, fsPort] = (process.env.FIRESTORE_EMULATOR_HOST || '127.0.0.1:8080').split(':');
const [dbHost, dbPort] = (process.env.RTDB_HOST || '127.0.0.1:9000').split(':');

const firestoreRules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }
    function isAdmin() { return signedIn() && request.auth.token.admin == true; }
    match /users/{uid} {
      allow read, write: if signedIn() && request.auth.uid == uid || isAdmin();
    }
    match /posts/{post} {
      allow read: if resource.data.published == true
        || signedIn() && resource.data.owner == request.auth.uid;
      allow create: if signedIn() && request.resource.data.owner == request.auth.uid
        && request.resource.data.title is string && request.resource.data.title.size() <= 20;
      allow update: if signedIn() && resource.data.owner == request.auth.uid
        && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['title', 'published']);
      allow delete: if isAdmin();
    }
  }
}`;

const databaseRules = JSON.stringify({
  rules: {
    users: {
      $uid: {
        '.read': 'auth != null && (auth.uid == $uid || auth.token.admin == true)',
        '.write': 'auth != null && auth.uid == $uid',
        age: { '.validate': 'newData.isNumber() && newData.val() >= 0' },
      },
    },
    items: {
      '.read': "query.orderByChild == 'owner' && query.equalTo == auth.uid",
      '.indexOn': ['owner'],
      $item: { '.write': "auth != null && newData.child('owner').val() == auth.uid" },
    },
  },
});

let checks = 0;
async function succeeds(promise) {
  await assertSucceeds(promise);
  checks += 1;
}
async function fails(promise) {
  await assertFails(promise);
  checks += 1;
}
function check(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
  checks += 1;
}

/** A one-shot listen: resolves with the first value, rejects with the cancel error. */
function listenOnce(reference) {
  return new Promise((resolve, reject) => {
    const stop = onValue(reference, (snap) => { stop(); resolve(snap.val()); }, reject);
  });
}

async function firestoreChecks(env) {
  const alice = env.authenticatedContext('alice').firestore();
  const bob = env.authenticatedContext('bob').firestore();
  const admin = env.authenticatedContext('carol', { admin: true }).firestore();
  const nobody = env.unauthenticatedContext().firestore();

  await succeeds(setDoc(doc(alice, 'users/alice'), { name: 'Alice' }));
  await fails(setDoc(doc(alice, 'users/bob'), { name: 'not bob' }));
  await fails(getDoc(doc(bob, 'users/alice')));
  await succeeds(getDoc(doc(admin, 'users/alice')));
  await fails(getDoc(doc(nobody, 'users/alice')));

  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await setDoc(doc(db, 'posts/draft'), { owner: 'alice', title: 'draft', published: false });
    await setDoc(doc(db, 'posts/live'), { owner: 'bob', title: 'live', published: true });
  });
  await succeeds(getDoc(doc(nobody, 'posts/live')));
  await fails(getDoc(doc(nobody, 'posts/draft')));
  await succeeds(getDoc(doc(alice, 'posts/draft')));
  // A query is allowed only when every document it could return is readable.
  await succeeds(getDocs(query(collection(nobody, 'posts'), where('published', '==', true))));
  await fails(getDocs(collection(nobody, 'posts')));
  await succeeds(getDocs(query(collection(alice, 'posts'), where('owner', '==', 'alice'),
    limit(5))));

  await succeeds(setDoc(doc(alice, 'posts/a1'), { owner: 'alice', title: 'short' }));
  await fails(setDoc(doc(alice, 'posts/a2'), { owner: 'bob', title: 'short' }));
  await fails(setDoc(doc(alice, 'posts/a3'), { owner: 'alice', title: 'x'.repeat(21) }));
  await succeeds(updateDoc(doc(alice, 'posts/a1'), { published: true }));
  await fails(updateDoc(doc(alice, 'posts/a1'), { owner: 'bob' }));
  await fails(updateDoc(doc(bob, 'posts/a1'), { title: 'mine now' }));
  await fails(deleteDoc(doc(alice, 'posts/a1')));
  await succeeds(deleteDoc(doc(admin, 'posts/a1')));

  await env.clearFirestore();
  await env.withSecurityRulesDisabled(async (ctx) => {
    check((await getDocs(collection(ctx.firestore(), 'posts'))).size, 0, 'clearFirestore');
  });
}

async function databaseChecks(env) {
  const alice = env.authenticatedContext('alice').database();
  const admin = env.authenticatedContext('carol', { admin: true }).database();
  const nobody = env.unauthenticatedContext().database();

  await succeeds(set(ref(alice, 'users/alice'), { age: 30 }));
  await fails(set(ref(alice, 'users/bob'), { age: 40 }));
  await fails(set(ref(alice, 'users/alice/age'), -1));
  await fails(update(ref(alice), { 'users/alice/age': 31, 'users/bob/age': 1 }));
  await succeeds(get(ref(alice, 'users/alice')));
  await fails(get(ref(nobody, 'users/alice')));
  await succeeds(get(ref(admin, 'users/alice')));
  await fails(set(ref(admin, 'users/alice/age'), 1));
  check(await listenOnce(ref(alice, 'users/alice')), { age: 30 }, 'own listen');
  await fails(listenOnce(ref(nobody, 'users/alice')));
  await fails(onDisconnect(ref(alice, 'users/bob')).set(null));
  await succeeds(onDisconnect(ref(alice, 'users/alice/online')).set(false));

  await env.withSecurityRulesDisabled(async (ctx) => {
    await set(ref(ctx.database(), 'items'), {
      i1: { owner: 'alice', n: 1 }, i2: { owner: 'bob', n: 2 },
    });
  });
  const mine = dbQuery(ref(alice, 'items'), orderByChild('owner'), equalTo('alice'));
  check(await listenOnce(mine), { i1: { owner: 'alice', n: 1 } }, 'query rules allow the query');
  await fails(listenOnce(dbQuery(ref(alice, 'items'), orderByChild('owner'), equalTo('bob'))));
  await fails(get(ref(alice, 'items')));
  await succeeds(set(ref(alice, 'items/i3'), { owner: 'alice', n: 3 }));
  await fails(set(ref(alice, 'items/i4'), { owner: 'bob', n: 4 }));

  // firebase-admin acting as a user (authvar) and as nobody (noauth) over the WebSocket.
  process.env.FIREBASE_DATABASE_EMULATOR_HOST = `${dbHost}:${dbPort}`;
  const url = `http://${dbHost}:${dbPort}?ns=${projectId}`;
  const asAlice = initializeApp({ projectId, databaseURL: url,
    databaseAuthVariableOverride: { uid: 'alice' } }, `as-alice-${Date.now()}`);
  const asNobody = initializeApp({ projectId, databaseURL: url,
    databaseAuthVariableOverride: null }, `as-nobody-${Date.now()}`);
  try {
    const db = getDatabase(asAlice);
    check((await db.ref('users/alice/age').once('value')).val(), 30, 'authvar reads as alice');
    await fails(db.ref('users/bob').set({ age: 1 }));
    await fails(getDatabase(asNobody).ref('users/alice').once('value'));
  } finally {
    await deleteApp(asAlice);
    await deleteApp(asNobody);
  }

  await env.clearDatabase();
  await env.withSecurityRulesDisabled(async (ctx) => {
    check((await get(ref(ctx.database(), '/'))).exists(), false, 'clearDatabase');
  });
}

async function main() {
  const timer = setTimeout(() => {
    console.error(`timed out after ${TIMEOUT_MS} ms (${checks} checks passed)`);
    process.exit(2);
  }, TIMEOUT_MS);
  const env = await initializeTestEnvironment({
    projectId,
    firestore: { host: fsHost, port: Number(fsPort), rules: firestoreRules },
    database: { host: dbHost, port: Number(dbPort), rules: databaseRules },
  });
  try {
    await firestoreChecks(env);
    await databaseChecks(env);
  } finally {
    await env.cleanup();
  }
  clearTimeout(timer);
  console.log(`ok ${checks} checks`);
  process.exit(0);
}

main().catch((err) => {
  console.error(`FAILED after ${checks} checks:`, err);
  process.exit(1);
});
