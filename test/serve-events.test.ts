/**
 * The agent's kernel events end to end, as root in the host namespace (tracepoints carry no
 * namespace, so the agent traces only there): real connections, resets (SO_LINGER 0 closes,
 * connects to a closed port) and retransmissions (an nft INPUT rule dropping a share of a server's packets)
 * on loopback, checked in /metrics against the kernel's own counters over the same window,
 * in /api/v1/events against the connections made, and in the per-listener rollups exactly.
 * Unprivileged, the agent says once that it cannot trace and serves the rest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import type { TestContext } from 'node:test';
import { rootSkipReason, sleep, startProcess, tcpdiagProcess } from './diagnose-support.js';
import type { Proc } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { CLI } from './helpers/cli.js';
import { metricValue, until } from './serve-support.js';

const NORMAL = 40;
const RESETS = 5;
const REFUSED = 3;
const LOSSY = 4;
/** Enough segments at LOSS_PERCENT that some are always lost (64 KiB GSO segments on lo: ~50 per connection). */
const LOSSY_BYTES = 3 * 1024 * 1024;
const LOSS_PERCENT = 5;
const FAST = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n';

/** One keep-alive connection to the agent: requests on it move no kernel open or reset counter. */
class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 1000 });
  constructor(t: TestContext, private readonly base: string) {
    t.after(() => this.agent.destroy());
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http.get(`${this.base}${path}`, { agent: this.agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  }

  async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  }
}

/** The host's TCP counters from /proc/net/snmp and /proc/net/netstat (what nstat reads). */
function kernelCounters(): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of ['/proc/net/snmp', '/proc/net/netstat']) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      if (names[0] !== 'Tcp:' && names[0] !== 'TcpExt:') continue;
      names.slice(1).forEach((n, k) => out.set(n, Number(values[k + 1])));
    }
  }
  return out;
}

const WATCHED = ['ActiveOpens', 'PassiveOpens', 'OutRsts', 'RetransSegs', 'TCPSynRetrans', 'AttemptFails'];

/**
 * The kernel's counters and the agent's /metrics at one quiet moment: no TCP open, reset or
 * retransmission on the host for 1.5 s (the agent drains every 100 ms), and none while
 * /metrics was read. The machine is shared, so a window with another process's connection
 * in it is not a measurement; it is waited out (bounded), not compared.
 */
async function checkpoint(client: Client): Promise<{ kernel: Map<string, number>; metrics: string }> {
  const moved = new Map<string, number>();
  const diff = (a: Map<string, number>, b: Map<string, number>) => {
    for (const k of WATCHED) if (a.get(k) !== b.get(k)) moved.set(k, (moved.get(k) ?? 0) + 1);
    return WATCHED.every((k) => a.get(k) === b.get(k));
  };
  try {
    return await until('a quiet moment on the host (no TCP opens, resets or retransmissions for 1.5 s)', 30_000, async () => {
      const before = kernelCounters();
      await sleep(1500);
      if (!diff(before, kernelCounters())) return undefined;
      const metrics = (await client.get('/metrics')).body;
      const after = kernelCounters();
      return diff(before, after) ? { kernel: after, metrics } : undefined;
    });
  } catch (error: unknown) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; windows in which each counter moved: ${JSON.stringify(Object.fromEntries(moved))}`);
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

async function startAgent(t: TestContext, dir: string, argv0: readonly string[] = []): Promise<{ proc: Proc; url: string; stderr: () => string }> {
  const args = ['--config', writeConfig(dir, FAST), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')];
  const proc = argv0.length === 0 ? await tcpdiagProcess(t, args) : await startProcess(t, [...argv0, process.execPath, CLI, ...args]);
  let stderr = '';
  proc.child.stderr.on('data', (d: string) => (stderr += d));
  const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000);
  return { proc, url: m[1]!, stderr: () => stderr };
}

interface StoredEvent { kind: string; local: { port: number }; remote: { port: number }; direction: string | null; state: string | null; reason: string | null }
interface Rollup { key: string; opened: number; closed: number; resets: number; retransmits: number; failed: number; rttSamples: number }

test('the agent counts opens, resets and retransmissions as the kernel does, keeps the abnormal ones and rolls them up per listener', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('nft');
  if (skip !== null) return t.skip(skip);
  const began = Date.now();
  // What the test was doing when it stops: printed as it goes (a timeout says which step).
  const step = (what: string) => t.diagnostic(`${((Date.now() - began) / 1000).toFixed(1)} s: ${what}`);
  const dir = tempDir(t, 'serve-events');
  const agent = await startAgent(t, dir);
  step('agent listening');
  const client = new Client(t, agent.url);
  const health = await until('the event collector runs', 10_000, async () => {
    const h = await client.json<{ events: { running: boolean; backend: string | null; lost: number; reason: string | null } }>('/api/health');
    return h.events.running ? h : undefined;
  });
  assert.equal(health.events.backend, 'tracefs');
  step('event collector running');

  // A normal server, a lossy one (the fault rule below), and a port nobody listens on.
  const accepted: net.Socket[] = [];
  const normal = net.createServer((s) => {
    accepted.push(s);
    s.on('error', () => undefined);
    s.resume(); // 'end' comes only to a flowing stream
    s.on('end', () => s.end());
  });
  // The lossy server sends: its own retransmissions are on its listener's side.
  const lossy = net.createServer((s) => {
    s.on('error', () => undefined);
    s.resume();
    s.end(Buffer.alloc(LOSSY_BYTES, 1));
  });
  const probe = net.createServer();
  const refusedPort = await listen(probe);
  await new Promise<void>((r) => probe.close(() => r()));
  const normalPort = await listen(normal);
  const lossyPort = await listen(lossy);
  t.after(() => {
    normal.close();
    lossy.close();
  });
  // Loss on the INPUT hook (on OUTPUT the kernel re-sends locally without counting a
  // retransmission), of the lossy server's non-SYN packets only: a lost SYN or SYN-ACK would
  // give the connection a ~1 s first RTT sample with timestamps on and an RTO of seconds
  // (the tail test/trace-retrans.test.ts measured), and the host's sysctls are not ours to change.
  const table = `tcpdiag_test_events_${process.pid}`;
  const nft = (args: readonly string[], input?: string) => spawnSync('nft', args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  const added = nft(['-f', '-'], `table inet ${table} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp sport ${lossyPort} tcp flags & syn == 0 numgen random mod 100 < ${LOSS_PERCENT} drop\n  }\n}\n`);
  assert.equal(added.status, 0, added.stderr);
  let removed = false;
  const removeRule = () => {
    if (!removed) nft(['delete', 'table', 'inet', table]);
    removed = true;
  };
  t.after(removeRule);
  // The listener table (read every second) names the listeners the rollups are keyed by.
  await sleep(1500);

  const from = Date.now();
  const start = await checkpoint(client);
  step('first quiet checkpoint');
  const startedAt = Date.now();
  for (let i = 0; i < NORMAL; i++) {
    const s = await connect(normalPort);
    s.on('error', () => undefined);
    s.end('x');
    await new Promise<void>((r) => s.once('close', () => r()));
  }
  for (let i = 0; i < RESETS; i++) {
    const s = await connect(normalPort);
    await sleep(20);
    s.resetAndDestroy(); // SO_LINGER 0 then close: an RST instead of a FIN (tcp_disconnect)
  }
  for (let i = 0; i < REFUSED; i++) await assert.rejects(connect(refusedPort), /ECONNREFUSED/);
  step('normal, reset and refused connections done');
  await Promise.all(Array.from({ length: LOSSY }, async () => {
    const s = await connect(lossyPort);
    s.on('error', () => undefined);
    s.resume();
    await new Promise<void>((r) => s.once('close', () => r()));
  }));
  step('lossy transfers done');
  removeRule();
  const end = await checkpoint(client);
  step('second quiet checkpoint');
  const to = Date.now();

  const kernel = (name: string) => end.kernel.get(name)! - start.kernel.get(name)!;
  const metric = (series: string) => (metricValue(end.metrics, series) ?? NaN) - (metricValue(start.metrics, series) ?? NaN);
  const detail = `kernel: ${WATCHED.map((k) => `${k} +${kernel(k)}`).join(', ')}`;
  assert.equal(metric('tcpdiag_connections_opened_total{direction="active"}'), kernel('ActiveOpens'), detail);
  assert.equal(metric('tcpdiag_connections_opened_total{direction="passive"}'), kernel('PassiveOpens'), detail);
  assert.ok(kernel('ActiveOpens') >= NORMAL + RESETS + REFUSED + LOSSY, detail);
  assert.equal(metric('tcpdiag_resets_total{direction="sent"}'), kernel('OutRsts'), detail);
  assert.ok(metric('tcpdiag_resets_total{direction="received"}') >= RESETS + REFUSED, detail);
  // SYN and SYN-ACK retransmissions are one segment each (TCPSynRetrans); data retransmissions
  // are one event per skb and RetransSegs counts segments, so events are at most RetransSegs.
  const syn = metric('tcpdiag_retransmit_events_total{kind="syn"}') + metric('tcpdiag_retransmit_events_total{kind="synack"}');
  const sent = syn + metric('tcpdiag_retransmit_events_total{kind="data"}');
  assert.equal(syn, kernel('TCPSynRetrans'), detail);
  assert.ok(sent > 0 && sent <= kernel('RetransSegs'), `${sent} retransmission events; ${detail}`);
  assert.ok(metric('tcpdiag_connect_failures_total') >= REFUSED, detail);
  assert.equal(metricValue(end.metrics, 'tcpdiag_events_lost_total'), 0);
  assert.ok((metricValue(end.metrics, 'tcpdiag_rtt_seconds_count') ?? 0) > 0, 'the socket table fed the RTT histogram');
  assert.doesNotMatch(end.metrics, /peer=|address=|port=/, 'no per-IP or per-port label');

  // The abnormal events one by one: the refused connects with their cause, the resets both ways.
  type Events = { events: StoredEvent[]; counts: { totals: Record<string, number> } };
  const failed = await client.json<Events>(`/api/v1/events?kind=connect-failed&from=${startedAt}&to=${to}`);
  const refused = failed.events.filter((e) => e.remote.port === refusedPort);
  assert.equal(refused.length, REFUSED, JSON.stringify(failed.events));
  assert.ok(refused.every((e) => e.reason === 'refused' && e.direction === 'active'));
  const resets = (await client.json<Events>(`/api/v1/events?kind=reset&from=${startedAt}&to=${to}`)).events;
  const received = resets.filter((e) => e.direction === 'received' && e.local.port === normalPort);
  assert.equal(received.length, RESETS, JSON.stringify(resets));
  assert.ok(received.every((e) => e.state === 'ESTABLISHED'));
  assert.equal(resets.filter((e) => e.direction === 'sent' && e.remote.port === normalPort).length, RESETS, 'the clients\' SO_LINGER 0 closes');
  assert.equal(resets.filter((e) => e.direction === 'sent' && e.local.port === refusedPort && e.reason === 'NO_SOCKET').length, REFUSED, 'the kernel refusing the connects');
  const retrans = (await client.json<Events>(`/api/v1/events?kind=retransmit&from=${startedAt}&to=${to}`)).events;
  assert.ok(retrans.some((e) => e.local.port === lossyPort || e.remote.port === lossyPort), 'retransmissions on the lossy port');
  const aborted = (await client.json<Events>(`/api/v1/events?kind=state&from=${startedAt}&to=${to}`)).events.filter((e) => e.reason === 'aborted' && e.local.port === normalPort);
  assert.equal(aborted.length, RESETS, 'the server side of each reset connection went ESTABLISHED -> CLOSE');
  // Normal opens are counted per second, not stored: the counts over the window add up to the metric.
  const counts = await until('the per-second counts of the window are stored', 10_000, async () => {
    const c = await client.json<Events>(`/api/v1/events?kind=connect,accept&from=${from}`);
    return (c.counts.totals['open.active'] ?? 0) >= metric('tcpdiag_connections_opened_total{direction="active"}') ? c : undefined;
  });
  assert.deepEqual(counts.events, [], 'opens are only counted');
  assert.ok((counts.counts.totals.accept ?? 0) >= NORMAL + RESETS + LOSSY);

  // Per listener, exactly what this test did on its own ports.
  const rollup = async (port: number) => {
    const rows = (await client.json<{ rows: Rollup[] }>(`/api/v1/rollups?by=listener&from=0&key=127.0.0.1:${port}`)).rows;
    return rows.reduce((a, r) => ({ ...a, opened: a.opened + r.opened, closed: a.closed + r.closed, resets: a.resets + r.resets, retransmits: a.retransmits + r.retransmits, failed: a.failed + r.failed }),
      { key: `127.0.0.1:${port}`, opened: 0, closed: 0, resets: 0, retransmits: 0, failed: 0, rttSamples: 0 });
  };
  const n = await rollup(normalPort);
  assert.deepEqual({ opened: n.opened, closed: n.closed, resets: n.resets, failed: n.failed }, { opened: NORMAL + RESETS, closed: NORMAL + RESETS, resets: RESETS, failed: 0 });
  const l = await rollup(lossyPort);
  assert.equal(l.opened, LOSSY);
  assert.ok(l.retransmits > 0, JSON.stringify(l));
  const peers = (await client.json<{ rows: Rollup[] }>('/api/v1/rollups?by=peer&from=0')).rows;
  assert.ok(peers.some((r) => r.key === '127.0.0.1' && r.resets >= RESETS), JSON.stringify(peers));
  accepted.forEach((s) => s.destroy());

  // Bad input: one line, the CLI's code.
  const bad = await client.get('/api/v1/events?kind=bogus');
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as { error: { code: string } }).error.code, 'TCPDIAG_USAGE');
  const noBy = await client.get('/api/v1/rollups');
  assert.equal(noBy.status, 400);
  assert.match(noBy.body, /by is required/);
});

test('without root the agent says once that it cannot trace, and serves the rest', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('setpriv');
  if (skip !== null) return t.skip(skip);
  const dir = tempDir(t, 'serve-events-user');
  chmodSync(dir, 0o777);
  const agent = await startAgent(t, dir, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
  const client = new Client(t, agent.url);
  const health = await client.json<{ status: string; events: { running: boolean; reason: string; hint: string | null }; eventsLost: number }>('/api/health');
  assert.equal(health.status, 'ok');
  assert.equal(health.events.running, false);
  assert.match(health.events.reason, /root|CAP_/);
  const metrics = await until('the counters are exported', 10_000, async () => {
    const m = (await client.get('/metrics')).body;
    return metricValue(m, 'tcpdiag_connections{state="ESTABLISHED"}') !== undefined ? m : undefined;
  });
  assert.doesNotMatch(metrics, /^tcpdiag_resets_total\{/m, 'no false zero without the collector');
  assert.equal(metricValue(metrics, 'tcpdiag_events_lost_total'), 0);
  await agent.proc.waitFor(/events: not collected/);
  await sleep(1500);
  const said = agent.stderr().split('\n').filter((l) => l.includes('events: not collected'));
  assert.equal(said.length, 1, agent.stderr());
  assert.match(said[0]!, /counters, sockets and listeners still are/);
});
