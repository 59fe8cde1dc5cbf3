/**
 * The metrics side of `tcpdiag fleet hosts`: instant PromQL queries over the HTTP API that
 * Prometheus and VictoriaMetrics both serve (`GET /api/v1/query`), grouped by the `host` label
 * the agents' remote write sets.
 */
import { TcpdiagError } from '../../errors.js';
import { engineRequest } from './engine-http.js';
import type { FleetHost } from '../../model/fleet.js';

export type { FleetHost } from '../../model/fleet.js';

export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

export async function instantQuery(base: string, query: string, atMs: number, timeoutMs: number, signal: AbortSignal): Promise<VectorSample[]> {
  const url = `${base.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}&time=${(atMs / 1000).toFixed(3)}`;
  const text = await engineRequest('the PromQL API', url, {}, timeoutMs, signal);
  let body: { status?: string; error?: string; data?: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[] } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TcpdiagError('TCPDIAG_ENGINE_FAILED', `the PromQL API at ${base} answered something that is not JSON: ${text.slice(0, 100)}`, { hint: 'pass the API root (http://HOST:8428 for VictoriaMetrics, http://HOST:9090 for Prometheus), not a page' });
  }
  if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new TcpdiagError('TCPDIAG_ENGINE_FAILED', `the PromQL API at ${base} refused ${query}: ${body.error ?? body.status ?? 'no status'}`);
  return (body.data.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]), timestampMs: Math.round(r.value[0] * 1000) }));
}


function byHost(samples: readonly VectorSample[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const host = s.metric.host;
    if (host !== undefined) out.set(host, s.value);
  }
  return out;
}

/** Hosts seen within `sinceMs` before `atMs`; stale ones are those with no sample in the last 5 minutes (PromQL's lookback). */
export async function fleetHosts(base: string, options: { readonly atMs: number; readonly sinceMs: number; readonly host?: string; readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<FleetHost[]> {
  const sel = options.host === undefined ? '' : `host=${JSON.stringify(options.host)}`;
  const w = `${Math.max(1, Math.round(options.sinceMs / 1000))}s`;
  const q = (query: string) => instantQuery(base, query, options.atMs, options.timeoutMs, options.signal);
  const [seen, lastTs, score, firing, estab, retrans, overflows, backlog, dropped] = await Promise.all([
    q(`max by (host) (count_over_time(tcpdiag_agent_cpu_seconds_total{${sel}}[${w}]))`),
    q(`max by (host) (timestamp(tcpdiag_agent_cpu_seconds_total{${sel}}))`),
    q(`max by (host) (tcpdiag_health_score{${sel}})`),
    q(`sum by (host, severity) (tcpdiag_alerts_firing{${sel}})`),
    q(`sum by (host) (tcpdiag_connections{state="ESTABLISHED"${sel === '' ? '' : `,${sel}`}})`),
    q(`sum by (host) (rate(tcpdiag_retransmits_total{${sel}}[5m]))`),
    q(`sum by (host) (rate(tcpdiag_listen_overflows_total{${sel}}[5m]))`),
    q(`sum by (host) (tcpdiag_export_backlog_items{${sel}})`),
    q(`sum by (host) (tcpdiag_export_dropped_total{${sel}})`),
  ]);
  const last = byHost(lastTs);
  const scores = byHost(score);
  const e = byHost(estab);
  const r = byHost(retrans);
  const o = byHost(overflows);
  const b = byHost(backlog);
  const d = byHost(dropped);
  const firingBy = new Map<string, Record<string, number>>();
  for (const s of firing) {
    const host = s.metric.host;
    if (host === undefined || s.value === 0) continue;
    const f = firingBy.get(host) ?? {};
    f[s.metric.severity ?? 'unknown'] = s.value;
    firingBy.set(host, f);
  }
  const hosts = [...new Set([...byHost(seen).keys(), ...last.keys()])].sort();
  return hosts.map((host) => {
    const f = firingBy.get(host) ?? {};
    const lastSec = last.get(host);
    const health = lastSec === undefined ? 'stale' : (f.P1 ?? 0) > 0 ? 'down' : Object.keys(f).length > 0 ? 'degraded' : 'ok';
    return {
      host,
      health,
      score: scores.get(host) ?? null,
      firing: f,
      lastSampleAt: lastSec === undefined ? null : new Date(lastSec * 1000).toISOString(),
      established: e.get(host) ?? null,
      retransmitsPerS: r.get(host) ?? null,
      listenOverflowsPerS: o.get(host) ?? null,
      backlogItems: b.get(host) ?? null,
      droppedTotal: d.get(host) ?? null,
    };
  });
}
