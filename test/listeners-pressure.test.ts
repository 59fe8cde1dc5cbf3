/**
 * `listeners` says when a queue is full and what the kernel does about it, in a private network
 * namespace where the kernel's counters count only the test's own traffic: a listener that
 * never accepts (its accept queue overflows), and one whose SYN-ACKs are dropped on INPUT (its
 * SYN queue fills with half-open connections and the kernel answers with SYN cookies).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import { netnsCounters } from './trace-support.js';

const NAMESPACE = `tcpdiag-listen-${process.pid}`;
const PROGRAM = join(REPO_ROOT, 'test', 'fixtures', 'programs', 'listen_pressure.py');

interface Listener {
  local: { port: number };
  backlog: number;
  acceptQueue: number;
  synRecv: number;
  acceptQueueFull: boolean;
  synQueueFull: boolean;
  pressure: null | { actions: string[]; windowMs: number; listenOverflowsPerSec: number; listenDropsPerSec: number; syncookiesSentPerSec: number; syncookies: string };
}

function inNamespace(file: string, args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', NAMESPACE, file, ...args], { encoding: 'utf8', timeout: 60_000, ...(input === undefined ? {} : { input }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The listener's line of `ss -Hltn` inside the namespace. */
function ssListener(port: number): { recvQ: number; sendQ: number } {
  const r = inNamespace('ss', ['-Hltn', 'sport', '=', `:${port}`]);
  assert.equal(r.status, 0, r.stderr);
  const [state, recvQ, sendQ] = r.stdout.trim().split(/\s+/);
  assert.equal(state, 'LISTEN', r.stdout);
  return { recvQ: Number(recvQ), sendQ: Number(sendQ) };
}

function ssCount(filter: readonly string[]): number {
  const r = inNamespace('ss', ['-Htn', ...filter]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

async function pressure(t: { after: (fn: () => void) => void }, backlog: number): Promise<number> {
  const child = spawn('ip', ['netns', 'exec', NAMESPACE, 'python3', PROGRAM, String(backlog), '20'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`listen_pressure.py exited ${code}`)));
  });
  return Number(line.split(' ')[1]);
}

function listeners(port: number): { listener: Listener; text: string; counted: Record<string, number> } {
  const before = netnsCounters(NAMESPACE);
  const json = inNamespace(process.execPath, [CLI, 'listeners', '--json', '--port', String(port)]);
  const after = netnsCounters(NAMESPACE);
  assert.equal(json.status, 0, json.stderr);
  const [listener] = JSON.parse(json.stdout) as Listener[];
  const text = inNamespace(process.execPath, [CLI, 'listeners', '--port', String(port)]);
  assert.equal(text.status, 0, text.stderr);
  const counted = Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
  return { listener: listener!, text: text.stdout, counted };
}

test('a full accept queue and a full SYN queue are named, with what the kernel does and its counters per second', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: creates a network namespace');
  if (spawnSync('ip', ['netns', 'add', NAMESPACE]).status !== 0) return t.skip('cannot create a network namespace here');
  t.after(() => spawnSync('ip', ['netns', 'delete', NAMESPACE]));
  assert.equal(spawnSync('ip', ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']).status, 0);
  assert.equal(inNamespace('sysctl', ['-n', 'net.ipv4.tcp_syncookies']).stdout.trim(), '1', 'the namespace default');

  // Accept queue: backlog 2 holds 3 completed connections; every further SYN is dropped.
  const acceptPort = await pressure(t, 2);
  const full = listeners(acceptPort);
  assert.equal(full.listener.backlog, 2);
  assert.equal(full.listener.acceptQueue, 3);
  // ss shows a listener's accept queue as Recv-Q and its backlog as Send-Q (ss(8)).
  assert.deepEqual(ssListener(full.listener.local.port), { recvQ: 3, sendQ: 2 });
  assert.equal(full.listener.acceptQueueFull, true);
  assert.equal(full.listener.synQueueFull, false);
  const p = full.listener.pressure!;
  assert.deepEqual(p.actions, ['drops-new-syns', 'drops-final-acks']);
  assert.ok(p.windowMs >= 1000);
  // ~50 SYNs a second meet the full queue: the rate is seen, and is no more than the kernel
  // counted over the whole command (which encloses the window).
  assert.ok(p.listenOverflowsPerSec > 0 && p.listenOverflowsPerSec * (p.windowMs / 1000) <= full.counted.ListenOverflows! + 1,
    `${p.listenOverflowsPerSec}/s over ${p.windowMs} ms; the kernel counted ${full.counted.ListenOverflows}`);
  assert.ok(p.listenDropsPerSec >= p.listenOverflowsPerSec);
  assert.match(full.text, /accept\s*$/m);
  assert.match(full.text, /its accept queue is full \(3 waiting for accept\(\), backlog 2\); the kernel drops new SYNs, and drops the ACK/);

  // SYN queue: the SYN-ACKs never reach the clients, so request socks pile up to the backlog.
  const rules = 'table inet t {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp flags & (syn | ack) == syn | ack drop\n  }\n}\n';
  assert.equal(inNamespace('nft', ['-f', '-'], rules).status, 0);
  const synPort = await pressure(t, 4);
  const half = listeners(synPort);
  assert.equal(half.listener.synQueueFull, true, JSON.stringify(half.listener));
  assert.ok(half.listener.synRecv >= 4);
  assert.equal(ssListener(synPort).sendQ, 4);
  assert.ok(ssCount(['state', 'syn-recv', 'sport', '=', `:${synPort}`]) >= 4, 'ss sees the half-open connections too');
  assert.equal(half.listener.acceptQueueFull, false);
  assert.deepEqual(half.listener.pressure!.actions, ['answers-with-syncookies']);
  assert.ok(half.listener.pressure!.syncookiesSentPerSec > 0 && half.counted.SyncookiesSent! > 0);
  assert.match(half.text, /its SYN queue is full \(\d+ half-open, limit 4\); the kernel answers new SYNs with SYN cookies/);
});

test('an ordinary listener is not called full and costs no sampling window', async () => {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const started = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'listeners', '--json', '--port', String((server.address() as { port: number }).port)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [l] = JSON.parse(r.stdout) as Listener[];
    assert.deepEqual([l!.acceptQueueFull, l!.synQueueFull, l!.pressure], [false, false, null]);
    assert.ok(Date.now() - started < 1000, 'no 1 s counter window');
  } finally {
    server.close();
  }
});
