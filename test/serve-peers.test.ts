/**
 * Per-peer series in the agent's /metrics (agent.metrics_peer_labels), inside a network
 * namespace the test creates: a server on 127.0.0.2 and eight clients, each from its own
 * source address (127.0.0.11-18, on the namespace's lo: 127.0.0.0/8 is local there), holding
 * 1-8 connections. With the cap at 3 the busiest three peers are named with ss's counts, the
 * agent's own HTTP connection goes to its configured block (127.0.0.1/32), and peer="other"
 * holds exactly the rest; with the key off no series carries a peer label at all.
 * The event counters per peer need the host namespace (tracepoints carry none): connects from
 * 127.0.0.213 to a closed port on 127.0.0.214 are one reset sent to .213 and one received
 * from .214 each, in those addresses' block series.
 * Root and ip; holds the kernel lock (run through run-tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Netns, actor, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';
import { NsHttp, metricValue, startAgent, until } from './serve-support.js';

/** Sockets of the namespace by remote address, any state but LISTEN, as ss prints them. */
function ssByPeer(ns: Netns): Map<string, number> {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'ss', '-Htan'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[0] === 'LISTEN') continue;
    const peer = f[4]!.replace(/:[^:]+$/, '').replace(/^\[(.*)\]$/, '$1');
    out.set(peer, (out.get(peer) ?? 0) + 1);
  }
  return out;
}

/** Every `name{peer="..."} value` line, by peer. */
function peerSeries(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}\\{peer="([^"]+)"\\} (\\S+)$`, 'gm'))) out.set(m[1]!, Number(m[2]));
  return out;
}

test('with peer labels on, /metrics names the top peers with ss\'s counts, a configured block, and one "other" with the rest; off, no peer label', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'speers');
  const server = await actor(t, ['serve', '0', '--host', '127.0.0.2'], ns);
  const port = (await server.waitFor(/^ready (\d+)/m))[1]!;
  for (let i = 1; i <= 8; i++) {
    const client = await actor(t, ['hold', '127.0.0.2', port, String(i), '--local', `127.0.0.${10 + i}`], ns);
    await client.waitFor(/^ready /m);
  }
  const expected = ssByPeer(ns);
  for (let i = 1; i <= 8; i++) assert.equal(expected.get(`127.0.0.${10 + i}`), i, `ss sees ${i} connections from 127.0.0.${10 + i}`);
  assert.equal(expected.get('127.0.0.2'), 36, 'the clients\' own sockets have the server as their peer');

  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-speers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const on = join(dir, 'on.conf');
  writeFileSync(on, '[agent]\nsample_interval_s = 1\nmetrics_peer_labels = true\nmetrics_top_peers = 3\nmetrics_peer_prefixes = ["127.0.0.1/32"]\n');
  const agent = await startAgent(t, ns, join(dir, 'on'), on);
  const http = new NsHttp(t, ns);
  const text = await until('the agent\'s socket table with every client', 20_000, async () => {
    const r = await http.request('GET', `${agent.url}/metrics`);
    // A table read once this client's own connection existed: the block has its sockets.
    const ready = metricValue(r.body, 'tcpdiag_peer_connections{peer="127.0.0.2"}') === 36 && (metricValue(r.body, 'tcpdiag_peer_connections{peer="127.0.0.1/32"}') ?? 0) >= 1;
    return ready ? r.body : undefined;
  });
  const connections = peerSeries(text, 'tcpdiag_peer_connections');
  // 3 named + the block + other, though the namespace has 10 peers (and would have a million as well).
  assert.deepEqual([...connections.keys()], ['127.0.0.2', '127.0.0.18', '127.0.0.17', '127.0.0.1/32', 'other'], text);
  for (const peer of ['127.0.0.2', '127.0.0.18', '127.0.0.17']) assert.equal(connections.get(peer), expected.get(peer), `${peer} as ss counts it`);
  const rest = [...expected].filter(([peer]) => !['127.0.0.2', '127.0.0.18', '127.0.0.17', '127.0.0.1'].includes(peer)).reduce((sum, [, n]) => sum + n, 0);
  assert.equal(rest, 1 + 2 + 3 + 4 + 5 + 6);
  assert.equal(connections.get('other'), rest, 'other holds every peer not named and outside the block');
  // Kernel events are host-wide, so inside a namespace the event collector does not run and
  // the per-peer event counters are absent rather than a false zero (src/sessions/event-collector.ts).
  assert.doesNotMatch(text, /^tcpdiag_peer_(retransmits|resets)_total\{/m);

  const off = await startAgent(t, ns, join(dir, 'off'), null);
  const offText = await until('the default agent\'s first socket table', 20_000, async () => {
    const r = await http.request('GET', `${off.url}/metrics`);
    return r.status === 200 && /^tcpdiag_connections\{state="ESTABLISHED"\} [1-9]/m.test(r.body) ? r.body : undefined;
  });
  assert.doesNotMatch(offText, /peer=/, 'no per-peer label unless configured');
});

const REFUSED = 6;

function refusedConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.214', port, localAddress: '127.0.0.213' });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('per-peer reset counters come from the kernel events: each refused connect is a reset sent to its source and one received from its target', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason();
  if (skip !== null) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-speers-host-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'tcp_diag.conf');
  writeFileSync(config, '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\nmetrics_peer_labels = true\nmetrics_top_peers = 1\nmetrics_peer_prefixes = ["127.0.0.213/32", "127.0.0.214/32"]\n');
  const proc = await tcpdiagProcess(t, ['--config', config, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')]);
  const url = (await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000))[1]!;
  const get = async (path: string) => (await fetch(`${url}${path}`)).text();
  await until('the event collector runs', 10_000, async () => ((JSON.parse(await get('/api/health')) as { events: { running: boolean } }).events.running ? true : undefined));
  const before = peerSeries(await get('/metrics'), 'tcpdiag_peer_resets_total');
  assert.equal(before.get('127.0.0.213/32'), 0);
  assert.equal(before.get('127.0.0.214/32'), 0);
  // A port nobody listens on: bound once to learn a free one, then closed.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.214', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  for (let i = 0; i < REFUSED; i++) assert.equal(await refusedConnect(port), 'ECONNREFUSED');
  const after = await until('the agent has drained the resets', 10_000, async () => {
    const m = peerSeries(await get('/metrics'), 'tcpdiag_peer_resets_total');
    return m.get('127.0.0.213/32') === REFUSED && m.get('127.0.0.214/32') === REFUSED ? m : undefined;
  });
  // Capped whatever the host's own peers: at most 1 named + the two blocks + other.
  assert.ok(after.size <= 4 && after.has('other'), JSON.stringify([...after]));
  assert.equal(peerSeries(await get('/metrics'), 'tcpdiag_peer_retransmits_total').get('127.0.0.213/32'), 0, 'no retransmission with them');
});
