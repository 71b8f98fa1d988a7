// Benchmark half of benchmarks/rtdb_ws_bench.py: the npm firebase-admin SDK over the
// WebSocket protocol against RTDB_HOST / RTDB_NS. Prints one JSON line of figures.
//   node rtdb_bench.mjs latency <samples>     write -> on('value') callback, seconds per sample
//   node rtdb_bench.mjs throughput <writes>   writes/s over one WebSocket (pipelined, awaited)
import { initializeApp } from 'firebase-admin/app';
import { getDatabase } from 'firebase-admin/database';

const HOST = process.env.RTDB_HOST;
const NS = process.env.RTDB_NS;
process.env.FIREBASE_DATABASE_EMULATOR_HOST = HOST;
const db = getDatabase(initializeApp({ projectId: 'demo-bench', databaseURL: `https://${NS}.firebaseio.com` }));
const [mode, countText] = process.argv.slice(2);
const count = Number(countText);
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function latency() {
  const writer = getDatabase(initializeApp({ projectId: 'demo-bench', databaseURL: `https://${NS}.firebaseio.com` }, 'writer'));
  const ref = db.ref('bench/ws/n');
  await writer.ref('bench/ws/n').set(-1);
  let expected = -1;
  let resolve = null;
  ref.on('value', (snap) => { if (snap.val() === expected && resolve) { const r = resolve; resolve = null; r(); } });
  await new Promise((r) => { resolve = r; });
  const samples = [];
  for (let i = 0; i < count; i++) {
    expected = i;
    const arrived = new Promise((r) => { resolve = r; });
    const start = now();
    // Another app (its own WebSocket) writes: the push travels writer -> emulator -> listener.
    writer.ref('bench/ws/n').set(i);
    await arrived;
    samples.push(now() - start);
  }
  return { samples };
}

async function throughput() {
  const ref = db.ref('bench/ws/t');
  await ref.set(null);
  let start = now();
  await Promise.all(Array.from({ length: count }, (_, i) => ref.child(String(i % 100)).set(i)));
  const pipelined = count / (now() - start);
  start = now();
  const sequentialCount = Math.min(count, 2000);
  for (let i = 0; i < sequentialCount; i++) await ref.child(String(i % 100)).set(i);
  const sequential = sequentialCount / (now() - start);
  return { pipelined, sequential };
}

const result = mode === 'latency' ? await latency() : await throughput();
console.log(JSON.stringify(result));
process.exit(0);
