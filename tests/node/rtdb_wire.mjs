// The npm `firebase` (web SDK in Node) and `firebase-admin` Realtime Database clients over the
// WebSocket protocol, against the emulator named by RTDB_HOST (host:port) and RTDB_NS.
// Run by tests/integration/database/test_ws_node.py as `node rtdb_wire.mjs <scenario>`; prints
// "ok <n> checks" and exits 0, or prints the failure and exits 1. Scenarios: crud, queries,
// transactions, hash, ondisconnect, large, restart (talks to the test on stdin/stdout), cross,
// rut (@firebase/rules-unit-testing).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { initializeApp as initWeb } from 'firebase/app';
import {
  connectDatabaseEmulator, endAt, endBefore, equalTo, get, getDatabase, goOffline, increment,
  limitToFirst, limitToLast, onChildAdded, onChildChanged, onChildMoved, onChildRemoved,
  onDisconnect, onValue, orderByChild, orderByKey, orderByPriority, orderByValue, push, query,
  ref, remove, runTransaction, serverTimestamp, set, setPriority, setWithPriority, startAfter,
  startAt, update,
} from 'firebase/database';
import { assertFails, assertSucceeds, initializeTestEnvironment } from '@firebase/rules-unit-testing';
import { initializeApp as initAdmin } from 'firebase-admin/app';
import { getDatabase as getAdminDatabase, ServerValue } from 'firebase-admin/database';

const HOST = process.env.RTDB_HOST;
const NS = process.env.RTDB_NS;
const [hostname, port] = HOST.split(':');
const URL = `https://${NS}.firebaseio.com`;
process.env.FIREBASE_DATABASE_EMULATOR_HOST = HOST;
let checks = 0;
let apps = 0;

function check(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, what);
  checks += 1;
}

function web(name = 'web') {
  const app = initWeb({ projectId: 'demo-test', databaseURL: URL }, `${name}-${apps++}`);
  const db = getDatabase(app);
  connectDatabaseEmulator(db, hostname, Number(port));
  return db;
}

function admin(name = 'admin') {
  return getAdminDatabase(initAdmin({ projectId: 'demo-test', databaseURL: URL }, `${name}-${apps++}`));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, predicate, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The value a listener last saw, as {seen: bool, value}.
function watchValue(target) {
  const holder = { seen: false, value: undefined, count: 0 };
  const off = onValue(target, (snap) => {
    holder.seen = true;
    holder.value = snap.exportVal();
    holder.count += 1;
  });
  holder.off = off;
  return holder;
}

// ------------------------------------------------------------------------------ crud

async function crud() {
  const a = admin();
  const w = web();
  await set(ref(w, 'crud'), { s: 'x', n: 1.5, b: true, arr: [1, 2, 3], nested: { deep: { v: 'é✓𝄞' } } });
  check((await a.ref('crud').get()).val(), { s: 'x', n: 1.5, b: true, arr: [1, 2, 3], nested: { deep: { v: 'é✓𝄞' } } }, 'web set, admin get');
  await a.ref('crud').update({ s: 'y', 'nested/deep/w': 2, b: null });
  check((await get(ref(w, 'crud'))).val(), { s: 'y', n: 1.5, arr: [1, 2, 3], nested: { deep: { v: 'é✓𝄞', w: 2 } } }, 'admin update, web get');
  await update(ref(w, 'crud'), { 'arr/3': 4, n: null });
  check((await a.ref('crud').get()).val(), { s: 'y', arr: [1, 2, 3, 4], nested: { deep: { v: 'é✓𝄞', w: 2 } } }, 'web update');
  const pushed = await push(ref(w, 'crud/list'), { k: 1 });
  const pushed2 = a.ref('crud/list').push({ k: 2 });
  await pushed2;
  check(pushed.key.length, 20, 'push id length');
  const list = (await a.ref('crud/list').get()).val();
  check(Object.keys(list).sort(), [pushed.key, pushed2.key].sort(), 'both pushes stored');
  await remove(ref(w, 'crud/nested'));
  check((await a.ref('crud/nested').get()).exists(), false, 'web remove');
  await a.ref('crud/s').remove();
  check((await get(ref(w, 'crud/s'))).val(), null, 'admin remove');
  // priorities
  await setWithPriority(ref(w, 'crud/p'), { v: 1 }, 5);
  check((await a.ref('crud/p').get()).getPriority(), 5, 'setWithPriority');
  await setPriority(ref(w, 'crud/p'), 'high');
  check((await a.ref('crud/p').get()).exportVal(), { '.priority': 'high', v: 1 }, 'setPriority');
  await a.ref('crud/leaf').setWithPriority('x', 2);
  check((await get(ref(w, 'crud/leaf'))).exportVal(), { '.value': 'x', '.priority': 2 }, 'leaf priority');
  // server values
  const before = Date.now();
  await set(ref(w, 'crud/ts'), serverTimestamp());
  await a.ref('crud/ts2').set(ServerValue.TIMESTAMP);
  const ts = (await a.ref('crud/ts').get()).val();
  const ts2 = (await get(ref(w, 'crud/ts2'))).val();
  assert.ok(typeof ts === 'number' && Math.abs(ts - before) < 10000, `timestamp ${ts}`);
  assert.ok(typeof ts2 === 'number' && Math.abs(ts2 - before) < 10000, `timestamp ${ts2}`);
  checks += 2;
  await set(ref(w, 'crud/count'), 5);
  await set(ref(w, 'crud/count'), increment(3));
  await a.ref('crud/count').set(ServerValue.increment(-1.5));
  await update(ref(w, 'crud'), { count2: increment(2) });
  check((await a.ref('crud/count').get()).val(), 6.5, 'increment');
  check((await a.ref('crud/count2').get()).val(), 2, 'increment on nothing');
  // the listener sees server values resolved
  const seen = watchValue(ref(w, 'crud/count'));
  await until('count listener', () => seen.value === 6.5);
  await a.ref('crud/count').set(ServerValue.increment(1));
  await until('increment listener', () => seen.value === 7.5);
  checks += 1;
  // queries through get()
  await a.ref('g').set({ a: { s: 3 }, b: { s: 1 }, c: { s: 2 }, d: { s: 5 } });
  const q = await get(query(ref(w, 'g'), orderByChild('s'), startAt(2), limitToFirst(2)));
  const keys = [];
  q.forEach((c) => { keys.push(c.key); });
  check(keys, ['c', 'a'], 'query get');
  const adminQ = await a.ref('g').orderByChild('s').limitToLast(1).get();
  check(adminQ.val(), { d: { s: 5 } }, 'admin query get');
}

// ------------------------------------------------------------------------------ queries

// A query listener's state from value events, and from child events (membership and values),
// plus the log of child events since the last step.
function tracker(target) {
  const st = { value: null, vals: {}, log: [] };
  onValue(target, (snap) => {
    const keys = [];
    const vals = {};
    snap.forEach((c) => { keys.push(c.key); vals[c.key] = c.exportVal(); });
    st.value = { exists: snap.exists(), keys, vals };
  });
  const record = (type) => (s, prev) => { st.log.push(`${type} ${s.key} after ${prev}`); };
  onChildAdded(target, (s, prev) => { st.vals[s.key] = s.exportVal(); record('added')(s, prev); });
  onChildChanged(target, (s, prev) => { st.vals[s.key] = s.exportVal(); record('changed')(s, prev); });
  onChildRemoved(target, (s) => { delete st.vals[s.key]; record('removed')(s, null); });
  onChildMoved(target, record('moved'));
  return st;
}

const SHAPES = [
  ['q', 'child first 3', [orderByChild('score'), limitToFirst(3)]],
  ['q', 'child last 2', [orderByChild('score'), limitToLast(2)]],
  ['q', 'child startAt', [orderByChild('score'), startAt(3)]],
  ['q', 'child endAt', [orderByChild('score'), endAt(4)]],
  ['q', 'child range first 2', [orderByChild('score'), startAt(2), endAt(5), limitToFirst(2)]],
  ['q', 'child equalTo', [orderByChild('score'), equalTo(4)]],
  ['q', 'child startAfter', [orderByChild('score'), startAfter(3)]],
  ['q', 'child endBefore', [orderByChild('score'), endBefore(4)]],
  ['q', 'child startAt name', [orderByChild('score'), startAt(3, 'c'), limitToFirst(3)]],
  ['q', 'child startAfter name', [orderByChild('score'), startAfter(3, 'b')]],
  ['q', 'child endAt name', [orderByChild('score'), endAt(4, 'c')]],
  ['q', 'child endBefore name last', [orderByChild('score'), endBefore(4, 'd'), limitToLast(2)]],
  ['q', 'child mixed types', [orderByChild('score'), startAt(false), endAt('m'), limitToLast(4)]],
  ['q', 'nested child', [orderByChild('meta/rank'), limitToFirst(2)]],
  ['q', 'nested child range', [orderByChild('meta/rank'), startAt(2), endAt(6)]],
  ['q', 'key first 2', [orderByKey(), startAt('c'), limitToFirst(2)]],
  ['q', 'key between', [orderByKey(), startAfter('b'), endBefore('f')]],
  ['q', 'key last 3', [orderByKey(), limitToLast(3)]],
  ['q', 'priority last 2', [orderByPriority(), startAt(2), limitToLast(2)]],
  ['q', 'priority first', [limitToFirst(2)]],
  ['q', 'child all', [orderByChild('score')]],
  ['v', 'value first 3', [orderByValue(), startAt(2), limitToFirst(3)]],
  ['v', 'value last 2', [orderByValue(), limitToLast(2)]],
  ['v', 'value equal', [orderByValue(), equalTo('x')]],
  ['v', 'value endAt name', [orderByValue(), endAt(3, 'k3')]],
  // 300 children: the emulator answers these through its ordered indexes
  ['b', 'big startAfter name first 5', [orderByChild('score'), startAfter(4, 'c040'), limitToFirst(5)]],
  ['b', 'big endBefore last 4', [orderByChild('score'), endBefore(3), limitToLast(4)]],
  ['b', 'big startAt name endAt name', [orderByChild('score'), startAt(5, 'c100'), endAt(5, 'c200')]],
  ['b', 'big key range', [orderByKey(), startAfter('c150'), endBefore('c160')]],
];

function item(score, rank) {
  return rank === undefined ? { score } : { score, meta: { rank } };
}

const STEPS = [
  (r) => r.update({ 'q/b/score': 4 }),
  (r) => r.child('q/h').set(item(0, 9)),
  (r) => r.child('q/a').remove(),
  (r) => r.update({ 'q/c/score': 10, 'q/d/score': null, 'v/k9': 1 }),
  (r) => r.child('q/e').set(7),
  (r) => r.child('q/f').setPriority(3),
  (r) => r.child('q/g').setWithPriority(item(4, 1), 2.5),
  (r) => r.child('q/c/meta/rank').set(0),
  (r) => r.child('v/k2').set('x'),
  (r) => r.update({ 'q/z': item(2, 3), 'q/b': null, 'v/k3': null }),
  (r) => r.child('q/i').set(item('str', 'x')),
  (r) => r.child('q/j').set(item(true, false)),
  (r) => r.child('q').set({ a: item(5, 1), b: item(3, 2), c: item(3, 3), d: item(4, 4), e: item(1, 5) }),
  (r) => r.child('v').set({ k1: 3, k2: 2, k3: 3, k4: 'x', k5: true }),
  (r) => r.child('q/c/score').set(4),
  (r) => r.child('q').set('a leaf'),
  (r) => r.child('q').set({ b: item(3, 1), c: item(4, 2), x: item(2, 0) }),
  (r) => r.child('q/x').setPriority(9),
  (r) => r.update({ 'q/y': item(3, 4), 'q/c': item(1, 6) }),
  (r) => r.child('q').remove(),
  (r) => r.child('q').set({ m: item(3, 3), n: item(4, 4), o: item(2, 2), p: item(6, 1) }),
  (r) => r.update({ 'b/c040/score': 4.5, 'b/c155': null, 'b/c999': item(5, 0), 'b/c001/score': 2.9 }),
  (r) => r.update({ 'b/c150/score': 5, 'b/c202/score': 5, 'b/c100': null }),
];

async function queries() {
  const a = admin();
  const root = a.ref('qs');
  await root.set({
    q: {
      a: item(1, 5), b: item(3, 2), c: item(3, 4), d: item(4, 1), e: item(5, 3), f: item(2, 7),
      g: item(6, 6),
    },
    v: { k1: 1, k2: 2, k3: 3, k4: 'x', k5: 4, k6: true, k7: null },
    b: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`c${String(i).padStart(3, '0')}`, item(i % 17)])),
  });
  const W = web('server-filtered');
  const C = web('client-filtered');
  const F = web('fresh');
  // C holds the whole data, so its query listeners are filtered by the SDK itself: the oracle.
  const whole = watchValue(ref(C, 'qs'));
  await until('C synced', () => whole.seen);
  const mw = watchValue(ref(W, 'qs-marker'));
  const mc = watchValue(ref(C, 'qs-marker'));
  const pairs = SHAPES.map(([node, name, constraints]) => ({
    name,
    node,
    constraints,
    w: tracker(query(ref(W, `qs/${node}`), ...constraints)),
    c: tracker(query(ref(C, `qs/${node}`), ...constraints)),
  }));
  await until('initial values', () => pairs.every((p) => p.w.value && p.c.value));

  const compare = async (step) => {
    for (const p of pairs) {
      const label = `${p.name} after step ${step}`;
      check(p.w.value, p.c.value, `${label}: server-filtered value = client-filtered value`);
      check(p.w.vals, p.w.value.vals, `${label}: child events = value`);
      // Entering and leaving children raise the same events on both. (Not child_changed /
      // child_moved: the SDK's own client-side limit filter raises extra ones at the window edge.)
      const entered = (log) => log.filter((e) => /^(added|removed) /.test(e)).map((e) => e.split(' after ')[0]).sort();
      check(entered(p.w.log), entered(p.c.log), `${label}: the same children entered and left`);
      p.w.log.length = 0;
      p.c.log.length = 0;
      const fresh = await get(query(ref(F, `qs/${p.node}`), ...p.constraints));
      const keys = [];
      fresh.forEach((c) => { keys.push(c.key); });
      check(keys, p.c.value.keys, `${label}: get() from the server = client-filtered`);
    }
  };
  await a.ref('qs-marker').set(0);
  await until('marker 0', () => mw.value === 0 && mc.value === 0);
  await compare(0);
  for (let i = 0; i < STEPS.length; i++) {
    await STEPS[i](root);
    await a.ref('qs-marker').set(i + 1);
    await until(`marker ${i + 1}`, () => mw.value === i + 1 && mc.value === i + 1);
    await compare(i + 1);
  }
}

// ------------------------------------------------------------------------------ transactions

async function transactions() {
  const a = admin();
  await a.ref('tx').remove();
  const clients = Array.from({ length: 10 }, (_, i) => web(`tx${i}`));
  const results = await Promise.all(clients.map(async (db) => {
    const out = [];
    for (let n = 0; n < 10; n++) {
      out.push(await runTransaction(ref(db, 'tx/counter'), (c) => (c || 0) + 1));
    }
    return out;
  }));
  check(results.flat().every((r) => r.committed), true, 'every transaction committed');
  check((await a.ref('tx/counter').get()).val(), 100, '10 clients x 10 increments');
  const seen = new Set(results.flat().map((r) => r.snapshot.val()));
  check(seen.size, 100, 'each transaction saw a distinct committed value');
  // admin transactions too, and an aborted one
  const t = await a.ref('tx/admin').transaction((c) => ({ n: ((c && c.n) || 0) + 1 }));
  check(t.committed && t.snapshot.val(), { n: 1 }, 'admin transaction');
  const aborted = await a.ref('tx/admin').transaction(() => undefined);
  check(aborted.committed, false, 'aborted transaction');
}

// The node hash: with current data cached, a transaction must commit on its first run.
const HASH_VALUES = [
  1, 0, -1, 1.5, -0.1, 0.1 + 0.2, 1 / 3, 2 ** 53, -(2 ** 53), 1e21, 1.7976931348623157e308,
  5e-324, 2.2250738585072014e-308, 2 ** 29, 2 ** 31, 2 ** 32 - 1, 123456789.123, 1e-7,
  2 ** 1023, 0.5, 0.75, 1024, 4503599627370496.5, 1e-300, 2 ** -971, 3e-310, 0.1 * 3,
  'a', '', 'é✓𝄞 "quotes" \\ /', 'x'.repeat(1000), true, false,
  { a: 1, b: { c: 'x', d: [1, 2, { e: false }] } },
  [1, 'two', 3.5],
  { '10': 1, '9': 2, '-1': 3, 'a': 4, 'A': 5, '00': 6, '0': 7 },
];

async function hash() {
  const a = admin();
  const w = web('hash');
  const cases = [];
  HASH_VALUES.forEach((v, i) => cases.push({ path: `hash/plain/${i}`, value: v }));
  HASH_VALUES.slice(0, 12).forEach((v, i) => cases.push({ path: `hash/prio/${i}`, value: v, priority: i % 2 ? i * 1.5 : `p${i}` }));
  cases.push({
    path: 'hash/children-with-priorities',
    value: { a: { '.value': 1, '.priority': 3 }, b: { '.value': 2, '.priority': 'x' }, c: { '.value': 3, '.priority': 1 }, d: 4, e: { x: 1, '.priority': 2 } },
  });
  for (const c of cases) {
    if (c.priority === undefined) await a.ref(c.path).set(c.value);
    else await a.ref(c.path).setWithPriority(c.value, c.priority);
  }
  for (const c of cases) {
    const cached = watchValue(ref(w, c.path));
    await until(`cached ${c.path}`, () => cached.seen);
    let runs = 0;
    const result = await runTransaction(ref(w, c.path), (current) => {
      runs += 1;
      return { was: current, marker: 1 };
    }, { applyLocally: false });
    check(result.committed, true, `${c.path} committed`);
    check(runs, 1, `${c.path}: the server's hash matched the client's (${JSON.stringify(c.value)})`);
    cached.off();
  }
}

// ------------------------------------------------------------------------------ onDisconnect

async function onDisconnectChild() {
  const w = web('child');
  await set(ref(w, 'od'), { status: 'starting', gone: 'here', cancelled: 'kept', info: { z: 0 } });
  await onDisconnect(ref(w, 'od/status')).set('offline');
  await onDisconnect(ref(w, 'od/lastSeen')).set(serverTimestamp());
  await onDisconnect(ref(w, 'od/info')).update({ a: 1, 'b/c': 2 });
  await onDisconnect(ref(w, 'od/gone')).remove();
  await onDisconnect(ref(w, 'od/cancelled')).set('overwritten');
  await onDisconnect(ref(w, 'od/cancelled')).cancel();
  await onDisconnect(ref(w, 'od/prio')).setWithPriority('p', 7);
  await set(ref(w, 'od/status'), 'online');
  process.stdout.write('READY\n');
  await new Promise(() => {});
}

async function ondisconnect() {
  const a = admin();
  const child = spawn(process.execPath, [process.argv[1], 'od-child'], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => { if (line === 'READY') resolve(); });
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  check((await a.ref('od/status').get()).val(), 'online', 'child is online');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  const status = a.ref('od');
  let value = null;
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    value = (await status.get()).exportVal();
    if (value && value.status === 'offline') break;
    await sleep(50);
  }
  check(value.status, 'offline', 'onDisconnect set ran when the client was killed');
  assert.ok(typeof value.lastSeen === 'number' && value.lastSeen >= killedAt - 1000, `lastSeen ${value.lastSeen}`);
  checks += 1;
  check(value.info, { z: 0, a: 1, b: { c: 2 } }, 'onDisconnect update');
  check(value.gone, undefined, 'onDisconnect remove');
  check(value.cancelled, 'kept', 'cancelled onDisconnect did not run');
  check(value.prio, { '.value': 'p', '.priority': 7 }, 'onDisconnect setWithPriority');
}

// ------------------------------------------------------------------------------ large values

async function large() {
  const a = admin();
  const w = web('large-writer');
  const r = web('large-reader');
  const big = {};
  for (let i = 0; i < 5000; i++) big[`k${String(i).padStart(5, '0')}`] = `${i}:` + 'x'.repeat(1000);
  const listener = watchValue(ref(r, 'large/node'));
  await until('listener ready', () => listener.seen);
  await set(ref(w, 'large/node'), big); // ~5 MB: many frames from the client
  await until('listener got 5 MB', () => listener.value && Object.keys(listener.value).length === 5000, 60000);
  check(listener.value, big, 'listener received the 5 MB node intact');
  const got = (await a.ref('large/node').get()).val();
  check(got, big, 'admin get of the 5 MB node');
  const fresh = web('large-fresh');
  check((await get(ref(fresh, 'large/node'))).val(), big, 'web get of the 5 MB node');
  const text = 'é'.repeat(3 * 1024 * 1024); // one 3M-character string: frames split inside it
  await set(ref(w, 'large/string'), text);
  check((await get(ref(fresh, 'large/string'))).val() === text, true, 'long string round trip');
}

// ------------------------------------------------------------------------------ restart

function ask(line) {
  process.stdout.write(line + '\n');
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', (answer) => { rl.close(); resolve(answer); });
  });
}

async function restart() {
  const a = admin();
  const w = web('restart');
  await a.ref('rs').set({ n: 1 });
  const seen = watchValue(ref(w, 'rs'));
  await until('initial', () => seen.value && seen.value.n === 1);
  check(await ask('RESTART'), 'GO', 'emulator restarted');
  // written while the client may still be reconnecting: queued by the SDK, sent on reconnect
  const write = set(ref(w, 'rs/from-web'), 'queued');
  await a.ref('rs/n').set(2);
  await until('listener after restart', () => seen.value && seen.value.n === 2 && seen.value['from-web'] === 'queued', 60000);
  await write;
  check((await a.ref('rs').get()).val(), { n: 2, 'from-web': 'queued' }, 'both clients reconnected');
}

// ------------------------------------------------------------------------------ cross

async function cross() {
  const a = admin();
  const w = web('cross');
  const rest = async (method, path, body) => {
    const res = await fetch(`http://${HOST}/${path}.json?ns=${NS}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  };
  const seen = watchValue(ref(w, 'cross/items'));
  await until('cross listener', () => seen.seen);
  // Started by the test: Python listeners over SSE on the same path. Interleave both sides.
  await set(ref(w, 'cross/items/p1'), { name: 'lamp', price: 10 });
  await rest('PUT', 'cross/items/p2', { name: 'desk', price: 90 });
  await a.ref('cross/items/p3').set({ name: 'chair', price: 30 });
  await rest('PATCH', 'cross/items/p1', { price: 12 });
  await update(ref(w, 'cross/items'), { 'p2/price': 95, p4: { name: 'shelf', price: 40 } });
  await rest('POST', 'cross/items', { name: 'pushed', price: 1 });
  await push(ref(w, 'cross/items'), { name: 'pushed-ws', price: 2 });
  await rest('DELETE', 'cross/items/p3');
  await remove(ref(w, 'cross/items/p4'));
  await rest('PATCH', 'cross', { 'items/p5': { name: 'lamp2', price: 5 }, 'items/p1/name': 'lamp1' });
  await set(ref(w, 'cross/items/p2/price'), increment(5));
  await a.ref('cross/done').set(true);
  const res = await fetch(`http://${HOST}/cross/items.json?ns=${NS}`);
  const expected = await res.json();
  await until('REST writes reached the WebSocket listener', () => JSON.stringify(sortKeys(seen.value)) === JSON.stringify(sortKeys(expected)));
  check(sortKeys(seen.value), sortKeys(expected), 'WebSocket listener = REST read');
  process.stdout.write(`STATE ${JSON.stringify(sortKeys(seen.value))}\n`);
}

function sortKeys(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}

// ------------------------------------------------------------------------------ rules-unit-testing

const RUT_RULES = JSON.stringify({
  rules: {
    rut: { '.read': true, '.write': true },
    users: {
      $uid: {
        '.read': 'auth != null && auth.uid === $uid',
        '.write': 'auth != null && auth.uid === $uid',
        '.validate': "newData.hasChildren(['name'])",
      },
    },
  },
});

async function rut() {
  const projectId = `demo-rut-${Date.now()}`;
  const env = await initializeTestEnvironment({
    projectId,
    database: { host: hostname, port: Number(port), rules: RUT_RULES },
  });
  const alice = env.authenticatedContext('alice', { role: 'tester' }).database();
  const anon = env.unauthenticatedContext().database();
  await alice.ref('rut/a').set({ v: 1, at: { '.sv': 'timestamp' } });
  const seen = [];
  anon.ref('rut').on('value', (snap) => seen.push(snap.val()));
  check((await anon.ref('rut/a/v').once('value')).val(), 1, 'unauthenticated context reads');
  await anon.ref('rut').update({ b: 2 });
  await env.withSecurityRulesDisabled(async (ctx) => {
    check((await ctx.database().ref('rut/b').get()).val(), 2, 'rules-disabled context');
  });
  // security rules over the WebSocket, per context
  await assertSucceeds(alice.ref('users/alice').set({ name: 'Alice' }));
  await assertFails(alice.ref('users/bob').set({ name: 'not mine' }));
  await assertFails(alice.ref('users/alice').set({ age: 3 })); // .validate: no name
  await assertFails(anon.ref('users/alice').get());
  await assertSucceeds(alice.ref('users/alice').get());
  await assertFails(alice.ref('users/bob').onDisconnect().set({ name: 'x' }));
  const denied = await new Promise((resolve) => {
    anon.ref('users/alice').on('value', () => resolve('allowed'), (err) => resolve(err.code || err.message));
  });
  check(String(denied).toLowerCase().includes('permission'), true, `listen denied (${denied})`);
  await env.withSecurityRulesDisabled(async (ctx) => {
    check((await ctx.database().ref('users/alice/name').get()).val(), 'Alice', 'owner reads through the rules');
  });
  checks += 6;
  await env.clearDatabase();
  check((await alice.ref('rut').get()).exists(), false, 'clearDatabase emptied the namespace');
  await until('listener saw the clear', () => seen.length > 0 && seen[seen.length - 1] === null);
  checks += 1;
  await env.cleanup();
}

// ------------------------------------------------------------------------------ main

const SCENARIOS = { crud, queries, transactions, hash, ondisconnect, large, restart, cross, rut };
const name = process.argv[2];
if (name === 'od-child') {
  await onDisconnectChild();
} else {
  const run = SCENARIOS[name];
  if (!run) {
    console.log(`unknown scenario ${name}`);
    process.exit(2);
  }
  try {
    await run();
    console.log(`ok ${checks} checks`);
    process.exit(0);
  } catch (err) {
    console.log(`FAILED ${name}: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  }
}
