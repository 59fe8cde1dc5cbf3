/**
 * Retransmissions under real loss: an nft rule on the INPUT hook (on OUTPUT the kernel
 * re-sends locally without counting retransmissions, architecture.md) drops a share of the
 * packets of one port, inside a private network namespace so that namespace's /proc/net/snmp
 * counts only this test's traffic. tcpdiag traces from the root namespace (tracepoints see
 * every namespace) with a kernel port filter; its counts must agree with the kernel's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { findExecutable, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import type { BackgroundTrace } from './trace-support.js';
import { netnsCounters, run, startTrace } from './trace-support.js';

const SKIP = !isRoot() || tracefsRoot() === null ? 'needs root and tracefs'
  : findExecutable('nft') === null || findExecutable('ip') === null ? 'needs nft and ip (apt-get install -y nftables iproute2)' : false;

const NS = `tcpdiag_trace_${process.pid}`;
const CONNECTIONS = 60;
const BYTES_EACH = 1 << 20;
const LOSS_PERCENT = 5;
const HANDSHAKE_LOSS_PERCENT = 15;

// Runs inside the namespace: a sink server and CONNECTIONS clients sending BYTES_EACH each.
const TRAFFIC = `
const net = require('net');
const P = Number(process.env.P), N = Number(process.env.N), SIZE = Number(process.env.SIZE);
const srv = net.createServer((c) => { let n = 0; c.on('data', (d) => { n += d.length; }); c.on('end', () => c.end(String(n))); c.on('error', () => {}); });
srv.listen(P, '127.0.0.1', () => {
  let done = 0, ok = 0;
  for (let i = 0; i < N; i++) {
    const c = net.connect(P, '127.0.0.1', () => c.end(Buffer.alloc(SIZE)));
    let reply = '';
    c.on('data', (d) => { reply += d; });
    c.on('error', () => {});
    c.on('close', () => { if (reply === String(SIZE)) ok++; if (++done === N) { srv.close(); console.log(JSON.stringify({ ok })); } });
  }
});
setTimeout(() => { console.log('timeout'); process.exit(1); }, 90000).unref();
`;

function runInNs(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', TRAFFIC], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`traffic exited ${code}: ${out}`))));
  });
}

test('retransmissions under an nft INPUT loss rule are reported by kind and agree with the kernel counters', { skip: SKIP, timeout: 120_000 }, async () => {
  // Below the ephemeral range (32768+), so no other test's connection in the root namespace
  // can share the port the kernel filter selects.
  const port = 20000 + (process.pid % 10000);
  assert.equal(run('ip', ['netns', 'add', NS]).status, 0);
  const traces: BackgroundTrace[] = [];
  try {
    assert.equal(run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']).status, 0);
    // Bounded run time (the loss is random, and so is how long the slowest connection takes):
    // - no TCP timestamps in this namespace: with them, a connection whose SYN was retransmitted
    //   can take its first RTT sample from the SYN-ACK echoing the first SYN's timestamp, ~1 s,
    //   and its RTO grows to several seconds; one such connection took 65 s to finish here;
    // - handshake packets lost at 15% and the rest at 5%: enough for SYN, SYN-ACK and data
    //   retransmissions every run, while a handshake that fails 4 times in a row (after which
    //   SYN timeouts turn exponential, tcp_syn_linear_timeouts) stays rare. 12 runs: 1.5-5.5 s.
    const ts = run('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.tcp_timestamps=0']);
    assert.equal(ts.status, 0, ts.stderr);
    const ruleset = `table inet tcpdiag_test_${process.pid} {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport ${port} tcp flags & (syn | ack) == syn numgen random mod 100 < ${HANDSHAKE_LOSS_PERCENT} drop
    tcp sport ${port} tcp flags & (syn | ack) == (syn | ack) numgen random mod 100 < ${HANDSHAKE_LOSS_PERCENT} drop
    tcp dport ${port} tcp flags & syn == 0 numgen random mod 100 < ${LOSS_PERCENT} drop
    tcp sport ${port} tcp flags & syn == 0 numgen random mod 100 < ${LOSS_PERCENT} drop
  }
}
`;
    const nft = run('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], ruleset);
    assert.equal(nft.status, 0, nft.stderr);

    const all = await startTrace(['all', '--json', '--port', String(port)]);
    traces.push(all);
    const report = await startTrace(['retrans', '--interval', '60', '--json', '--port', String(port)]);
    traces.push(report);
    const before = netnsCounters(NS);
    const out = await runInNs({ P: String(port), N: String(CONNECTIONS), SIZE: String(BYTES_EACH) });
    const after = netnsCounters(NS);
    const [traced, reported] = await Promise.all([all.stop(), report.stop()]);
    assert.equal(traced.code, 0, traced.stderr);
    assert.equal(reported.code, 0, reported.stderr);
    assert.equal((JSON.parse(out) as { ok: number }).ok, CONNECTIONS, 'every transfer completed despite the loss');

    const delta = (name: string) => (after[name] ?? NaN) - (before[name] ?? NaN);
    const events = traced.events;
    assert.equal(events.filter((e) => e.type === 'lost').length, 0);
    const retrans = events.filter((e) => e.type === 'retransmit');
    const byKind = (k: string) => retrans.filter((e) => e.kind === k).length;
    assert.ok(byKind('data') > 0, 'data retransmissions');
    assert.ok(byKind('syn') > 0, 'SYN retransmissions');
    assert.ok(byKind('synack') > 0, 'SYN-ACK retransmissions');
    for (const e of retrans) {
      const ports = [(e.local as { port: number }).port, (e.remote as { port: number }).port];
      assert.ok(ports.includes(port));
      if (e.kind === 'syn') assert.equal(e.state, 'SYN_SENT');
    }

    // The kernel's own counters in the namespace (only this traffic). RetransSegs counts
    // segments (tcp_skb_pcount of each skb) where the tracepoint fires once per skb, and it
    // counts tail loss probes that re-send the last segment (tcp_send_loss_probe), so it may
    // exceed the traced events by at most those probes; everything else must match exactly.
    const gap = delta('RetransSegs') - retrans.length;
    const detail = `events ${retrans.length}, RetransSegs +${delta('RetransSegs')}, TCPLossProbes +${delta('TCPLossProbes')}`;
    console.log(detail);
    assert.ok(gap >= 0 && gap <= delta('TCPLossProbes'), detail);
    assert.equal(byKind('syn') + byKind('synack'), delta('TCPSynRetrans'));
    assert.equal(events.filter((e) => e.type === 'connect').length, delta('ActiveOpens'));
    assert.equal(events.filter((e) => e.type === 'accept').length, delta('PassiveOpens'));

    // The report mode: per-connection counts that add up to the same events.
    const reports = reported.events.filter((e) => e.type === 'retrans-report') as Array<{
      events: { data: number; syn: number; synack: number };
      connections: Array<{ syn: number; synack: number; data: number }>;
      counters: Record<string, number>;
    }>;
    assert.ok(reports.length >= 1);
    const sum = (f: (r: (typeof reports)[number]) => number) => reports.reduce((n, r) => n + f(r), 0);
    assert.equal(sum((r) => r.events.data), byKind('data'));
    assert.equal(sum((r) => r.events.syn), byKind('syn'));
    assert.equal(sum((r) => r.events.synack), byKind('synack'));
    assert.equal(sum((r) => r.connections.reduce((n, c) => n + c.syn + c.synack + c.data, 0)), retrans.length);
  } finally {
    // A failure before stop() (the traffic timing out) must not leave the tracers running.
    for (const t of traces) if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGINT');
    run('ip', ['netns', 'del', NS]);
  }
});
