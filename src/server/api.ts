/**
 * The versioned JSON API (/api/v1/) and /api/health. Query parameters are validated with
 * zod/mini schemas; filters are the CLI's: the same flag names (`state`, `port`, `sport`,
 * `dport`, `addr`, `family`, `pid`, `process`) and ss's expression in `expr`, read by the same
 * `filterFromFlags` into one ConnFilter. Errors are TcpdiagErrors, turned into JSON by http.ts.
 */
import * as z from 'zod/mini';
import { UsageError, TcpdiagError } from '../errors.js';
import { compileConnFilter } from '../model/conn-filter.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { filterFromFlags } from '../model/filter-flags.js';
import type { FilterFlags } from '../model/filter-flags.js';
import { parseCidr } from '../model/address.js';
import { parseStateSet } from '../model/tcp-state.js';
import type { TcpState } from '../model/tcp-state.js';
import { socketSource, backendStatus } from '../sources/index.js';
import { TIER_NAMES, TIERS } from '../store/history.js';
import type { HistoryStore, Tier } from '../store/history.js';
import type { Agent } from './agent.js';
import type { Recordings } from './recordings.js';
import type { GeoIp } from './geoip.js';
import { RECORDING_PARAMETERS, RECORDING_ROUTES } from './api-captures.js';
import { EVENT_PARAMETERS, EVENT_ROUTES } from './api-events.js';
import { PLAN_PARAMETERS, PLAN_ROUTES } from './api-plans.js';
import type { PlanApiOptions } from './api-plans.js';
import { MAP_PARAMETERS, MAP_ROUTES } from './api-map.js';
import { FLEET_PARAMETERS, fleetEventsRoute, fleetHostsRoute } from './api-fleet.js';
import type { FleetEngines } from './api-fleet.js';
import { GUARD_PARAMETERS, GUARD_ROUTES } from './api-guard.js';
import type { GuardApiOptions } from './api-guard.js';

export interface ApiContext {
  readonly agent: Agent;
  readonly store: HistoryStore;
  readonly version: string;
  readonly signal: AbortSignal;
  /** Captures, traces, escalations (absent: those routes answer 503). */
  readonly recordings?: Recordings;
  /** Change plans (agent.plans_dir; absent or "": those routes answer 404). */
  readonly plans?: PlanApiOptions;
  /** agent.geoip_file, open; null or absent: none configured. */
  readonly geoip?: GeoIp | null;
  /** The engines of the fleet view (absent: its routes say which URL to configure). */
  readonly fleet?: FleetEngines;
  /** The [guard] settings the guard observation runs with (absent: that route answers 503). */
  readonly guard?: GuardApiOptions;
}

export type Query = Readonly<Record<string, string[]>>;
export type Handler<C = ApiContext> = (context: C, query: Query, body: unknown) => unknown;
export interface Route<C = ApiContext> {
  readonly method: 'GET' | 'POST';
  readonly handler: Handler<C>;
  /** 'raw': the handler gets the request itself as the body (an upload), unread. */
  readonly body?: 'raw';
}

const MAX_ROWS = 100_000;
const digits = (max: number) => z.string().check(z.regex(/^\d{1,15}$/, 'expected decimal digits'), z.refine((t) => Number(t) <= max, `expected at most ${max}`));
const list = (q: Query, key: string): string[] => (q[key] ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');

export function one(q: Query, key: string): string | undefined {
  const values = q[key];
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw new UsageError(`query parameter ${key} is given ${values.length} times`, `give ${key} once`);
  return values[0];
}

/** Parse one parameter with a zod/mini schema; a refusal names the parameter. */
export function param<T>(q: Query, key: string, schema: z.ZodMiniType<T>): T | undefined {
  const text = one(q, key);
  if (text === undefined) return undefined;
  const parsed = schema.safeParse(text);
  if (!parsed.success) throw new UsageError(`query parameter ${key}=${JSON.stringify(text.slice(0, 80))}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'see GET /api/v1 for the parameters');
  return parsed.data;
}

function ports(q: Query, key: string): number[] | undefined {
  const values = list(q, key);
  if (values.length === 0) return undefined;
  return values.map((v) => {
    const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= 65535)) throw new UsageError(`query parameter ${key}: ${JSON.stringify(v)} is not a TCP port (1-65535)`);
    return n;
  });
}

/** The CLI's filter flags, from query parameters, into the CLI's ConnFilter. */
export function filterFromQuery(q: Query): ConnFilter {
  const flags: FilterFlags = {};
  const states = list(q, 'state');
  if (states.length > 0) {
    flags.state = states.flatMap((s): TcpState[] => {
      const set = parseStateSet(s);
      if (set === undefined) throw new UsageError(`query parameter state: ${JSON.stringify(s)} is not a TCP state`, 'use a kernel state name (ESTABLISHED, CLOSE_WAIT, ...) or a group (connected, synchronized)');
      return [...set];
    });
  }
  const family = param(q, 'family', z.enum(['4', '6']));
  if (family === '4') flags.ipv4 = true;
  if (family === '6') flags.ipv6 = true;
  const p = ports(q, 'port');
  const sp = ports(q, 'sport');
  const dp = ports(q, 'dport');
  if (p !== undefined) flags.port = p;
  if (sp !== undefined) flags.sport = sp;
  if (dp !== undefined) flags.dport = dp;
  const addr = list(q, 'addr');
  if (addr.length > 0) flags.addr = addr.map((a) => parseCidr(a));
  const pids = list(q, 'pid');
  if (pids.length > 0) flags.pid = pids.map((v) => Number(digits(4 * 1024 * 1024).parse(v)));
  const process = param(q, 'process', z.string().check(z.minLength(1), z.maxLength(64)));
  if (process !== undefined) flags.process = process;
  const expr = param(q, 'expr', z.string().check(z.maxLength(4096)));
  return filterFromFlags(flags, expr === undefined ? [] : [expr]);
}

export function limitOf(q: Query, fallback: number): number {
  const text = param(q, 'limit', digits(MAX_ROWS));
  return text === undefined ? fallback : Number(text);
}

/** A time: epoch milliseconds, or an ISO 8601 date. */
export function timeOf(q: Query, key: string, fallback: number): number {
  const text = one(q, key);
  if (text === undefined) return fallback;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`query parameter ${key}=${JSON.stringify(text.slice(0, 40))} is not a time`, 'give epoch milliseconds or an ISO 8601 date (2026-12-01T15:00:00Z)');
  return ms;
}

async function connections(context: ApiContext, q: Query): Promise<unknown> {
  const filter = filterFromQuery(q);
  const limit = limitOf(q, 10_000);
  const owners = (filter.pids?.length ?? 0) > 0 || filter.process !== undefined || one(q, 'owners') === '1';
  let rows;
  let takenAtMs;
  if (owners || one(q, 'fresh') === '1') {
    // Owners are not in the periodic table (the /proc walk costs more than the dump): read now, off the main thread.
    const snap = await socketSource({ offThread: true }).collect(context.signal, { filter, withInfo: true, withOwners: owners });
    rows = snap.data;
    takenAtMs = snap.takenAtMs;
  } else {
    const table = context.agent.sockets;
    if (table === null) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', 'the socket table has not been read yet', { hint: 'retry in a few seconds, or pass fresh=1' });
    const keep = compileConnFilter(filter);
    rows = table.data.filter(keep);
    takenAtMs = table.takenAtMs;
  }
  return { takenAtMs, total: rows.length, connections: rows.slice(0, limit) };
}

function stats(context: ApiContext): unknown {
  const { counters, previousCounters } = context.agent;
  if (counters === null) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', 'the counters have not been read yet', { hint: 'retry in a second' });
  const rates: Record<string, number> = {};
  if (previousCounters !== null) {
    const seconds = (counters.monotonicMs - previousCounters.monotonicMs) / 1000;
    for (const [name, v] of Object.entries(counters.counters)) {
      const before = previousCounters.counters[name];
      if (typeof v === 'number' && typeof before === 'number' && v >= before && seconds > 0) rates[name] = (v - before) / seconds;
    }
  }
  return { takenAtMs: context.agent.countersAtMs, states: counters.states, counters: counters.counters, ratesPerSecond: rates };
}

function series(context: ApiContext, q: Query): unknown {
  const metric = one(q, 'metric');
  if (metric === undefined) return { metrics: context.store.metrics(), tiers: TIER_NAMES };
  const now = Date.now();
  const to = timeOf(q, 'to', now);
  const from = timeOf(q, 'from', to - 3_600_000);
  if (from > to) throw new UsageError('query parameter from is after to');
  const tier = (param(q, 'tier', z.enum(TIER_NAMES as [Tier, ...Tier[]])) ?? autoTier(to - from));
  return { metric, tier, stepMs: TIERS[tier], from, to, points: context.store.series(metric, tier, from, to, limitOf(q, 10_000)) };
}

/** The finest tier that answers the span in at most ~4000 points. */
function autoTier(spanMs: number): Tier {
  return TIER_NAMES.find((t) => spanMs / TIERS[t] <= 4000) ?? '1h';
}

function alerts(context: ApiContext, q: Query): unknown {
  return { firing: context.agent.firing(), history: context.store.alerts(timeOf(q, 'from', 0), limitOf(q, 1000)) };
}

function findings(context: ApiContext, q: Query): unknown {
  return { latest: { atMs: context.agent.findingsAtMs, findings: context.agent.findings }, history: context.store.findings(timeOf(q, 'from', 0), limitOf(q, 1000)) };
}

async function diagnose(context: ApiContext): Promise<unknown> {
  const result = await context.agent.diagnoseNow();
  if (result === null) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', 'no window to judge yet (no socket sample since the start), or a diagnosis is running', { hint: 'retry after agent.sample_interval_s' });
  return result;
}

export function health(context: ApiContext): unknown {
  const a = context.agent;
  return {
    status: 'ok',
    version: context.version,
    uptimeS: Math.round((Date.now() - a.startedAtMs) / 1000),
    pid: process.pid,
    collectors: a.collectors,
    // The table reads the agent left out because the counters said nothing had moved.
    socketTable: { takenAtMs: a.sockets?.takenAtMs ?? null, readsLeftOut: a.tablesReused },
    sources: backendStatus().map((b) => ({ backend: b.backend, kind: b.kind, available: b.available, issues: b.issues })),
    events: a.eventStatus(),
    store: { path: context.store.path, bytes: context.store.sizeBytes() },
    eventsLost: a.eventStatus().lost,
  };
}

/** What GET /api/v1 lists: each path with its parameters. */
const PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/connections': 'state, port, sport, dport, addr (CIDR), family (4|6), pid, process, expr (ss filter expression), limit, fresh=1, owners=1',
  '/api/v1/listeners': '',
  '/api/v1/stats': '',
  '/api/v1/series': 'metric (none: the list), from, to (epoch ms or ISO 8601), tier (1s|1m|1h), limit',
  '/api/v1/alerts': 'from, limit',
  '/api/v1/findings': 'from, limit',
  '/api/v1/diagnose': '(POST) judge the window since the last diagnosis',
  ...RECORDING_PARAMETERS,
  ...EVENT_PARAMETERS,
  ...PLAN_PARAMETERS,
  ...MAP_PARAMETERS,
  ...GUARD_PARAMETERS,
  ...FLEET_PARAMETERS,
};

/** The fleet routes of an agent: its configured engines, or none (the routes then say which URL to set). */
function enginesOf(c: ApiContext): FleetEngines {
  return c.fleet ?? { prometheus: '', clickhouse: { url: '', database: '', table: '', user: '', password: '', timeoutMs: 0 }, signal: c.signal };
}

export const ROUTES: Readonly<Record<string, Route>> = {
  '/api/v1': { method: 'GET', handler: (c) => ({ version: c.version, paths: PARAMETERS }) },
  '/api/health': { method: 'GET', handler: health },
  '/api/v1/connections': { method: 'GET', handler: connections },
  '/api/v1/listeners': { method: 'GET', handler: (c) => ({ listeners: c.agent.listeners ?? [] }) },
  '/api/v1/stats': { method: 'GET', handler: stats },
  '/api/v1/series': { method: 'GET', handler: series },
  '/api/v1/alerts': { method: 'GET', handler: alerts },
  '/api/v1/findings': { method: 'GET', handler: findings },
  '/api/v1/diagnose': { method: 'POST', handler: diagnose },
  ...RECORDING_ROUTES,
  ...EVENT_ROUTES,
  ...PLAN_ROUTES,
  ...MAP_ROUTES,
  ...GUARD_ROUTES,
  '/api/v1/fleet/hosts': { method: 'GET', handler: (c, q) => fleetHostsRoute(enginesOf(c), q) },
  '/api/v1/fleet/events': { method: 'GET', handler: (c, q) => fleetEventsRoute(enginesOf(c), q) },
};
