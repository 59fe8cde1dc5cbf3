/**
 * The fleet end to end: one VictoriaMetrics and one ClickHouse in a "hub" network namespace,
 * four agents in namespaces of their own (their counters and sockets are theirs alone; their
 * kernel events are those of their own addresses, events.in_namespace = "own-addresses"),
 * joined to the hub by veth pairs. Host A has a CLOSE_WAIT leak; host B a listener whose
 * accept queue overflows and a server whose segments to the hub's clients are lost (an nft
 * rule in the hub drops a tenth of them), so it retransmits; host C refuses the hub's
 * connections (nobody listens on the port: RSTs); host D is quiet. ClickHouse is down while the
 * alerts fire and comes back; then `tcpdiag fleet`, run in the hub, names the right host for
 * each question, and PromQL answers per host with the values ss measures in each namespace.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { CHROMIUM, chromiumInNetns } from './dashboard-support.js';
import { join } from 'node:path';
import test from 'node:test';
import { CLI } from './helpers/cli.js';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { NsHttp, ssCount, startAgent, until } from './serve-support.js';
import { chQuery, clickhouse, missingEngine, promql, victoriaMetrics } from './helpers/engines.js';
import type { Get } from './helpers/engines.js';
import { EN, ZH_CN } from '../web/src/catalogue.js';

/** The `data-*` attribute of each row of a Fleet page table, once the table has rows. */
async function rowsOf(page: Page, testId: string, attribute: string): Promise<string[]> {
  const rows = page.locator(`[data-testid=${testId}] tbody tr`);
  await rows.first().waitFor({ timeout: 15_000 });
  return rows.evaluateAll((trs: readonly { getAttribute(name: string): string | null }[], a: string): string[] => trs.map((tr) => tr.getAttribute(a) ?? ''), attribute);
}

const HUB = '10.250.9.1';
const LEAK = 6;
/** Connections the hub's clients try on host C's closed port, and send through host B's loss. */
const REFUSED = 12;
const LOSSY = 6;
const LOSSY_BYTES = 256 * 1024;
const CONFIG = `[events]
in_namespace = "own-addresses"
buffer_kb = 1024
[agent]
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

/**
 * Clients in the hub: "refused" connects `n` times to a port nobody listens on and counts the
 * ECONNREFUSED; "echo" sends `bytes` to an echo server `n` times and reads all of it back.
 */
const HUB_CLIENTS = `
const net = require('node:net');
const [mode, host, port, n, bytes] = process.argv.slice(1);
let refused = 0, echoed = 0;
const one = () => new Promise((resolve) => {
  const s = net.connect(Number(port), host);
  s.setTimeout(30000, () => s.destroy(new Error('no answer in 30 s')));
  let got = 0;
  s.on('connect', () => { if (mode === 'echo') s.end(Buffer.alloc(Number(bytes), 7)); });
  s.on('data', (d) => { got += d.length; });
  s.on('error', (e) => { if (e.code === 'ECONNREFUSED') refused++; else console.error(e.message); });
  s.on('close', () => { if (got === Number(bytes)) echoed++; resolve(); });
});
(async () => { for (let i = 0; i < Number(n); i++) await one(); console.log(JSON.stringify({ refused, echoed })); })();
`;

async function hubClients(hub: Netns, args: readonly string[]): Promise<{ refused: number; echoed: number }> {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(hub.exec[0]!, [...hub.exec.slice(1), process.execPath, '-e', HUB_CLIENTS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { refused: number; echoed: number };
}

async function fleetJson<T>(hub: Netns, args: readonly string[]): Promise<T> {
  const r = await runIn(hub, ['fleet', ...args, '--json']);
  assert.equal(r.code, 0, `fleet ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

test('four agents feed one VictoriaMetrics and one ClickHouse; tcpdiag fleet names the host for each question and PromQL has each host\'s values', { timeout: 300_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss', 'nft') ?? missingEngine('victoria-metrics', 'clickhouse-server');
  if (skip !== null) return t.skip(skip);
  const hub = Netns.create(t, 'fleethub');
  const hosts = { a: Netns.create(t, 'fleeta'), b: Netns.create(t, 'fleetb'), c: Netns.create(t, 'fleetc'), d: Netns.create(t, 'fleetd') };
  hub.ip('addr', 'add', `${HUB}/32`, 'dev', 'lo');
  for (const [i, ns] of [hosts.a, hosts.b, hosts.c, hosts.d].entries()) {
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
  const agentB = await startAgent(t, hosts.b, join(dir, 'b'), config, agentArgs('host-b'));
  const agentC = await startAgent(t, hosts.c, join(dir, 'c'), config, agentArgs('host-c'));
  const agentD = await startAgent(t, hosts.d, join(dir, 'd'), config, agentArgs('host-d'));
  // Each agent's event collector runs (filtered to its namespace's addresses) before the faults begin.
  for (const [name, agent] of [['a', agentA], ['b', agentB], ['c', agentC], ['d', agentD]] as const) {
    await until(`host-${name}'s event collector runs`, 20_000, async () => {
      const h = JSON.parse((await new NsHttp(t, hosts[name]).request('GET', `${agent.url}/api/health`)).body) as { events?: { running?: boolean; reason?: string | null } };
      assert.ok(h.events?.reason == null, `host-${name}: ${h.events?.reason ?? ''}`);
      return h.events?.running === true ? true : undefined;
    });
  }

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
  // Host C refuses: the hub's clients knock on a port nobody listens on (the peer is the hub's
  // end of the veth, 10.250.2.1).
  const refused = await hubClients(hub, ['refused', '10.250.2.2', '4099', String(REFUSED)]);
  assert.deepEqual(refused, { refused: REFUSED, echoed: 0 });
  // Host B retransmits: its echo server's segments to the hub lose a tenth on the hub's input
  // (non-SYN only: a lost SYN-ACK would cost a 1 s RTO and tell nothing more).
  const echo = await tcpdiagProcess(t, ['server', '0', '--host', '10.250.1.2', '--mode', 'echo'], hosts.b);
  const echoPort = Number((await echo.waitFor(/listening on 10\.250\.1\.2:(\d+)/))[1]);
  const lossRule = spawnSync(hub.exec[0]!, [...hub.exec.slice(1), 'nft', '-f', '-'], { encoding: 'utf8', input: `table inet fleetloss {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr 10.250.1.2 tcp sport ${echoPort} tcp flags & syn == 0 numgen random mod 10 == 0 drop\n  }\n}\n` });
  assert.equal(lossRule.status, 0, lossRule.stderr);
  assert.deepEqual(await hubClients(hub, ['echo', '10.250.1.2', String(echoPort), String(LOSSY), String(LOSSY_BYTES)]), { refused: 0, echoed: LOSSY });

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

  // Which hosts saw resets from the hub's clients (10.250.2.1): host C alone, which sent them
  // (tcp_send_reset, no socket: the port is closed), at least one per refused connect.
  const resets = await fleetJson<{ host: string; events: number; kinds: string[] }[]>(hub, ['resets', '--clickhouse', ch.url, '--peer', '10.250.2.1', '--since', '10m']);
  assert.deepEqual(resets.map((r) => r.host), ['host-c']);
  assert.ok(resets[0]!.events >= REFUSED, `host-c: ${resets[0]!.events} resets for ${REFUSED} refused connects`);
  assert.ok(resets[0]!.kinds.includes('reset'), 'the kernel events themselves reached ClickHouse');
  const resetRows = await fleetJson<{ host: string; kind: string; name: string; reason: string }[]>(hub, ['events', '--clickhouse', ch.url, '--kind', 'reset', '--peer', '10.250.2.1', '--since', '10m']);
  assert.ok(resetRows.every((r) => r.host === 'host-c' && r.name === 'sent'), JSON.stringify(resetRows.slice(0, 3)));
  assert.ok(resetRows.some((r) => r.reason !== ''), 'a sent reset carries the kernel\'s sk_rst_reason');

  // Which peers carry retransmissions: the hub's end of host B's veth, seen by host B alone.
  // --json: one row per peer and host, the peers in rank order.
  const retrans = await fleetJson<{ rank: number; peer: string; host: string; events: number }[]>(hub, ['retrans', '--clickhouse', ch.url, '--since', '10m']);
  const lossyPeer = retrans.filter((r) => r.peer === '10.250.1.1');
  assert.deepEqual(lossyPeer.map((r) => r.host), ['host-b'], JSON.stringify(retrans));
  assert.ok(lossyPeer[0]!.events > 0);
  assert.ok(retrans.every((r) => r.host === 'host-b'), `only host B retransmitted: ${JSON.stringify(retrans)}`);

  // The quiet host sent no event row at all (loopback and the other namespaces are not its own).
  const quiet = await fleetJson<unknown[]>(hub, ['events', '--clickhouse', ch.url, '--host', 'host-d', '--since', '10m']);
  assert.deepEqual(quiet, []);

  // PromQL per host: the CLOSE_WAIT count and the accept queue each namespace's ss shows.
  assert.equal(ssCount(hosts.a, 'close-wait'), LEAK);
  const closeWait = await until('VictoriaMetrics has every host\'s CLOSE_WAIT count', 30_000, async () => {
    const r = await promql(get, vm.url, 'tcpdiag_connections{state="CLOSE_WAIT"}');
    const by = new Map(r.map((x) => [x.metric.host, Number(x.value![1])]));
    return by.get('host-a') === LEAK && ['host-b', 'host-c', 'host-d'].every((h) => by.get(h) === 0) ? by : undefined;
  });
  assert.equal(closeWait.size, 4);
  const queue = await promql(get, vm.url, `tcpdiag_listener_accept_queue{listener="${parkedListener}"}`);
  // sk_acceptq_is_full() is "> backlog": a backlog of 1 holds 2 (include/net/sock.h).
  assert.deepEqual(queue.map((x) => [x.metric.host, Number(x.value![1])]), [['host-b', 2]]);

  const fleetHosts = await fleetJson<{ host: string; health: string; firing: Record<string, number> }[]>(hub, ['hosts', '--prometheus', vm.url]);
  assert.deepEqual(fleetHosts.map((h) => h.host), ['host-a', 'host-b', 'host-c', 'host-d']);
  assert.equal(fleetHosts[0]!.firing.P3, 1, 'host-a: close-wait-growth (P3)');
  assert.ok((fleetHosts[1]!.firing.P2 ?? 0) >= 1, 'host-b: listen-overflows (P2)');
  assert.ok(fleetHosts.slice(0, 2).every((h) => h.health === 'degraded'));
  assert.deepEqual([fleetHosts[3]!.health, fleetHosts[3]!.firing], ['ok', {}], 'host-d is quiet: healthy, nothing firing');

  // The fleet view on its own (serve --fleet: no collectors) in the hub answers the same questions over HTTP.
  const view = await tcpdiagProcess(t, ['serve', '--fleet', '--listen', '127.0.0.1:0', '--data', join(dir, 'view'), '--prometheus', vm.url, '--clickhouse', ch.url], hub);
  const viewUrl = (await view.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const api = <T>(path: string) => http.json<T>(`${viewUrl}${path}`);
  const apiHosts = await api<{ hosts: { host: string; health: string }[] }>('/api/v1/fleet/hosts?since=10m');
  assert.deepEqual(apiHosts.hosts.map((h) => [h.host, h.health]), fleetHosts.map((h) => [h.host, h.health]));
  const apiResets = await api<{ hosts: { host: string }[] }>('/api/v1/fleet/events?question=resets&peer=10.250.2.1&since=10m');
  assert.deepEqual(apiResets.hosts.map((h) => h.host), ['host-c']);
  const apiOverflows = await api<{ hosts: { host: string }[] }>(`/api/v1/fleet/events?question=overflows&listener=${encodeURIComponent(parkedListener)}&since=10m`);
  assert.deepEqual(apiOverflows.hosts.map((h) => h.host), ['host-b']);
  const apiRetrans = await api<{ peers: { peer: string; hosts: { host: string }[] }[] }>('/api/v1/fleet/events?question=retrans&since=10m');
  assert.deepEqual(apiRetrans.peers.find((p) => p.peer === '10.250.1.1')?.hosts.map((h) => h.host), ['host-b']);
  const apiRows = await api<{ rows: { host: string; kind: string }[] }>('/api/v1/fleet/events?kind=reset&peer=10.250.2.1&since=10m');
  assert.ok(apiRows.rows.length > 0 && apiRows.rows.every((r) => r.host === 'host-c' && r.kind === 'reset'));
  const badQuestion = await http.request('GET', `${viewUrl}/api/v1/fleet/events?question=drops`);
  assert.equal(badQuestion.status, 400);
  assert.match(badQuestion.body, /"code":"TCPDIAG_USAGE".*question/);
  const badSince = await http.request('GET', `${viewUrl}/api/v1/fleet/hosts?since=soon`);
  assert.equal(badSince.status, 400);
  assert.match(badSince.body, /since=\\"soon\\"/);
  // Nothing is collected there: the agent's own routes are not served.
  assert.equal((await http.request('GET', `${viewUrl}/api/v1/connections`)).status, 404);

  // The Fleet page in Debian's Chromium, in the hub, names the same hosts, in English and in 中文.
  if (existsSync(CHROMIUM)) {
    const browser = await chromiumInNetns(t, hub, dir);
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    for (const lang of ['en', 'zh-CN'] as const) {
      await page.goto(`${viewUrl}/?lang=${lang}#/fleet?range=1h&peer=10.250.2.1&listener=${encodeURIComponent(parkedListener)}`);
      await page.reload();
      assert.deepEqual(await rowsOf(page, 'fleet-hosts', 'data-host'), ['host-a', 'host-b', 'host-c', 'host-d']);
      assert.deepEqual(await rowsOf(page, 'fleet-hosts', 'data-health'), fleetHosts.map((h) => h.health));
      assert.equal(await page.locator('[data-testid=fleet-hosts] tr[data-host=host-d] td').nth(3).innerText(), (lang === 'en' ? EN : ZH_CN)['fleet.noneFiring']);
      assert.deepEqual(await rowsOf(page, 'fleet-resets', 'data-host'), ['host-c']);
      assert.deepEqual(await rowsOf(page, 'fleet-overflows', 'data-host'), ['host-b']);
      const retransPeers = await rowsOf(page, 'fleet-retrans', 'data-peer');
      const retransHosts = await rowsOf(page, 'fleet-retrans', 'data-hosts');
      assert.equal(retransHosts[retransPeers.indexOf('10.250.1.1')], 'host-b');
      const headings = await page.locator('main h2').allInnerTexts();
      const c = lang === 'en' ? EN : ZH_CN;
      assert.deepEqual(headings, [c['fleet.hosts'], c['fleet.resets'], c['fleet.overflows'], c['fleet.retrans']]);
    }
    assert.deepEqual(errors, []);
  } else {
    t.diagnostic(`the Fleet page was not checked: needs Debian's chromium at ${CHROMIUM}`);
  }

  // The per-peer rollups reach ClickHouse once their minute closes: host C's resets with the hub's client.
  const rollup = await until('host-c\'s per-peer rollup reached ClickHouse', 90_000, async () => {
    const rows = await fleetJson<{ host: string; kind: string; name: string; peer: string; count: number }[]>(hub, ['events', '--clickhouse', ch.url, '--kind', 'rollup.peer', '--peer', '10.250.2.1', '--since', '10m']);
    return rows.length > 0 ? rows : undefined;
  });
  assert.ok(rollup.every((r) => r.host === 'host-c' && r.name === 'resets'), JSON.stringify(rollup));
  assert.ok(rollup.reduce((n, r) => n + r.count, 0) >= REFUSED);

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

test('serve --fleet says which engine URL to set, and an engine that does not answer is a 502 within fleet.timeout_s', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'fleetview');
  const http = new NsHttp(t, ns);
  const dir = tempDir(t, 'fleetview');
  // A "ClickHouse" that accepts and never answers, and a port nobody listens on.
  const mute = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--mode', 'discard'], ns);
  const mutePort = Number((await mute.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const config = writeConfig(dir, '[fleet]\ntimeout_s = 1\n');
  const start = async (name: string, args: readonly string[]) => {
    const p = await tcpdiagProcess(t, ['--config', config, 'serve', '--fleet', '--listen', '127.0.0.1:0', '--data', join(dir, name), ...args], ns);
    return (await p.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  };
  const bare = await start('bare', []);
  const health = JSON.parse((await http.request('GET', `${bare}/api/health`)).body) as { mode: string };
  assert.equal(health.mode, 'fleet');
  for (const [path, setting] of [['/api/v1/fleet/hosts', 'fleet.prometheus'], ['/api/v1/fleet/events?question=resets', 'fleet.clickhouse']] as const) {
    const r = await http.request('GET', `${bare}${path}`);
    assert.equal(r.status, 503, r.body);
    const e = (JSON.parse(r.body) as { error: { code: string; hint: string } }).error;
    assert.equal(e.code, 'TCPDIAG_NOT_CONFIGURED');
    assert.ok(e.hint.includes(setting), e.hint);
  }
  const stuck = await start('stuck', ['--clickhouse', `http://127.0.0.1:${mutePort}`, '--prometheus', `http://127.0.0.1:${mutePort}`]);
  for (const path of ['/api/v1/fleet/events?question=retrans', '/api/v1/fleet/hosts']) {
    const began = Date.now();
    const r = await http.request('GET', `${stuck}${path}`);
    const took = Date.now() - began;
    assert.equal(r.status, 502, r.body);
    assert.match(r.body, /"code":"TCPDIAG_ENGINE_FAILED".*no answer within 1000 ms/);
    assert.ok(took < 5000, `${path} answered after ${took} ms`);
  }
  // The Fleet page over no engine says which URL to set, per section and language.
  if (existsSync(CHROMIUM)) {
    const page = await (await chromiumInNetns(t, ns, dir)).newPage();
    for (const lang of ['en', 'zh-CN'] as const) {
      await page.goto(`${bare}/?lang=${lang}#/fleet`);
      await page.reload();
      const c = lang === 'en' ? EN : ZH_CN;
      const prom = page.locator('[data-testid=fleet-not-configured-prometheus]');
      await prom.waitFor({ timeout: 15_000 });
      assert.equal(await prom.innerText(), c['fleet.notConfigured.prometheus']);
      assert.equal(await page.locator('[data-testid=fleet-not-configured-clickhouse]').count(), 3, 'each event question says ClickHouse is not configured');
      assert.equal(await page.locator('[data-testid=fleet-not-configured-clickhouse]').first().innerText(), c['fleet.notConfigured.clickhouse']);
    }
    await page.goto(`${stuck}/?lang=en#/fleet`);
    await page.locator('[data-testid=fleet-engine-failed-prometheus]').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('[data-testid=fleet-engine-failed-prometheus]').innerText(), /no answer within 1000 ms/);
  }
  const refused = await start('refused', ['--clickhouse', 'http://127.0.0.1:4099']);
  const r = await http.request('GET', `${refused}/api/v1/fleet/events?question=resets&peer=10.0.0.1`);
  assert.equal(r.status, 502);
  assert.match(r.body, /ClickHouse at http:\/\/127\.0\.0\.1:4099 cannot be reached: .*ECONNREFUSED/);
});
