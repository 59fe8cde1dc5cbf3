import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceTracker } from '../../analysis/guard/fingerprint.js';
import { syntheticListener, syntheticSocket } from '../../analysis/guard/synthetic.js';
import type { SyntheticConn } from '../../analysis/guard/synthetic.js';
import type { TcpSocket } from '../../model/socket.js';
import { parseCidr } from '../../model/address.js';
import { guardSchema } from '../../config/schema.js';
import { classifyFlood, classifySources } from './classify.js';

const T = guardSchema.parse({});
const LOCAL = { address: '127.0.0.1', port: 8080 };
const NO_COUNTERS = { syncookiesSent: 0, reqQueueFullDrops: 0, listenOverflows: 0 };

function table(conns: readonly SyntheticConn[]): TcpSocket[] {
  return [syntheticListener('127.0.0.1', 8080), ...conns.map((c) => syntheticSocket(LOCAL, c))];
}

function track(tables: readonly (readonly TcpSocket[])[], stepMs = 250): SourceTracker {
  const tracker = new SourceTracker({ idleMs: T.idle_s * 1000, idleMaxBytes: T.idle_max_bytes, ports: null });
  tables.forEach((t, i) => tracker.add(1_000_000 + i * stepMs, t));
  return tracker;
}

const idle = (address: string, n: number, idleMs = 30_000): SyntheticConn[] =>
  Array.from({ length: n }, (_, i) => ({ state: 'ESTABLISHED' as const, remote: address, remotePort: 40000 + i, bytes: 20, idleMs }));

test('one address holding 60 idle connections is attacking while a client beside it is not', () => {
  const normal: SyntheticConn[] = [{ state: 'ESTABLISHED', remote: '127.0.0.1', remotePort: 50000, bytes: 90_000, idleMs: 5 }];
  const t = table([...idle('127.0.0.77', 60), ...normal]);
  const sources = classifySources(track([t, t, t]).result(), T, []);
  const attacker = sources.find((s) => s.address === '127.0.0.77');
  const client = sources.find((s) => s.address === '127.0.0.1');
  assert.equal(attacker?.verdict, 'attacking');
  assert.equal(attacker?.metrics.idleConnections, 60);
  assert.equal(attacker?.metrics.concurrentMax, 60);
  assert.match(attacker?.reasons[0] ?? '', /60 idle connections/);
  assert.equal(client?.verdict, 'normal');
  assert.equal(sources[0]?.address, '127.0.0.77', 'the worst source comes first');
});

test('an IPv4 peer of a dual-stack listener is judged by its IPv4 address', () => {
  const t = [syntheticListener('::', 8080), ...idle('::ffff:10.1.2.3', 3).map((c) => syntheticSocket({ address: '::ffff:127.0.0.1', port: 8080 }, c))];
  const [s] = classifySources(track([t]).result(), T, []);
  assert.equal(s?.address, '10.1.2.3');
  assert.equal(s?.family, 4);
});

test('a busy NAT gateway that completes handshakes and moves data is normal for all its volume', () => {
  const nat: SyntheticConn[] = Array.from({ length: 400 }, (_, i) => ({ state: 'ESTABLISHED', remote: '203.0.113.9', remotePort: 20000 + i, bytes: 50_000, idleMs: 40 }));
  const [s] = classifySources(track([table(nat), table(nat)]).result(), T, []);
  assert.equal(s?.verdict, 'normal');
  assert.match(s?.reasons[0] ?? '', /NAT, CDN or proxy/);
});

test('the same volume of connections that move nothing is suspicious, not normal', () => {
  const quiet: SyntheticConn[] = Array.from({ length: 400 }, (_, i) => ({ state: 'ESTABLISHED', remote: '203.0.113.10', remotePort: 20000 + i, bytes: 100, idleMs: 40 }));
  const [s] = classifySources(track([table(quiet)]).result(), T, []);
  assert.equal(s?.verdict, 'suspicious');
});

test('the allowlist wins over every sign', () => {
  const t = table(idle('10.9.9.9', 200));
  const [s] = classifySources(track([t]).result(), T, [parseCidr('10.0.0.0/8')]);
  assert.equal(s?.verdict, 'normal');
  assert.equal(s?.allowlisted, true);
  assert.match(s?.reasons[0] ?? '', /10\.0\.0\.0\/8/);
});

test('a real source flooding half-open connections is attacking and the flood is real', () => {
  const half: SyntheticConn[] = Array.from({ length: 100 }, (_, i) => ({ state: 'SYN_RECV', remote: '198.51.100.7', remotePort: 1000 + i }));
  const result = track([table([]), table(half.slice(0, 50)), table(half)]).result();
  const [s] = classifySources(result, T, []);
  assert.equal(s?.verdict, 'attacking');
  assert.equal(s?.metrics.halfOpenMax, 100);
  assert.equal(s?.metrics.completionRatio, 0);
  const flood = classifyFlood(result, NO_COUNTERS, T, []);
  assert.equal(flood?.kind, 'real');
  assert.equal(flood?.sources, 1);
});

test('many addresses each seen once that never complete are a spoofed flood', () => {
  const spoofed: SyntheticConn[] = Array.from({ length: 120 }, (_, i) => ({ state: 'SYN_RECV', remote: `10.${i >> 8}.${i & 255}.${(i * 7) % 250 + 1}`, remotePort: 3000 + i }));
  const result = track([table([]), table(spoofed)]).result();
  const flood = classifyFlood(result, { ...NO_COUNTERS, syncookiesSent: 500 }, T, []);
  assert.equal(flood?.kind, 'spoofed');
  assert.equal(flood?.sources, 120);
  assert.equal(flood?.seenOnceShare, 1);
  assert.ok(flood?.reasons.some((r) => /500 SYN cookies/.test(r)));
  // No single forged address holds enough to be an attacker on its own.
  assert.ok(classifySources(result, T, []).every((s) => s.verdict === 'normal'));
});

test('a quiet host has no flood', () => {
  const result = track([table(idle('127.0.0.5', 2))]).result();
  assert.equal(classifyFlood(result, NO_COUNTERS, T, []), null);
});

test('ports limit what is judged', () => {
  const tracker = new SourceTracker({ idleMs: 1000, idleMaxBytes: 1024, ports: new Set([9090]) });
  tracker.add(0, table(idle('127.0.0.8', 5)));
  assert.equal(tracker.result().sources.length, 0);
});

test('lifetime, bytes and idle time are the medians and means of what was seen', () => {
  const conns: SyntheticConn[] = [
    { state: 'ESTABLISHED', remote: '127.0.0.9', remotePort: 1, bytes: 100, idleMs: 10 },
    { state: 'ESTABLISHED', remote: '127.0.0.9', remotePort: 2, bytes: 300, idleMs: 30 },
  ];
  const [s] = track([table(conns), table(conns), table(conns)], 500).result().sources;
  assert.equal(s?.metrics.lifetimeMsMedian, 1000);
  assert.equal(s?.metrics.bytesPerConnection, 200);
  assert.equal(s?.metrics.idleMsMedian, 20);
  assert.equal(s?.metrics.newConnections, 0, 'connections open at the start are not new');
});
