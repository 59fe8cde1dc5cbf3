/**
 * `trace drops`: TCP packets the kernel dropped, by the kernel's reason (skb:kfree_skb), checked
 * against the kernel's own counters for drops we cause on purpose. Traffic runs in a private
 * network namespace so its /proc/net/snmp and netstat count only this test's packets; tcpdiag
 * traces from the root namespace (tracepoints see every namespace) and filters by port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { findExecutable, hasKernelBtf, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { NftTable } from './helpers/nft.js';
import { netnsCounters, run, sleep, startTrace } from './trace-support.js';

const SKIP = !isRoot() || tracefsRoot() === null ? 'needs root and tracefs'
  : findExecutable('bpftrace') === null || !hasKernelBtf() ? 'needs bpftrace and kernel BTF (apt-get install -y bpftrace)'
    : findExecutable('nft') === null || findExecutable('ip') === null ? 'needs nft and ip (apt-get install -y nftables iproute2)' : false;

type Ev = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the CLI

/** A namespace with loopback up, removed by the returned function. */
function netns(purpose: string): { name: string; remove: () => void } {
  const name = `tcpdiag_drops_${purpose}_${process.pid}`;
  assert.equal(run('ip', ['netns', 'add', name]).status, 0);
  assert.equal(run('ip', ['-n', name, 'link', 'set', 'lo', 'up']).status, 0);
  return { name, remove: () => void run('ip', ['netns', 'del', name]) };
}

/** Run a Node script in the namespace to completion; its stdout. */
function nodeIn(ns: string, script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exited ${code}: ${out}`))));
  });
}

test('drops to a closed port are NO_SOCKET, one per SYN, as many as the RSTs the kernel counted', { skip: SKIP, timeout: 90_000 }, async () => {
  const ns = netns('closed');
  const port = 30000 + (process.pid % 2000);
  const attempts = 20;
  try {
    const trace = await startTrace(['drops', '--json', '--port', String(port)], 60_000);
    const before = netnsCounters(ns.name);
    const out = await nodeIn(ns.name, `
const net = require('net');
let refused = 0, done = 0;
for (let i = 0; i < Number(process.env.N); i++) {
  const c = net.connect(Number(process.env.P), '127.0.0.1');
  c.on('error', (e) => { if (e.code === 'ECONNREFUSED') refused++; if (++done === Number(process.env.N)) console.log(refused); });
}`, { P: String(port), N: String(attempts) });
    const after = netnsCounters(ns.name);
    const result = await trace.stop();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(Number(out), attempts, 'every connect was refused');
    const drops = result.events.filter((e) => e.type === 'drop') as Ev[];
    const detail = JSON.stringify(drops.slice(0, 3));
    assert.equal(drops.length, attempts, detail);
    for (const d of drops) {
      assert.equal(d.reason, 'NO_SOCKET', detail);
      assert.equal(d.direction, 'in');
      assert.equal(d.flags, 'S');
      assert.deepEqual(d.local, { address: '127.0.0.1', port });
      assert.equal(d.family, 4);
      assert.equal(d.state, null);
    }
    // Each SYN without a socket is answered by an RST (tcp_v4_send_reset) and then dropped.
    assert.equal(after.OutRsts! - before.OutRsts!, attempts);
    const summary = result.events.find((e) => e.type === 'drop-summary') as Ev;
    assert.deepEqual(summary.reasons, { NO_SOCKET: attempts });
    assert.equal(summary.total, attempts);
    assert.equal(summary.lost, 0);
  } finally {
    ns.remove();
  }
});

test('a listener that never accepts drops final ACKs as TCP_LISTEN_OVERFLOW, as many as ListenOverflows; the firewall\'s are NETFILTER_DROP, as many as its counter', { skip: SKIP, timeout: 90_000 }, async () => {
  const ns = netns('overflow');
  const port = 32100 + (process.pid % 2000);
  const table = `tcpdiag_drops_${process.pid}`;
  let listener: ChildProcess | undefined;
  try {
    // No SYN cookies: with them a SYN meeting a full SYN queue gets a cookie instead of a
    // request socket, and the ACK that returns it takes another path (cookie_v4_check).
    assert.equal(run('ip', ['netns', 'exec', ns.name, 'sysctl', '-qw', 'net.ipv4.tcp_syncookies=0']).status, 0);
    // backlog 10: the accept queue is full at 11 (sk_acceptq_is_full, include/net/sock.h), the
    // SYN queue at 10 requests (inet_csk_reqsk_queue_is_full).
    const started = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c',
      `import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',${port}))\ns.listen(10)\nprint('ready',flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'pipe'] });
    listener = started;
    await new Promise<void>((resolve, reject) => {
      started.stdout.once('data', () => resolve());
      started.once('close', (code) => reject(new Error(`listener exited ${String(code)}`)));
    });
    // On loopback a handshake completes inside connect(), and a SYN that meets a full accept
    // queue is consumed, not dropped (tcp_rcv_state_process). So: 5 clients from 127.0.0.1
    // get their SYN-ACK but their final ACK is dropped (NETFILTER_DROP), leaving 5 requests;
    // 11 clients from 127.0.0.2 then fill the accept queue. Once the rule goes, the SYN-ACK
    // retransmissions (1 s, then 3 s) bring the 5 ACKs back, and each overflows the queue in
    // tcp_check_req: TCP_LISTEN_OVERFLOW, counted as ListenOverflows and ListenDrops. The 5
    // clients, established on their side, answer each SYN-ACK with a challenge ACK
    // (TCPSYNChallenge) and drop it as TCP_INVALID_SYN.
    const ruleset = `table inet ${table} {\n  chain c {\n    type filter hook input priority 0; policy accept;\n    ip saddr 127.0.0.1 tcp dport ${port} tcp flags == ack counter drop\n  }\n}\n`;
    const nft = run('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], ruleset);
    assert.equal(nft.status, 0, nft.stderr);
    const trace = await startTrace(['drops', '--json', '--port', String(port)], 60_000);
    const before = netnsCounters(ns.name);
    const traffic = nodeIn(ns.name, `
const net = require('net');
const socks = [];
const open = (n, from) => { for (let i = 0; i < n; i++) { const c = net.connect({ port: Number(process.env.P), host: '127.0.0.1', localAddress: from }); c.on('error', () => {}); socks.push(c); } };
open(5, '127.0.0.1');
setTimeout(() => open(11, '127.0.0.2'), 200);
setTimeout(() => { for (const c of socks) c.destroy(); console.log('done'); }, 4000);`, { P: String(port) });
    await sleep(600);
    const counter = run('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', table]).stdout;
    const filtered = Number(/counter packets (\d+)/.exec(counter)?.[1]);
    run('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', table]);
    await sleep(3000); // both SYN-ACK retransmissions, before the clients close at 4 s
    const after = netnsCounters(ns.name);
    const result = await trace.stop();
    await traffic;
    assert.equal(result.code, 0, result.stderr);
    const drops = result.events.filter((e) => e.type === 'drop') as Ev[];
    const count = (reason: string) => drops.filter((d) => d.reason === reason).length;
    const delta = (name: string) => after[name]! - before[name]!;
    const summary = result.events.find((e) => e.type === 'drop-summary') as Ev;
    const detail = `${JSON.stringify(summary)} ListenOverflows +${delta('ListenOverflows')} ListenDrops +${delta('ListenDrops')} TCPSYNChallenge +${delta('TCPSYNChallenge')} nft ${filtered}`;
    assert.equal(filtered, 5, detail);
    assert.equal(count('NETFILTER_DROP'), filtered, detail);
    for (const d of drops.filter((e) => e.reason === 'NETFILTER_DROP')) assert.equal(d.flags, '.');
    assert.ok(count('TCP_LISTEN_OVERFLOW') >= 5, detail);
    assert.equal(count('TCP_LISTEN_OVERFLOW'), delta('ListenOverflows'), detail);
    assert.equal(delta('ListenDrops'), delta('ListenOverflows'), detail);
    assert.equal(count('TCP_INVALID_SYN'), delta('TCPSYNChallenge'), detail);
    for (const d of drops.filter((e) => e.reason === 'TCP_LISTEN_OVERFLOW')) {
      assert.equal(d.state, 'LISTEN', JSON.stringify(d));
      assert.deepEqual(d.local, { address: '127.0.0.1', port });
      assert.equal(d.flags, '.');
      assert.equal(d.direction, 'in');
    }
    assert.equal(summary.reasons.TCP_LISTEN_OVERFLOW, count('TCP_LISTEN_OVERFLOW'));
    assert.equal(summary.total, drops.length);
  } finally {
    listener?.kill();
    run('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', table]);
    ns.remove();
  }
});

test('a drop on a connection names its owner from the socket table, and text mode ends with counts per reason', { skip: SKIP, timeout: 60_000 }, async () => {
  // A server in its own process; its inbound data is dropped by the firewall before any socket
  // lookup (the skb has no socket), so the owner can only come from the socket table.
  const server = spawn(process.execPath, ['-e', `
const s = require('net').createServer((c) => c.on('data', () => {})).listen(0, '127.0.0.1', () => console.log(s.address().port));
setTimeout(() => process.exit(0), 30000).unref();`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => server.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d))));
  const nft = new NftTable('drops_owner');
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.on('connect', r));
  c.on('error', () => undefined);
  let json;
  let text;
  try {
    nft.create([`tcp dport ${port} ip length > 500 drop`]);
    const traced = await startTrace(['drops', '--json', '--port', String(port)], 60_000);
    const plain = await startTrace(['drops', '--port', String(port)], 60_000);
    c.write(Buffer.alloc(1000, 1));
    await sleep(800); // the first transmission and its retransmission after 200 ms
    nft.delete();
    [json, text] = await Promise.all([traced.stop(), plain.stop()]);
  } finally {
    nft.delete();
    c.destroy();
    server.kill();
  }
  assert.equal(json.code, 0, json.stderr);
  const drops = json.events.filter((e) => e.type === 'drop') as Ev[];
  assert.ok(drops.length >= 2, JSON.stringify(json.events));
  for (const d of drops) {
    assert.equal(d.reason, 'NETFILTER_DROP');
    assert.equal(d.local.port, port, 'an arriving packet: local is its destination');
    assert.equal(d.pid, server.pid, JSON.stringify(d));
    assert.equal(d.process, 'node');
  }
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /NETFILTER_DROP in \[\.?P?\.?\]/);
  assert.match(text.stdout, new RegExp(`TCP drops[\\s\\S]*REASON\\s+DROPS\\s*\\n\\s*NETFILTER_DROP\\s+${drops.length}\\b`));
});

test('trace drops -N: only the drops of that namespace (kfree_skb has no socket field: the packet\'s device or socket is tested in the kernel)', { skip: SKIP, timeout: 90_000 }, async () => {
  const ns = netns('netns');
  const port = 32000 + (process.pid % 2000);
  const connects = (n: number): string => `
const net = require('net');
let done = 0;
for (let i = 0; i < ${n}; i++) net.connect(${port}, '127.0.0.1').on('error', () => { if (++done === ${n}) console.log(done); });`;
  try {
    const trace = await startTrace(['drops', '--json', '-N', ns.name, '--port', String(port)], 60_000);
    await nodeIn(ns.name, connects(5), {});
    // The same port on the host: dropped too, but in another namespace.
    const host = spawn(process.execPath, ['-e', connects(3)], { stdio: 'ignore' });
    await new Promise((resolve) => host.on('close', resolve));
    const result = await trace.stop();
    assert.equal(result.code, 0, result.stderr);
    const drops = result.events.filter((e) => e.type === 'drop') as Ev[];
    assert.equal(drops.length, 5, JSON.stringify(drops));
    for (const d of drops) assert.deepEqual([d.reason, d.flags, d.local.port], ['NO_SOCKET', 'S', port]);
  } finally {
    ns.remove();
  }
});
