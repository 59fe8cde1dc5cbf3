/**
 * `tcpdiag serve` end to end, each test with the agent inside a private network namespace (its
 * sockets and counters are the namespace's alone): /metrics and the API agree with ss and
 * nstat run in the same namespace on a CLOSE_WAIT leak and a burst of connections; a real
 * Prometheus scrapes it and answers PromQL with the same count; a restart keeps the history;
 * the token rules; a foreign history file is refused and left as it was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Netns, actor, rootSkipReason, sleep, startProcess, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { runCli } from './helpers/cli.js';
import { NsHttp, metricValue, nstat, ssCount, startAgent, until } from './serve-support.js';

const LEAK = 7;
/** 1 s socket samples so the tests wait seconds, not the default 5. */
const FAST = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n';

test('/metrics and the API count the states, the CLOSE_WAIT leak and the opens exactly as ss and nstat do', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss', 'nstat');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'serve');
  const dir = tempDir(t, 'serve');
  const agent = await startAgent(t, ns, join(dir, 'data'), writeConfig(dir, FAST));
  const http = new NsHttp(t, ns);
  const health = await http.json<{ status: string; version: string; uptimeS: number; store: { bytes: number }; eventsLost: number; sources: unknown[] }>(`${agent.url}/api/health`);
  assert.equal(health.status, 'ok');
  assert.match(health.version, /^\d+\.\d+\.\d+/);
  assert.ok(health.store.bytes > 0 && health.eventsLost === 0 && health.sources.length > 0);

  // A server that never closes after its clients' FIN: LEAK sockets in CLOSE_WAIT, the clients in FIN_WAIT2.
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const clients = await actor(t, ['hold', '127.0.0.1', String(port), String(LEAK), '--end'], ns);
  await clients.waitFor(/ready/);
  await until('ss sees the leak', 5000, () => Promise.resolve(ssCount(ns, 'close-wait') === LEAK ? true : undefined));
  // Two counter ticks after the last socket change, and no connection of ours in between: the
  // client's one keep-alive connection is used now, so it is not idle past the agent's 5 s
  // keep-alive timeout by the time /metrics is read (a new connection would move the counters).
  await http.request('GET', `${agent.url}/api/health`);
  await sleep(2500);
  const kernel = nstat(ns);
  const states = { ESTABLISHED: ssCount(ns, 'established'), CLOSE_WAIT: ssCount(ns, 'close-wait'), FIN_WAIT2: ssCount(ns, 'fin-wait-2'), LISTEN: ssCount(ns, 'listening'), TIME_WAIT: ssCount(ns, 'time-wait') };
  const metrics = (await http.request('GET', `${agent.url}/metrics`)).body;
  for (const [state, count] of Object.entries(states)) assert.equal(metricValue(metrics, `tcpdiag_connections{state="${state}"}`), count, `${state}: ss counts ${count}`);
  assert.equal(states.CLOSE_WAIT, LEAK);
  assert.equal(metricValue(metrics, 'tcpdiag_opens_total{direction="passive"}'), kernel.get('TcpPassiveOpens'));
  assert.equal(metricValue(metrics, 'tcpdiag_opens_total{direction="active"}'), kernel.get('TcpActiveOpens'));
  assert.equal(metricValue(metrics, 'tcpdiag_retransmits_total'), kernel.get('TcpRetransSegs'));
  assert.equal(metricValue(metrics, 'tcpdiag_listen_overflows_total'), kernel.get('TcpExtListenOverflows') ?? 0);
  assert.equal(metricValue(metrics, 'tcpdiag_events_lost_total'), 0);
  assert.equal(metricValue(metrics, 'tcpdiag_alerts_firing{severity="P1"}'), 0);
  assert.equal(metricValue(metrics, `tcpdiag_listener_accept_queue{listener="127.0.0.1:${port}"}`), 0);
  assert.ok((metricValue(metrics, 'tcpdiag_agent_resident_memory_bytes') ?? 0) > 10e6);
  assert.doesNotMatch(metrics, /peer=|remote=|address=/, 'no per-IP label');

  // The API with the CLI's filters: the leak on the server's port, as ss counts it there.
  const leak = await http.json<{ total: number; connections: { state: string; local: { port: number } }[] }>(`${agent.url}/api/v1/connections?state=close-wait&sport=${port}`);
  assert.equal(leak.total, ssCount(ns, 'close-wait', ['sport', '=', `:${port}`]));
  assert.ok(leak.connections.every((c) => c.state === 'CLOSE_WAIT' && c.local.port === port));
  const byExpr = await http.json<{ total: number }>(`${agent.url}/api/v1/connections?expr=${encodeURIComponent(`state fin-wait-2 dport = :${port}`)}`);
  assert.equal(byExpr.total, ssCount(ns, 'fin-wait-2', ['dport', '=', `:${port}`]));
  const owned = await http.json<{ total: number; connections: { owners: { pid: number }[] }[] }>(`${agent.url}/api/v1/connections?state=close-wait&pid=${server.pid}`);
  assert.equal(owned.total, LEAK, 'a pid filter reads the owners');
  const bad = await http.request('GET', `${agent.url}/api/v1/connections?state=closed-ish`);
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys((JSON.parse(bad.body) as { error: object }).error).sort(), ['code', 'hint', 'message']);
  assert.equal((JSON.parse(bad.body) as { error: { code: string } }).error.code, 'TCPDIAG_USAGE');
  const badExpr = JSON.parse((await http.request('GET', `${agent.url}/api/v1/connections?expr=${encodeURIComponent('dport = :99999')}`)).body) as { error: { code: string } };
  assert.equal(badExpr.error.code, 'TCPDIAG_USAGE');
  assert.equal((await http.request('GET', `${agent.url}/api/v1/nope`)).status, 404);
  assert.equal((await http.request('POST', `${agent.url}/api/v1/stats`)).status, 405);

  const listeners = await http.json<{ listeners: { local: { port: number }; acceptQueue: number }[] }>(`${agent.url}/api/v1/listeners`);
  assert.ok(listeners.listeners.some((l) => l.local.port === port));
  const stats = await http.json<{ states: Record<string, number>; counters: Record<string, number> }>(`${agent.url}/api/v1/stats`);
  assert.equal(stats.states.CLOSE_WAIT, LEAK);
  const series = await http.json<{ points: { ts: number; mean: number }[] }>(`${agent.url}/api/v1/series?metric=connections.CLOSE_WAIT&tier=1s`);
  assert.ok(series.points.length >= 3 && series.points.at(-1)!.mean === LEAK, JSON.stringify(series.points.slice(-3)));
  // The first window began before the leak; the second lies wholly inside it, so the sockets were held through it.
  const first = await http.json<{ findings: { id: string }[]; fromMs: number; toMs: number }>(`${agent.url}/api/v1/diagnose`, 'POST');
  assert.ok(first.toMs > first.fromMs);
  await sleep(1500);
  const diagnosis = await http.json<{ findings: { id: string; subject: string }[]; fromMs: number; toMs: number }>(`${agent.url}/api/v1/diagnose`, 'POST');
  assert.equal(diagnosis.fromMs, first.toMs);
  const leakFinding = diagnosis.findings.find((f) => f.id === 'close-wait-leak');
  assert.ok(leakFinding !== undefined, JSON.stringify(diagnosis.findings.map((f) => f.id)));
  assert.match(leakFinding.subject, new RegExp(`\\[${server.pid}\\]`), 'names the process that does not close');
  const findings = await http.json<{ latest: { atMs: number }; history: { kind: string }[] }>(`${agent.url}/api/v1/findings`);
  assert.equal(findings.latest.atMs, diagnosis.toMs);
  assert.ok(findings.history.some((f) => f.kind === 'close-wait-leak'), 'stored in the history');
});

test('a real Prometheus scrapes the agent and answers PromQL with the CLOSE_WAIT count ss sees', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss', 'prometheus');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'serveprom');
  const dir = tempDir(t, 'serve-prom');
  const agent = await startAgent(t, ns, join(dir, 'data'), writeConfig(dir, FAST));
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(port), String(LEAK), '--end'], ns)).waitFor(/ready/);
  const promConfig = join(dir, 'prometheus.yml');
  writeFileSync(promConfig, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tcpdiag\n    static_configs:\n      - targets: ['127.0.0.1:${agent.port}']\n`);
  const prom = await startProcess(t, ['prometheus', `--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:9090'], ns);
  await prom.waitFor(/Server is ready to receive web requests/, 30_000);
  const http = new NsHttp(t, ns);
  const query = encodeURIComponent('tcpdiag_connections{job="tcpdiag",state="CLOSE_WAIT"}');
  const value = await until('Prometheus has scraped the agent', 30_000, async () => {
    const r = await http.request('GET', `http://127.0.0.1:9090/api/v1/query?query=${query}`);
    const result = (JSON.parse(r.body) as { data?: { result?: { value: [number, string] }[] } }).data?.result ?? [];
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  });
  assert.equal(value, ssCount(ns, 'close-wait'));
  assert.equal(value, LEAK);
  const up = JSON.parse((await http.request('GET', `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent('up{job="tcpdiag"}')}`)).body) as { data: { result: { value: [number, string] }[] } };
  assert.equal(up.data.result[0]?.value[1], '1');
});

test('a restart keeps the history: the samples of the first run are served by the second', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'serverestart');
  const dir = tempDir(t, 'serve-restart');
  const config = writeConfig(dir, FAST);
  const first = await startAgent(t, ns, join(dir, 'data'), config);
  const http = new NsHttp(t, ns);
  await sleep(3000);
  const before = await http.json<{ points: { ts: number }[] }>(`${first.url}/api/v1/series?metric=connections.LISTEN&tier=1s`);
  assert.ok(before.points.length >= 2);
  await first.proc.stop();
  assert.equal(first.proc.child.exitCode, 0, 'SIGTERM stops the agent cleanly');
  const second = await startAgent(t, ns, join(dir, 'data'), config);
  const http2 = new NsHttp(t, ns);
  const after = await http2.json<{ points: { ts: number }[] }>(`${second.url}/api/v1/series?metric=connections.LISTEN&tier=1s`);
  for (const p of before.points) assert.ok(after.points.some((q) => q.ts === p.ts), `the sample at ${p.ts} survived the restart`);
});

test('a non-loopback listen without a token refuses to start, in one line', async (t) => {
  const dir = tempDir(t, 'serve-token');
  const r = await runCli(['serve', '--listen', '0.0.0.0:0', '--data', join(dir, 'data')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
  assert.match(r.stderr, /--new-token/);
  assert.doesNotMatch(r.stdout, /listening on/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('with a configured token, a request without it or with another gets 401; with it 200', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'servetoken');
  const dir = tempDir(t, 'serve-token');
  const agent = await startAgent(t, ns, join(dir, 'data'), writeConfig(dir, `${FAST}token = "s3cret-token"\n`));
  const http = new NsHttp(t, ns);
  for (const path of ['/metrics', '/api/health', '/api/v1/connections']) {
    const none = await http.request('GET', `${agent.url}${path}`);
    assert.equal(none.status, 401, path);
    assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'TCPDIAG_UNAUTHORIZED');
    assert.equal((await http.request('GET', `${agent.url}${path}`, 'Bearer wrong-token!')).status, 401);
  }
  assert.equal((await http.request('GET', `${agent.url}/api/health`, 'Bearer s3cret-token')).status, 200);
});

test('--new-token makes a token once (0600, printed once) and the next start uses it without printing it', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'servenewtoken');
  const dir = tempDir(t, 'serve-newtoken');
  const data = join(dir, 'data');
  const first = await startAgent(t, ns, data, writeConfig(dir, FAST), ['--new-token']);
  const printed = (await first.proc.waitFor(/token \(shown once; kept in (\S+), mode 0600\): (\S+)/))[2]!;
  assert.equal(readFileSync(join(data, 'token'), 'utf8').trim(), printed);
  assert.equal(statSync(join(data, 'token')).mode & 0o777, 0o600);
  await first.proc.stop();
  const second = await startAgent(t, ns, data, writeConfig(dir, FAST));
  const http = new NsHttp(t, ns);
  assert.equal((await http.request('GET', `${second.url}/api/health`)).status, 401);
  assert.equal((await http.request('GET', `${second.url}/api/health`, `Bearer ${printed}`)).status, 200);
  // The token line comes before "listening on": once that was printed, no token line follows.
  await assert.rejects(second.proc.waitFor(/shown once/, 300), /not printing \/shown once\/ within 300 ms/);
});

test('a history file that is not a tcpdiag store is refused in one line and left as it was', async (t) => {
  const dir = tempDir(t, 'serve-foreign');
  const data = join(dir, 'data');
  spawnSync('mkdir', ['-p', data]);
  writeFileSync(join(data, 'history.db'), 'not a database\n');
  const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', data]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing the store .*history\.db: it is not an SQLite database \(foreign or corrupt file\) \[TCPDIAG_STORE_REFUSED\]/);
  assert.equal(readFileSync(join(data, 'history.db'), 'utf8'), 'not a database\n');
});
