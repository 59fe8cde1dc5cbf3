/**
 * The API of the agent's kernel events: GET /api/v1/events (abnormal events one by one, every
 * counter per second) and GET /api/v1/rollups (per minute, per listener or peer). Parameters
 * are read with api.ts's validators, so errors are the same JSON with the CLI's codes.
 */
import * as z from 'zod/mini';
import { UsageError } from '../errors.js';
import { isIPv4 } from '../model/address.js';
import { ABNORMAL_KINDS, AGENT_EVENT_KINDS, ROLLUP_BY } from '../model/agent-event.js';
import type { AgentEventKind, EventCounter, RollupBy } from '../model/agent-event.js';
import type { EndpointForms } from '../store/events.js';
import type { ApiContext, Query } from './api.js';
import { limitOf, one, param, timeOf } from './api.js';
import { parseEndpointText } from './recording-scope.js';

/** The per-second counters that belong to each kind. */
const COUNTERS_OF: Readonly<Record<AgentEventKind, readonly EventCounter[]>> = {
  connect: ['open.active', 'connect'],
  accept: ['open.passive', 'accept'],
  close: ['close', 'fin.sent', 'fin.received'],
  'connect-failed': ['connect-failed'],
  reset: ['reset.sent', 'reset.received'],
  retransmit: ['retransmit.data', 'retransmit.syn', 'retransmit.synack', 'retransmit.failed'],
  state: ['state'],
};

/** The span asked for: [from, to], one hour back by default. */
function span(q: Query): { readonly from: number; readonly to: number } {
  const to = timeOf(q, 'to', Date.now());
  const from = timeOf(q, 'from', to - 3_600_000);
  if (from > to) throw new UsageError('query parameter from is after to', 'give from <= to (epoch ms or ISO 8601)');
  return { from, to };
}

function kindsOf(q: Query): AgentEventKind[] | null {
  const text = one(q, 'kind');
  if (text === undefined) return null;
  const kinds = text.split(',').filter((k) => k !== '');
  for (const k of kinds) {
    if (!(AGENT_EVENT_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`query parameter kind: ${JSON.stringify(k.slice(0, 40))} is not an event kind`, `use ${AGENT_EVENT_KINDS.join(', ')} (comma-separated)`);
    }
  }
  return kinds.length === 0 ? null : (kinds as AgentEventKind[]);
}

/**
 * `local` and `remote` (ADDR:PORT, [ADDR]:PORT for IPv6): one connection's events. An IPv4
 * address also matches its v4-mapped spelling, which a dual-stack socket's events carry.
 */
function endpointOf(q: Query, key: string): EndpointForms | undefined {
  const text = one(q, key);
  if (text === undefined) return undefined;
  const e = parseEndpointText(text);
  if (e === null || e.address === null || e.port === null) {
    throw new UsageError(`query parameter ${key}=${JSON.stringify(text.slice(0, 80))} is not an endpoint`, `give ADDRESS:PORT, [IPV6]:PORT for IPv6 (${key}=10.0.0.5:443, ${key}=[2001:db8::5]:443)`);
  }
  const { address, port } = e;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const addresses = isIPv4(address) ? [address, `::ffff:${address}`] : mapped !== undefined ? [address, mapped] : [address];
  return { addresses, port };
}

function connectionOf(q: Query): { local: EndpointForms; remote: EndpointForms } | undefined {
  const local = endpointOf(q, 'local');
  const remote = endpointOf(q, 'remote');
  if (local === undefined && remote === undefined) return undefined;
  if (local === undefined || remote === undefined) throw new UsageError('query parameters local and remote go together (one connection)', 'give both: local=ADDRESS:PORT&remote=ADDRESS:PORT');
  return { local, remote };
}

function events(context: ApiContext, q: Query): unknown {
  const { from, to } = span(q);
  const kinds = kindsOf(q);
  const limit = limitOf(q, 1000);
  const newestFirst = param(q, 'order', z.enum(['oldest', 'newest'])) === 'newest';
  const connection = connectionOf(q);
  const stored = kinds === null ? null : kinds.filter((k) => ABNORMAL_KINDS.has(k));
  const counters = kinds === null ? null : kinds.flatMap((k) => COUNTERS_OF[k]);
  const store = context.agent.eventStore;
  return {
    from,
    to,
    collector: context.agent.eventStatus(),
    // Opens and closes are only counted (per second); the rest are kept one by one too.
    events: stored !== null && stored.length === 0 ? [] : store.events({ fromMs: from, toMs: to, kinds: stored, limit, newestFirst, ...(connection === undefined ? {} : { connection }) }),
    // A connection's every state, from memory (the store keeps only the abnormal transitions).
    ...(connection === undefined ? {} : { history: context.agent.connectionHistory(connection.local, connection.remote) }),
    // Counts are per second for the whole host: a connection's are its events above.
    counts: connection === undefined ? store.counts(from, to, counters, 100_000) : { perSecond: {}, totals: {} },
  };
}

function rollups(context: ApiContext, q: Query): unknown {
  const by = param(q, 'by', z.enum(ROLLUP_BY as unknown as [RollupBy, ...RollupBy[]]));
  if (by === undefined) throw new UsageError('query parameter by is required', `give by=${ROLLUP_BY.join(' or by=')}`);
  const { from, to } = span(q);
  const key = param(q, 'key', z.string().check(z.minLength(1), z.maxLength(80))) ?? null;
  const limit = limitOf(q, 10_000);
  const stored = context.agent.eventStore.rollups(by, from, to, key, limit);
  // The minutes still filling come from memory, marked partial: a minute is written once it has closed.
  const open = context.agent.openRollups()
    .filter((r) => r.by === by && r.ts >= from && r.ts <= to && (key === null || r.key === key))
    .map((r) => ({ ...r, partial: true }));
  const rows = [...stored, ...open].slice(0, limit);
  // Peers by country when agent.geoip_file is set: the lookup is here, the page only groups.
  const geoip = by === 'peer' ? context.geoip ?? null : null;
  return {
    by, from, to, stepMs: 60_000,
    geoip: geoip === null ? null : { file: geoip.file, databaseType: geoip.databaseType },
    rows: geoip === null ? rows : rows.map((r) => ({ ...r, country: geoip.country(r.key) })),
  };
}

export const EVENT_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/events': `from, to (epoch ms or ISO 8601; the last hour by default), kind (${AGENT_EVENT_KINDS.join('|')}, comma-separated), local and remote (ADDR:PORT, [IPV6]:PORT: one connection's events and its state history), order (oldest|newest: which end the limit keeps; oldest by default), limit`,
  '/api/v1/rollups': `by (${ROLLUP_BY.join('|')}, required), from, to, key (one listener ADDR:PORT, peer address or remote port), limit`,
};

export const EVENT_ROUTES = {
  '/api/v1/events': { method: 'GET', handler: events },
  '/api/v1/rollups': { method: 'GET', handler: rollups },
} as const;
