/**
 * The fleet API: GET /api/v1/fleet/hosts (the metrics store, by `host`) and
 * GET /api/v1/fleet/events (ClickHouse: the event questions of `tcpdiag fleet`), served by any
 * agent with fleet.prometheus / fleet.clickhouse set and by `tcpdiag serve --fleet`. The
 * queries are src/server/fleet/'s, the parameters are read with api.ts's validators, so
 * errors are the same JSON with the CLI's codes; every engine request has a deadline
 * (fleet.timeout_s), so an engine that does not answer is an error, never a hang.
 */
import * as z from 'zod/mini';
import { TcpdiagError, UsageError } from '../errors.js';
import { FLEET_SINCE } from '../model/limits.js';
import { parseDurationMs } from '../model/units.js';
import { fleetHosts } from './fleet/promql.js';
import { listEvents, overflowsByHost, resetsByHost, retransByPeer } from './fleet/events.js';
import type { ClickHouseTarget } from './fleet/events.js';
import type { Query, Route } from './api.js';
import { limitOf, one, param, timeOf } from './api.js';

/** The engines the fleet API asks ("" where none is configured). */
export interface FleetEngines {
  /** The PromQL HTTP API root (Prometheus or VictoriaMetrics). */
  readonly prometheus: string;
  /** ClickHouse's HTTP interface and the event table; `url` "" when none. */
  readonly clickhouse: ClickHouseTarget;
  readonly signal: AbortSignal;
}

export const FLEET_QUESTIONS = ['resets', 'overflows', 'retrans', 'rows'] as const;
export type FleetQuestion = (typeof FLEET_QUESTIONS)[number];

const DEFAULT_SINCE_MS = 3_600_000;
const TEXT = z.string().check(z.minLength(1), z.maxLength(200));

/** What the empty state of the Fleet page shows: which setting to make. */
export function notConfigured(engine: 'prometheus' | 'clickhouse'): TcpdiagError {
  return engine === 'prometheus'
    ? new TcpdiagError('TCPDIAG_NOT_CONFIGURED', 'no metrics store configured for the fleet view', { hint: 'set fleet.prometheus = "http://HOST:8428" (VictoriaMetrics) or "http://HOST:9090" (Prometheus) in tcp_diag.conf, or pass --prometheus URL to tcpdiag serve' })
    : new TcpdiagError('TCPDIAG_NOT_CONFIGURED', 'no ClickHouse configured for the fleet view', { hint: 'set fleet.clickhouse = "http://HOST:8123" in tcp_diag.conf, or pass --clickhouse URL to tcpdiag serve' });
}

/** [from, to]: `since` (a duration back from `to`) or `from`; one hour by default. */
export function fleetRange(q: Query): { readonly fromMs: number; readonly toMs: number } {
  const toMs = timeOf(q, 'to', Date.now());
  const since = one(q, 'since');
  if (since !== undefined && one(q, 'from') !== undefined) throw new UsageError('query parameters since and from are both given', 'give one: since=1h, or from=2026-12-01T10:00:00Z');
  let sinceMs = DEFAULT_SINCE_MS;
  if (since !== undefined) {
    try {
      sinceMs = parseDurationMs(since, FLEET_SINCE);
    } catch (error: unknown) {
      throw new UsageError(`query parameter since=${JSON.stringify(since.slice(0, 40))}: ${error instanceof Error ? error.message : String(error)}`, 'e.g. since=15m, since=1h, since=24h');
    }
  }
  const fromMs = timeOf(q, 'from', toMs - sinceMs);
  if (fromMs > toMs) throw new UsageError('query parameter from is after to', 'give from <= to (epoch ms or ISO 8601)');
  return { fromMs, toMs };
}

export async function fleetHostsRoute(e: FleetEngines, q: Query): Promise<unknown> {
  const { fromMs, toMs } = fleetRange(q);
  const host = param(q, 'host', TEXT);
  if (e.prometheus === '') throw notConfigured('prometheus');
  const hosts = await fleetHosts(e.prometheus, { atMs: toMs, sinceMs: toMs - fromMs, ...(host === undefined ? {} : { host }), timeoutMs: e.clickhouse.timeoutMs, signal: e.signal });
  return { prometheus: e.prometheus, fromMs, toMs, hosts };
}

export async function fleetEventsRoute(e: FleetEngines, q: Query): Promise<unknown> {
  const range = fleetRange(q);
  const question: FleetQuestion = param(q, 'question', z.enum(FLEET_QUESTIONS)) ?? 'rows';
  const kind = param(q, 'kind', TEXT);
  const name = param(q, 'name', TEXT);
  const peer = param(q, 'peer', TEXT);
  const listener = param(q, 'listener', TEXT);
  const host = param(q, 'host', TEXT);
  const limit = limitOf(q, question === 'retrans' ? 20 : 100);
  if (question !== 'rows' && (kind !== undefined || name !== undefined)) throw new UsageError(`query parameters kind and name go with question=rows, not question=${question}`, 'the question chooses its own kinds (DEVELOPERS.md, the fleet)');
  if (e.clickhouse.url === '') throw notConfigured('clickhouse');
  const t = e.clickhouse;
  const base = { clickhouse: t.url, question, fromMs: range.fromMs, toMs: range.toMs };
  const onlyHost = <T extends { readonly host: string }>(rows: readonly T[]) => rows.filter((r) => host === undefined || r.host === host);
  switch (question) {
    case 'resets':
      return { ...base, hosts: onlyHost(await resetsByHost(t, peer, range, e.signal)).slice(0, limit) };
    case 'overflows':
      return { ...base, hosts: onlyHost(await overflowsByHost(t, listener, range, e.signal)).slice(0, limit) };
    case 'retrans': {
      const peers = (await retransByPeer(t, limit, range, e.signal)).filter((p) => (peer === undefined || p.peer === peer) && (host === undefined || p.hosts.some((h) => h.host === host)));
      return { ...base, peers };
    }
    case 'rows':
      return {
        ...base,
        rows: await listEvents(t, {
          ...range,
          ...(kind === undefined ? {} : { kinds: [kind] }),
          ...(name === undefined ? {} : { names: [name] }),
          ...(peer === undefined ? {} : { peer }),
          ...(listener === undefined ? {} : { listener }),
          ...(host === undefined ? {} : { host }),
          limit,
        }, e.signal),
      };
  }
}

export const FLEET_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/fleet/hosts': 'since (duration, default 1h) or from, to (epoch ms or ISO 8601), host',
  '/api/v1/fleet/events': 'question (resets|overflows|retrans|rows, default rows), peer, listener, host, kind and name (rows only), since or from, to, limit',
};

/** What `tcpdiag serve --fleet` serves beside the dashboard: no collectors, so no other route. */
export interface FleetServeContext {
  readonly engines: FleetEngines;
  readonly version: string;
  readonly startedAtMs: number;
}

export const FLEET_SERVE_ROUTES: Readonly<Record<string, Route<FleetServeContext>>> = {
  '/api/v1': { method: 'GET', handler: (c) => ({ version: c.version, mode: 'fleet', paths: FLEET_PARAMETERS }) },
  '/api/health': {
    method: 'GET',
    handler: (c) => ({
      status: 'ok',
      mode: 'fleet',
      version: c.version,
      uptimeS: Math.round((Date.now() - c.startedAtMs) / 1000),
      pid: process.pid,
      fleet: { prometheus: c.engines.prometheus, clickhouse: c.engines.clickhouse.url },
    }),
  },
  '/api/v1/fleet/hosts': { method: 'GET', handler: (c, q) => fleetHostsRoute(c.engines, q) },
  '/api/v1/fleet/events': { method: 'GET', handler: (c, q) => fleetEventsRoute(c.engines, q) },
};
