/**
 * deploy/prometheus.yml and deploy/grafana/tcpdiag.json against the real thing: a Prometheus
 * (Debian's package) started with the shipped scrape configuration (target and interval
 * replaced, its token lines uncommented) scrapes a real `tcpdiag serve` that requires a token,
 * inside a private network namespace; then every expression of every panel of the dashboard,
 * with Grafana's variables filled in, is asked of that Prometheus and must return samples with
 * finite values. The dashboard and the agent's /metrics must name the same metrics, both ways.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { REPO_ROOT } from './helpers/cli.js';
import { Netns, actor, rootSkipReason, startProcess, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { NsHttp, startAgent, until } from './serve-support.js';

interface Target {
  readonly expr: string;
  readonly datasource: { readonly uid: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly query: { readonly query: string } }[] };
}

const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'tcpdiag.json');
const SCRAPE = join(REPO_ROOT, 'deploy', 'prometheus.yml');
const TOKEN = 'dashboard-test-token-0123456789';

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** `replace` that fails when the text is not there: a changed example must not silently test nothing. */
function mustReplace(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `deploy/prometheus.yml contains ${JSON.stringify(from)}`);
  return text.split(from).join(to);
}

test('the dashboard is well formed: unique ids, a 24-column grid, every query on the one data source input', () => {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const panels = allPanels(d.panels);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  for (const p of panels) {
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0, `${p.title}: inside the grid`);
    if (p.type === 'row') continue;
    assert.ok((p.targets ?? []).length > 0, `${p.title}: has a query`);
    for (const target of p.targets!) assert.equal(target.datasource.uid, '${DS_PROMETHEUS}', `${p.title}: the data source chosen on import`);
  }
  assert.deepEqual(d.templating.list.map((v) => v.name), ['instance']);
});

test('a real Prometheus with deploy/prometheus.yml scrapes a token-protected agent, and every panel of the dashboard returns data', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'prometheus');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'dashboard');
  const dir = tempDir(t, 'dashboard');
  // Remote write to the same Prometheus (started below, on a port known now), so the exporter's
  // own metrics have series too.
  const agent = await startAgent(t, ns, join(dir, 'data'), writeConfig(dir, `[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 1\ntoken = "${TOKEN}"\n`), ['--remote-write', 'http://127.0.0.1:9090/api/v1/write']);
  // Traffic, so the rates have something to show: a listener holding connections open.
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(port), '5', '--end'], ns)).waitFor(/ready/);

  const tokenFile = join(dir, 'tcpdiag.token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  let scrape = readFileSync(SCRAPE, 'utf8');
  scrape = mustReplace(scrape, "'127.0.0.1:9477'", `'127.0.0.1:${agent.port}'`);
  scrape = mustReplace(scrape, 'scrape_interval: 15s', 'scrape_interval: 1s');
  scrape = mustReplace(scrape, 'scrape_timeout: 5s', 'scrape_timeout: 1s');
  scrape = mustReplace(scrape, '    # authorization:\n    #   type: Bearer\n    #   credentials_file: /etc/prometheus/tcpdiag.token', `    authorization:\n      type: Bearer\n      credentials_file: ${tokenFile}`);
  const promConfig = join(dir, 'prometheus.yml');
  writeFileSync(promConfig, scrape);
  const prom = await startProcess(t, ['prometheus', `--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:9090', '--web.enable-remote-write-receiver'], ns);
  await prom.waitFor(/Server is ready to receive web requests/, 30_000);
  const http = new NsHttp(t, ns);
  const query = async (expr: string): Promise<{ status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } }> =>
    JSON.parse((await http.request('GET', `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(expr)}`)).body) as { status: string };
  // Ten scrapes: enough for every rate() over the 15 s window used below.
  await until('Prometheus has ten scrapes of the agent', 40_000, async () => {
    const r = await query('count_over_time(up{job="tcpdiag"}[1m])');
    return Number(r.data?.result[0]?.value[1] ?? 0) >= 10 ? true : undefined;
  });
  const up = await query('up{job="tcpdiag"}');
  assert.equal(up.data?.result[0]?.value[1], '1', 'scraped with the token from credentials_file (the agent answers 401 without it)');
  const instance = up.data.result[0].metric.instance!;
  assert.equal(instance, `127.0.0.1:${agent.port}`);

  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  // Grafana fills $__rate_interval with max(4 x scrape interval, the step + scrape interval): 15 s covers it here.
  const fill = (expr: string): string => expr.replaceAll('$__rate_interval', '15s').replaceAll('$instance', instance.replaceAll('.', '\\\\.'));
  const exprs = allPanels(d.panels).flatMap((p) => (p.targets ?? []).map((target) => ({ title: p.title, expr: target.expr })));
  assert.ok(exprs.length >= 20, `${exprs.length} expressions`);
  // In a network namespace the agent runs no event collector (tracepoints are host-wide), so the
  // series only it makes are absent, not zero: their panels must parse, and may be empty only then.
  const health = JSON.parse((await http.request('GET', `${agent.url}/api/health`, `Bearer ${TOKEN}`)).body) as { events?: { running?: boolean } };
  assert.equal(health.events?.running, false, `no event collector in a namespace: ${JSON.stringify(health.events)}`);
  const eventOnly = (expr: string): boolean => /tcpdiag_(connections_opened|connections_closed|resets|retransmit_events|retransmit_failures|connect_failures|state_anomalies|events_unstored)_total/.test(expr);
  for (const { title, expr } of exprs) {
    const r = await query(fill(expr));
    assert.equal(r.status, 'success', `${title}: ${expr}: ${r.error ?? ''}`);
    const values = r.data!.result.map((s) => Number(s.value[1]));
    if (values.length === 0 && eventOnly(expr)) continue;
    assert.ok(values.length > 0, `${title}: ${fill(expr)} returned no series`);
    assert.ok(values.every((v) => Number.isFinite(v)), `${title}: ${fill(expr)} returned ${JSON.stringify(values)}`);
  }
  // The instance variable's query, as Grafana runs it (label values of one metric).
  const variable = d.templating.list[0]!.query.query;
  const metric = /label_values\((\w+), instance\)/.exec(variable)?.[1];
  assert.ok(metric !== undefined, variable);
  const labels = JSON.parse((await http.request('GET', `http://127.0.0.1:9090/api/v1/label/instance/values?match[]=${metric}`)).body) as { data: string[] };
  assert.deepEqual(labels.data, [instance]);

  // Every metric the agent exports is charted, and the dashboard charts no metric it does not export.
  const metrics = (await http.request('GET', `${agent.url}/metrics`, `Bearer ${TOKEN}`)).body;
  const exported = new Set([...metrics.matchAll(/^# TYPE (tcpdiag_\w+) /gm)].map((m) => m[1]!));
  // A histogram is charted through its _bucket series.
  const histograms = new Set([...metrics.matchAll(/^# TYPE (tcpdiag_\w+) histogram$/gm)].map((m) => m[1]!));
  const family = (name: string): string => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return histograms.has(base) ? base : name;
  };
  const charted = new Set(exprs.flatMap(({ expr }) => [...expr.matchAll(/\b(tcpdiag_\w+)/g)].map((m) => family(m[1]!))));
  assert.deepEqual([...charted].filter((m) => !exported.has(m)).sort(), [], 'charted but not exported');
  assert.deepEqual([...exported].filter((m) => !charted.has(m)).sort(), [], 'exported but not on the dashboard');
});
