/**
 * --netns: inside a network namespace the test creates, every command sees exactly that
 * namespace's sockets, counters, sysctls, events and packets, not the host's, by name, by PID
 * and by path, through sock_diag and through procfs, with and without a process in it; and
 * `tcpdiag netns` lists it with its sockets and processes.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { CLI, REPO_ROOT, runCli, runCliJson } from './helpers/cli.js';
import { TestNetns, netnsUsable } from './helpers/netns.js';
import { findExecutable, hasKernelBtf } from '../src/platform/capabilities.js';

const SKIP = netnsUsable() ?? (findExecutable('ss') === null ? 'needs ss (apt-get install -y iproute2)' : false);

interface SocketJson { state: string; local: { address: string; port: number }; remote: { address: string; port: number }; pid: number | null }

const namespaces: TestNetns[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
let ns: TestNetns;
let empty: TestNetns;
let mesh: ChildProcessWithoutNullStreams;

before(async () => {
  if (SKIP !== false) return;
  ns = TestNetns.create('nsa', ['10.1.2.3/8', '192.168.7.1/24', '2001:db8::5/64']);
  namespaces.push(ns);
  const [file, ...args] = ns.exec(['python3', join(REPO_ROOT, 'test/fixtures/programs/conn_mesh.py')]);
  mesh = spawn(file!, args);
  children.push(mesh);
  const first = await createInterface({ input: mesh.stdout })[Symbol.asyncIterator]().next();
  assert.equal(first.value, 'ready');
  // A namespace no process runs in: only TIME_WAIT sockets of a connection closed inside it.
  empty = TestNetns.create('nsb');
  namespaces.push(empty);
  inNs(empty, ['python3', '-c', [
    'import socket',
    's = socket.socket(); s.bind(("127.0.0.1", 7070)); s.listen()',
    'c = socket.create_connection(("127.0.0.1", 7070)); a, _ = s.accept()',
    'c.close(); a.recv(1); a.close(); s.close()',
  ].join('\n')]);
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const n of namespaces) n.delete();
});

function inNs(n: TestNetns, command: string[]): string {
  const [file, ...args] = n.exec(command);
  const r = spawnSync(file!, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${command.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Resolves once `marker` appears on the child's stderr; rejects with what it said if it exits first. */
function started(child: ReturnType<typeof spawn>, marker: string, stderr: { text: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr.text += d;
      if (stderr.text.includes(marker)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before starting: ${stderr.text}`)));
  });
}

const key = (s: SocketJson): string => `${s.state} ${s.local.address}:${s.local.port} ${s.remote.address}:${s.remote.port}`;

/** How many TCP sockets ss sees inside the namespace. */
function ssCount(n: TestNetns): number {
  return inNs(n, ['ss', '-tanH']).trim().split('\n').filter((l) => l !== '').length;
}

test('conns -N sees exactly the namespace\'s sockets, by name, PID and path, through sock_diag and procfs', { skip: SKIP, timeout: 60_000 }, async () => {
  const byName = await runCliJson<SocketJson[]>(['conns', '--json', '-N', ns.name]);
  assert.equal(byName.length, ssCount(ns));
  assert.ok(byName.some((s) => s.local.address === '10.1.2.3'), 'the namespace\'s own addresses');
  // The host has no 10.1.2.3 and no 2001:db8::5 sockets: nothing leaks in from it.
  const host = await runCliJson<SocketJson[]>(['conns', '--json', 'src 10.1.2.3 or src [2001:db8::5]']);
  assert.equal(host.length, 0);
  // Owners are found across namespaces: the mesh owns its sockets.
  const listening = byName.filter((s) => s.state === 'LISTEN');
  assert.equal(listening.length, 7);
  for (const s of listening) assert.equal(s.pid, mesh.pid);
  const keys = byName.map(key).sort();
  for (const args of [['-N', String(mesh.pid)], ['--netns', ns.path], ['-N', ns.name, '--source', 'procfs']]) {
    const other = await runCliJson<SocketJson[]>(['conns', '--json', ...args]);
    assert.deepEqual(other.map(key).sort(), keys, args.join(' '));
  }
  // With a filter, in the namespace's kernel.
  const filtered = await runCliJson<SocketJson[]>(['conns', '--json', '-N', ns.name, 'state', 'established', 'dport = :8001']);
  assert.deepEqual(filtered.map((s) => s.remote.port), [8001]);
});

test('a namespace no process runs in is read from inside it (sock_diag and procfs alike)', { skip: SKIP, timeout: 60_000 }, async () => {
  for (const source of ['sockdiag', 'procfs']) {
    const sockets = await runCliJson<SocketJson[]>(['conns', '--json', '-N', empty.name, '--source', source]);
    assert.deepEqual(sockets.map((s) => s.state), ['TIME_WAIT'], source);
    assert.equal(sockets[0]!.remote.port, 7070);
  }
  // tcpdiag netns counts it from inside it too (nothing runs there, only a name holds it).
  const list = await runCliJson<{ names: string[]; processes: unknown[]; sockets: { total: number } | null }[]>(['netns', '--json']);
  const bare = list.find((n) => n.names.includes(empty.name));
  assert.equal(bare?.sockets?.total, 1);
  assert.equal(bare.processes.length, 0);
});

test('listeners and stats -N: the namespace\'s listeners, counters, states and sysctls', { skip: SKIP, timeout: 60_000 }, async () => {
  const listeners = await runCliJson<{ local: { port: number }; established: number }[]>(['listeners', '--json', '-N', ns.name]);
  assert.deepEqual(listeners.map((l) => l.local.port).sort((a, b) => a - b), [22, 80, 443, 8001, 8002, 8003, 8004]);
  inNs(ns, ['sysctl', '-q', '-w', 'net.ipv4.tcp_fin_timeout=17']);
  const stats = await runCliJson<{ states: Record<string, number>; counters: Record<string, number>; sysctl: Record<string, string> }>(['stats', '--json', '-N', ns.name]);
  // conn_mesh.py made 13 connections, all inside the namespace.
  assert.equal(stats.counters.ActiveOpens, 13);
  assert.equal(stats.counters.PassiveOpens, 13);
  assert.equal(stats.states.LISTEN, 7);
  assert.equal(stats.states.TIME_WAIT, 2);
  assert.equal(stats.sysctl['net.ipv4.tcp_fin_timeout'], '17');
  const hostStats = await runCliJson<{ sysctl: Record<string, string> }>(['stats', '--json']);
  assert.notEqual(hostStats.sysctl['net.ipv4.tcp_fin_timeout'], '17');
});

test('trace -N: only the namespace\'s events, selected in the kernel', { skip: SKIP || (findExecutable('bpftrace') === null || !hasKernelBtf() ? 'needs bpftrace and BTF' : false), timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'trace', 'connect', '--json', '-N', ns.name, 'dport = :47001'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child as unknown as ChildProcessWithoutNullStreams);
  let stdout = '';
  const err = { text: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  await started(child, 'Ctrl-C to stop', err);
  const connect = (n: number) => ['python3', '-c', `import socket\ns = socket.socket(); s.bind(("127.0.0.1", 47001)); s.listen()\nfor i in range(${n}):\n  c = socket.create_connection(("127.0.0.1", 47001)); a, _ = s.accept(); c.close(); a.close()`];
  inNs(ns, connect(3));
  // The same port on the host's loopback, at the same time: none of it may appear.
  const host = spawnSync(connect(5)[0]!, connect(5).slice(1), { encoding: 'utf8' });
  assert.equal(host.status, 0, host.stderr);
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  await new Promise((r) => child.once('close', r));
  const events = stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; remote: { port: number } });
  assert.equal(events.filter((e) => e.type === 'connect').length, 3, stdout + err.text);
});

test('capture -N: the namespace\'s interfaces and packets', { skip: SKIP || (findExecutable('tcpdump') === null ? 'needs tcpdump' : false), timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'capture', '--json', '-N', ns.name, '-i', 'lo', '--duration', '4s', 'tcp', 'port', '47002'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  const err = { text: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  await started(child, 'capturing on', err);
  const connect = (address: string) => ['python3', '-c', `import socket\ns = socket.socket(); s.bind(("${address}", 47002)); s.listen()\nc = socket.create_connection(("${address}", 47002)); a, _ = s.accept(); c.close(); a.close()`];
  inNs(ns, connect('10.1.2.3'));
  const host = spawnSync('python3', connect('127.0.0.1').slice(1), { encoding: 'utf8' });
  assert.equal(host.status, 0, host.stderr);
  await new Promise((r) => child.once('close', r));
  const packets = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; src?: { address: string } }).filter((p) => p.type === 'packet');
  assert.ok(packets.length >= 6, `${packets.length} packets: ${err.text}`);
  for (const p of packets) assert.equal(p.src!.address, '10.1.2.3');
  assert.match(err.text, new RegExp(`in network namespace ${ns.name}`));
});

test('tcpdiag netns lists the namespace with its sockets and processes', { skip: SKIP, timeout: 60_000 }, async () => {
  const list = await runCliJson<{ inode: number; names: string[]; current: boolean; processes: { pid: number }[]; sockets: { total: number } | null }[]>(['netns', '--json']);
  const mine = list.find((n) => n.names.includes(ns.name));
  assert.ok(mine, JSON.stringify(list.map((n) => n.names)));
  assert.equal(mine.sockets?.total, ssCount(ns));
  assert.ok(mine.processes.some((p) => p.pid === mesh.pid));
  assert.ok(list.some((n) => n.names.includes(empty.name)));
  assert.equal(list.filter((n) => n.current).length, 1);
  const text = await runCli(['netns']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^${ns.name} `, 'm'));
});

test('a --netns that names nothing is a usage error that says what exists', async () => {
  const r = await runCli(['conns', '-N', 'no-such-namespace-here']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no namespace of that name/);
  const pid = await runCli(['stats', '--netns', '99999999']);
  assert.equal(pid.code, 2);
  assert.match(pid.stderr, /no process 99999999/);
});
