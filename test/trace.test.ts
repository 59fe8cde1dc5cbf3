/**
 * tcpdiag trace end to end: real loopback connections, the real kernel's tracepoints, the
 * built CLI. Needs root (tracefs); skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { CLI } from './helpers/cli.js';
import { closedPort, closingServer, roundTrip, startTrace } from './trace-support.js';

const ROOT = isRoot() && tracefsRoot() !== null;
const SKIP = ROOT ? false : 'needs root and tracefs';

type Ev = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the CLI

test('every transition of N loopback connections is reported with correct states and durations', { skip: SKIP }, async () => {
  const N = 25;
  const { server, port } = await closingServer('bye');
  const trace = await startTrace(['all', '--json', '--port', String(port)]);
  let result;
  try {
    for (let i = 0; i < N; i++) await roundTrip(port);
    result = await trace.stop();
  } finally {
    server.close();
  }
  const { code, events, stderr } = result;
  assert.equal(code, 0, stderr);
  const of = (type: string) => events.filter((e) => e.type === type) as Ev[];
  assert.equal(of('lost').length, 0, 'no events lost');
  // The warm-up's made-up connections (documentation addresses, on this same port) go nowhere.
  const madeUp = (events as Ev[]).filter((e) => [e.local?.address, e.remote?.address].some((a) => /^(192\.0\.2\.|2001:db8::)/.test(String(a))));
  assert.equal(madeUp.length, 0, JSON.stringify(madeUp[0]));

  const count = (o: string, n: string) => of('state').filter((e) => e.oldState === o && e.newState === n).length;
  // Client (active open, server closes first) and server (passive open, active close): 5 each.
  for (const [o, n] of [
    ['CLOSE', 'SYN_SENT'], ['SYN_SENT', 'ESTABLISHED'], ['ESTABLISHED', 'CLOSE_WAIT'], ['CLOSE_WAIT', 'LAST_ACK'], ['LAST_ACK', 'CLOSE'],
    ['LISTEN', 'SYN_RECV'], ['SYN_RECV', 'ESTABLISHED'], ['ESTABLISHED', 'FIN_WAIT1'], ['FIN_WAIT1', 'FIN_WAIT2'], ['FIN_WAIT2', 'CLOSE'],
  ] as const) {
    assert.equal(count(o, n), N, `${o} -> ${n}`);
  }

  const connects = of('connect');
  const accepts = of('accept');
  assert.equal(connects.length, N);
  assert.equal(accepts.length, N);
  for (const c of connects) {
    assert.equal(c.pid, process.pid);
    assert.equal(c.remote.port, port);
    assert.ok(c.local.port > 0);
    assert.ok(typeof c.latencyMs === 'number' && c.latencyMs >= 0);
    assert.equal(c.family, 4);
  }
  for (const a of accepts) {
    assert.equal(a.pid, process.pid, 'passive opens are attributed to the listener owner');
    assert.equal(a.process, 'node');
    assert.equal(a.listener.port, port);
  }
  assert.equal(of('close').length, 2 * N);

  // Durations: for each socket (by 4-tuple, after its port is known) the time spent in the old
  // state equals the gap between its consecutive transitions, and connect latency equals the
  // SYN_SENT -> ESTABLISHED duration.
  const bySocket = new Map<string, Ev[]>();
  for (const e of of('state')) {
    if (e.local.port === 0) continue; // SYN_SENT: no local port yet
    const key = `${e.local.port}>${e.remote.port}`;
    bySocket.set(key, [...(bySocket.get(key) ?? []), e]);
  }
  assert.equal(bySocket.size, 2 * N);
  for (const [key, list] of bySocket) {
    for (let i = 1; i < list.length; i++) {
      const gap = list[i]!.ts - list[i - 1]!.ts;
      assert.ok(typeof list[i]!.durationMs === 'number', `${key} ${list[i]!.oldState}`);
      assert.ok(Math.abs(list[i]!.durationMs - gap) < 0.01, `${key}: durationMs ${list[i]!.durationMs} vs gap ${gap}`);
    }
    const close = of('close').find((c) => `${c.local.port}>${c.remote.port}` === key);
    assert.ok(close && typeof close.durationMs === 'number' && close.durationMs >= 0, key);
  }
  for (const c of connects) {
    const established = of('state').find((e) => e.oldState === 'SYN_SENT' && e.local.port === c.local.port);
    assert.equal(established?.durationMs, c.latencyMs);
  }
});

test('--count N prints exactly N events and exits 0 on its own', { skip: SKIP }, async () => {
  const { server, port } = await closingServer('bye');
  const child = spawn(process.execPath, [CLI, 'trace', 'states', '--json', '--count', '7', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    while (!stderr.includes('Ctrl-C to stop')) {
      if (child.exitCode !== null) assert.fail(`trace exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Each round trip makes 10 transitions: two are more than the count asks for.
    for (let i = 0; i < 2; i++) await roundTrip(port);
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    server.close();
  }
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 7, stdout);
  assert.ok(lines.every((l) => (JSON.parse(l) as Ev).type === 'state'));
  assert.match(stderr, /7 events printed/);
});

test('connections to a closed port are reported as refused, with the RST both ways', { skip: SKIP }, async () => {
  const port = await closedPort();
  const trace = await startTrace(['all', '--json', '--port', String(port)]);
  const errors: string[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', (e: NodeJS.ErrnoException) => {
        errors.push(e.code ?? '');
        resolve();
      });
      c.on('connect', () => resolve());
    });
  }
  const { code, events } = await trace.stop();
  assert.equal(code, 0);
  assert.deepEqual(errors, ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  const failed = events.filter((e) => e.type === 'connect-failed') as Ev[];
  assert.equal(failed.length, 3);
  for (const f of failed) {
    assert.equal(f.reason, 'refused');
    assert.equal(f.remote.port, port);
    assert.equal(f.pid, process.pid);
    assert.equal(f.synRetransmits, 0);
  }
  const resets = events.filter((e) => e.type === 'reset') as Ev[];
  assert.equal(resets.filter((r) => r.direction === 'received').length, 3);
  const sent = resets.filter((r) => r.direction === 'sent');
  assert.equal(sent.length, 3);
  for (const r of sent) assert.equal(r.reason, 'NO_SOCKET', 'tcp_send_reset reason by name');
  assert.equal(events.filter((e) => e.type === 'connect').length, 0);
});

test('two traces at once both see every event, and each removes its own instance on Ctrl-C', { skip: SKIP }, async () => {
  const { server, port } = await closingServer();
  const a = await startTrace(['states', '--json', '--port', String(port)]);
  const b = await startTrace(['connect', '--json', '--port', String(port)]);
  const instances = readdirSync(`${tracefsRoot()}/instances`);
  assert.ok(instances.includes(`tcpdiag-${a.child.pid}`));
  assert.ok(instances.includes(`tcpdiag-${b.child.pid}`));
  try {
    for (let i = 0; i < 4; i++) await roundTrip(port);
  } finally {
    server.close();
  }
  const [ra, rb] = await Promise.all([a.stop(), b.stop()]);
  assert.equal(ra.code, 0);
  assert.equal(rb.code, 0);
  // 10 transitions per connection, plus the listener's own LISTEN -> CLOSE if it was seen.
  assert.equal(ra.events.filter((e) => e.type === 'state' && !(e.oldState === 'LISTEN' && e.newState === 'CLOSE')).length, 40);
  assert.equal(rb.events.filter((e) => e.type === 'connect').length, 4);
  assert.ok(!existsSync(`${tracefsRoot()}/instances/tcpdiag-${a.child.pid}`));
  assert.ok(!existsSync(`${tracefsRoot()}/instances/tcpdiag-${b.child.pid}`));
});

test('SIGTERM and --duration both leave no tracing instance behind', { skip: SKIP }, async () => {
  const t = await startTrace(['states', '--json', '--port', '9']);
  t.child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => t.child.on('close', (c) => r(c)));
  assert.equal(code, 0, 'SIGTERM is a graceful stop, like Ctrl-C');
  assert.ok(!existsSync(`${tracefsRoot()}/instances/tcpdiag-${t.child.pid}`));
  const d = await startTrace(['resets', '--duration', '500ms', '--port', '9']);
  const dcode = await new Promise<number | null>((r) => d.child.on('close', (c) => r(c)));
  assert.equal(dcode, 0);
  assert.ok(!existsSync(`${tracefsRoot()}/instances/tcpdiag-${d.child.pid}`));
});

test('flag combinations that make no sense are usage errors (exit 2)', async () => {
  const child = spawn(process.execPath, [CLI, 'trace', 'connect', '--stats'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 2);
  assert.match(stderr, /--stats works with the states mode/);
});

test('a process that connects and exits before tcpdiag reads its events is still named', { skip: SKIP }, async () => {
  const { server, port } = await closingServer();
  const trace = await startTrace(['connect', '--json', '--dport', String(port)]);
  let childPid = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1', () => process.exit(0))`], { stdio: 'ignore' });
      childPid = child.pid ?? 0;
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    const { events } = await trace.stop();
    const connect = events.find((e) => e.type === 'connect') as Ev | undefined;
    assert.ok(connect, JSON.stringify(events));
    assert.equal(connect.pid, childPid, 'from tracefs saved_tgids/saved_cmdlines once /proc/PID is gone');
    assert.equal(connect.process, 'node');
  } finally {
    server.close();
  }
});

test('`tcpdiag trace | head -1` exits when the pipe closes and leaves no tracing instance', { skip: SKIP, timeout: 30_000 }, async () => {
  const { server, port } = await closingServer();
  const child = spawn(process.execPath, [CLI, 'trace', 'states', '--json', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  try {
    while (!stderr.includes('Ctrl-C to stop')) await new Promise((r) => setTimeout(r, 20));
    child.stdout.once('data', () => child.stdout.destroy()); // like head: read one chunk, close
    // tcpdiag learns the pipe is gone on its next write: keep events coming until it exits.
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && Date.now() < deadline) {
      await roundTrip(port);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.notEqual(child.exitCode, null, 'exited after the pipe closed');
    const code = await exited;
    assert.equal(code, 0, stderr);
    assert.ok(!existsSync(`${tracefsRoot()}/instances/tcpdiag-${child.pid}`));
  } finally {
    child.kill('SIGKILL');
    server.close();
  }
});
