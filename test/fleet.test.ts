/**
 * The fleet end to end: one VictoriaMetrics and one ClickHouse in a "hub" network namespace,
 * two agents in namespaces of their own (their counters and sockets are theirs alone), joined
 * to the hub by veth pairs. Host A has a CLOSE_WAIT leak, host B a listener whose accept queue
 * overflows. ClickHouse is down while the alerts fire and comes back; then `tcpdiag fleet`,
 * run in the hub, names the right host for each question, and PromQL answers per host with the
 * values ss measures in each namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { CLI } from './helpers/cli.js';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { NsHttp, ssCount, startAgent, until } from './serve-support.js';
import { chQuery, clickhouse, missingEngine, promql, victoriaMetrics } from './helpers/engines.js';
import type { Get } from './helpers/engines.js';

const HUB = '10.250.9.1';
const LEAK = 6;
const CONFIG = `[agent]
counters_interval_s = 1
sample_interval_s = 1
diagnose_interval_s = 0
metrics_top_listeners = 1000
[fleet]
remote_write_interval_s = 1
events_flush_interval_s = 1
max_backoff_s = 1
[alerts.rules.close-wait-growth]
threshold = 2
for_s = 0
[alerts.rules.listen-overflows]
scope = "listener"
for_s = 0
`;

function runIn(ns: Netns, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ns.exec[0]!, [...ns.exec.slice(1), process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function fleetJson<T>(hub: Netns, args: readonly string[]): Promise<T> {
  const r = await runIn(hub, ['fleet', ...args, '--json']);
  assert.equal(r.code, 0, `fleet ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

test('two agents feed one VictoriaMetrics and one ClickHouse; tcpdiag fleet names the host for each question and PromQL has each host\'s values', { timeout: 240_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss') ?? missingEngine('victoria-metrics', 'clickhouse-server');
  if (skip !== null) return t.skip(skip);
  const hub = Netns.create(t, 'fleethub');
  const hosts = { a: Netns.create(t, 'fleeta'), b: Netns.create(t, 'fleetb') };
  hub.ip('addr', 'add', `${HUB}/32`, 'dev', 'lo');
  for (const [i, ns] of [hosts.a, hosts.b].entries()) {
    hub.ip('link', 'add', `fh${i}`, 'type', 'veth', 'peer', 'name', `fa${i}`, 'netns', ns.name);
    hub.ip('addr', 'add', `10.250.${i}.1/30`, 'dev', `fh${i}`);
    hub.ip('link', 'set', `fh${i}`, 'up');
    ns.ip('addr', 'add', `10.250.${i}.2/30`, 'dev', `fa${i}`);
    ns.ip('link', 'set', `fa${i}`, 'up');
    ns.ip('route', 'add', `${HUB}/32`, 'via', `10.250.${i}.1`);
  }
  const http = new NsHttp(t, hub);
  const get: Get = (url) => http.request('GET', url);
  const vm = await victoriaMetrics(t, { exec: hub.exec, host: HUB, port: 8428, get });
  const ch = await clickhouse(t, { exec: hub.exec, host: HUB, port: 8123, get });
  const dir = tempDir(t, 'fleet');
  const config = writeConfig(dir, CONFIG);
  const agentArgs = (name: string) => ['--remote-write', `${vm.url}/api/v1/write`, '--clickhouse', ch.url, '--host-label', name];
  const agentA = await startAgent(t, hosts.a, join(dir, 'a'), config, agentArgs('host-a'));
  await startAgent(t, hosts.b, join(dir, 'b'), config, agentArgs('host-b'));

  // ClickHouse goes down before anything is wrong: the rows wait in the agents' backlogs.
  await ch.stop();

  // Host A: a server that never closes after its clients' FIN.
  const leaky = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], hosts.a);
  const leakPort = Number((await leaky.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(leakPort), String(LEAK), '--end'], hosts.a)).waitFor(/ready/);
  // Host B: a listener that never accepts, backlog 1, and clients that keep knocking.
  const parked = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--no-accept', '--backlog', '1'], hosts.b);
  const parkedPort = Number((await parked.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['pending', '127.0.0.1', String(parkedPort), '8'], hosts.b)).waitFor(/ready/);
  const leakListener = `127.0.0.1:${leakPort}`;
  const parkedListener = `127.0.0.1:${parkedPort}`;

  await agentA.proc.waitFor(/clickhouse: .*retrying with backoff/, 30_000);
  await sleep(3000);
  await ch.start();

  const alerts = await until('both alerts reached ClickHouse after its outage', 60_000, async () => {
    const r = await runIn(hub, ['fleet', 'events', '--clickhouse', ch.url, '--kind', 'alert', '--since', '10m', '--json']);
    // Until the first batch after the outage, the table the agents create on first use is not there.
    if (r.code !== 0 && /Table default\.tcpdiag_events doesn't exist/.test(r.stderr)) return undefined;
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { host: string; name: string; listener: string; reason: string }[];
    const a = rows.find((r) => r.host === 'host-a' && r.name === 'close-wait-growth');
    const b = rows.find((r) => r.host === 'host-b' && r.name === 'listen-overflows');
    return a !== undefined && b !== undefined ? { a, b, rows } : undefined;
  });
  assert.equal(alerts.a.listener, leakListener);
  assert.equal(alerts.a.reason, 'firing');
  assert.equal(alerts.b.listener, parkedListener);
  assert.ok(!alerts.rows.some((r) => r.host === 'host-b' && r.name === 'close-wait-growth'), 'the quiet side of the fleet has no CLOSE_WAIT alert');

  const overflows = await fleetJson<{ host: string; events: number }[]>(hub, ['overflows', '--clickhouse', ch.url, '--listener', parkedListener, '--since', '10m']);
  assert.deepEqual(overflows.map((r) => r.host), ['host-b']);
  const none = await fleetJson<unknown[]>(hub, ['overflows', '--clickhouse', ch.url, '--listener', leakListener, '--since', '10m']);
  assert.deepEqual(none, []);

  // PromQL per host: the CLOSE_WAIT count and the accept queue each namespace's ss shows.
  assert.equal(ssCount(hosts.a, 'close-wait'), LEAK);
  const closeWait = await until('VictoriaMetrics has both hosts\' CLOSE_WAIT count', 30_000, async () => {
    const r = await promql(get, vm.url, 'tcpdiag_connections{state="CLOSE_WAIT"}');
    const by = new Map(r.map((x) => [x.metric.host, Number(x.value![1])]));
    return by.get('host-a') === LEAK && by.get('host-b') === 0 ? by : undefined;
  });
  assert.equal(closeWait.size, 2);
  const queue = await promql(get, vm.url, `tcpdiag_listener_accept_queue{listener="${parkedListener}"}`);
  // sk_acceptq_is_full() is "> backlog": a backlog of 1 holds 2 (include/net/sock.h).
  assert.deepEqual(queue.map((x) => [x.metric.host, Number(x.value![1])]), [['host-b', 2]]);

  const fleetHosts = await fleetJson<{ host: string; health: string; firing: Record<string, number> }[]>(hub, ['hosts', '--prometheus', vm.url]);
  assert.deepEqual(fleetHosts.map((h) => h.host), ['host-a', 'host-b']);
  assert.equal(fleetHosts[0]!.firing.P3, 1, 'host-a: close-wait-growth (P3)');
  assert.ok((fleetHosts[1]!.firing.P2 ?? 0) >= 1, 'host-b: listen-overflows (P2)');
  assert.ok(fleetHosts.every((h) => h.health === 'degraded'));

  // What one event row costs ClickHouse: its bytes on disk over its rows (compressed MergeTree parts).
  const parts = await chQuery<{ rows: string; bytes: string }>(get, ch.url, "SELECT toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE table = 'tcpdiag_events' AND active");
  t.diagnostic(`ClickHouse: ${parts[0]?.rows} rows in ${parts[0]?.bytes} bytes on disk`);
});

test('tcpdiag fleet refuses a missing engine URL and an unreachable engine in one line each', async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'fleeterr');
  const none = await runIn(ns, ['fleet', 'hosts']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no metrics store to ask: pass --prometheus/);
  const down = await runIn(ns, ['fleet', 'resets', '--clickhouse', 'http://127.0.0.1:8123', '--peer', '10.0.0.1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /ClickHouse at http:\/\/127\.0\.0\.1:8123 cannot be reached: .*ECONNREFUSED/);
  assert.ok(!/\n\s+at /.test(down.stderr), 'no stack trace');
  const bad = await runIn(ns, ['fleet', 'events', '--clickhouse', 'ftp://x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--clickhouse/);
});
