/**
 * The guard's classification cost: `node dist/bench/guard.js [SOURCES] [SECONDS]` (default 1000, 10).
 *
 * SOURCES source addresses talk to one listener: most hold two active connections, 4% hold 60
 * idle ones, 1% hold 20 half-open ones, and connections come and go (a tenth of the ports
 * change per table). As `tcpdiag guard` does at its default poll interval, four socket tables a
 * second go into the fingerprints, and once a second every source is classified and the flood
 * judged; the tracker starts over every 10 s (guard.duration_s). Prints the CPU the process used
 * over the wall time (target: under 5% of one core for 1,000 sources every second) and the cost
 * of one classification flat out. The socket table's read itself is bench/conns.ts's figure.
 */
import { SourceTracker } from '../src/analysis/guard/fingerprint.js';
import { syntheticListener, syntheticSocket } from '../src/analysis/guard/synthetic.js';
import type { SyntheticConn } from '../src/analysis/guard/synthetic.js';
import { classifyFlood, classifySources } from '../src/diagnose/guard/classify.js';
import { guardSchema } from '../src/config/schema.js';
import type { TcpSocket } from '../src/model/socket.js';

const sources = Math.min(100_000, Math.max(1, Number(process.argv[2] ?? 1000)));
const seconds = Math.min(3600, Math.max(1, Number(process.argv[3] ?? 10)));
const T = guardSchema.parse({});
const LOCAL = { address: '10.0.0.1', port: 443 };

function table(tick: number): TcpSocket[] {
  const out: TcpSocket[] = [syntheticListener('10.0.0.1', 443)];
  for (let i = 0; i < sources; i++) {
    const remote = `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const kind = i % 100;
    const conns: SyntheticConn[] = [];
    if (kind < 4) for (let c = 0; c < 60; c++) conns.push({ state: 'ESTABLISHED', remote, remotePort: 10000 + c, bytes: 30, idleMs: 20_000 });
    else if (kind < 5) for (let c = 0; c < 20; c++) conns.push({ state: 'SYN_RECV', remote, remotePort: 20000 + c + tick });
    else for (let c = 0; c < 2; c++) conns.push({ state: 'ESTABLISHED', remote, remotePort: 30000 + c + (i % 10 === tick % 10 ? tick : 0), bytes: 50_000, idleMs: 20 });
    for (const c of conns) out.push(syntheticSocket(LOCAL, c));
  }
  return out;
}

// Tables are built before the clock starts: making them is the benchmark's cost, not the guard's.
const TABLES = Array.from({ length: 8 }, (_, i) => table(i));
const counters = { syncookiesSent: 0, reqQueueFullDrops: 0, listenOverflows: 0 };

function classifyOnce(tracker: SourceTracker): { total: number; attacking: number } {
  const result = tracker.result();
  const verdicts = classifySources(result, T, []);
  classifyFlood(result, counters, T, []);
  return { total: verdicts.length, attacking: verdicts.filter((v) => v.verdict === 'attacking').length };
}

const startWall = performance.now();
const startCpu = process.cpuUsage();
let tracker = new SourceTracker({ idleMs: T.idle_s * 1000, idleMaxBytes: T.idle_max_bytes, ports: null });
let tick = 0;
let classified = 0;
let attacking = 0;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    tick++;
    tracker.add(Date.now(), TABLES[tick % TABLES.length]!);
    if (tick % 4 === 0) {
      const verdicts = classifyOnce(tracker);
      classified += verdicts.total;
      attacking = verdicts.attacking;
    }
    if (tick % 40 === 0) tracker = new SourceTracker({ idleMs: T.idle_s * 1000, idleMaxBytes: T.idle_max_bytes, ports: null });
    if (performance.now() - startWall >= seconds * 1000) {
      clearInterval(timer);
      resolve();
    }
  }, 250);
});
const cpu = process.cpuUsage(startCpu);
const wallMs = performance.now() - startWall;
const cpuPercent = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;

// Flat out: one full window of tables, then classification repeated.
const flat = new SourceTracker({ idleMs: T.idle_s * 1000, idleMaxBytes: T.idle_max_bytes, ports: null });
for (let i = 0; i < 40; i++) flat.add(i * 250, TABLES[i % TABLES.length]!);
const reps = 20;
const t0 = performance.now();
for (let i = 0; i < reps; i++) classifyOnce(flat);
const perClassifyMs = (performance.now() - t0) / reps;

process.stdout.write(
  `guard: ${sources} sources (${TABLES[0]!.length} sockets per table), 4 tables/s, classified every second for ${(wallMs / 1000).toFixed(1)} s: ` +
    `${cpuPercent.toFixed(2)}% of one core (target < 5%); ${classified} verdicts, ${attacking} attacking in the last; ` +
    `one classification of a 10 s window flat out: ${perClassifyMs.toFixed(2)} ms\n`,
);
