/**
 * The event side of `tcpdiag fleet`: questions over the agents' event table in ClickHouse
 * (sinks/clickhouse/rows.ts), asked over its HTTP interface with FORMAT JSON.
 *
 * ClickHouse 18.16 has no query parameters ({name:Type} came in 19.x), so values are written
 * into the SQL as literals: strings through `quote()` (ClickHouse's escaping: backslash and
 * single quote), times as integers, identifiers only after the schema's own pattern check.
 */
import { TcpdiagError } from '../../errors.js';
import { IDENTIFIER } from '../../sinks/clickhouse/rows.js';
import { engineRequest } from './engine-http.js';
import type { HostTally, PeerTally } from '../../model/fleet.js';

export type { HostTally, PeerTally } from '../../model/fleet.js';

export interface ClickHouseTarget {
  readonly url: string;
  readonly database: string;
  readonly table: string;
  readonly user: string;
  readonly password: string;
  readonly timeoutMs: number;
}

export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** A ClickHouse string literal. */
export function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function table(t: ClickHouseTarget): string {
  if (!IDENTIFIER.test(t.database) || !IDENTIFIER.test(t.table)) throw new TcpdiagError('TCPDIAG_USAGE', `not a table name: ${t.database}.${t.table}`);
  return `${t.database}.${t.table}`;
}

function timeWhere(r: TimeRange): string {
  return `time >= toDateTime(${Math.floor(r.fromMs / 1000)}) AND time <= toDateTime(${Math.ceil(r.toMs / 1000)})`;
}

export async function clickhouseQuery<T>(t: ClickHouseTarget, sql: string, signal: AbortSignal): Promise<T[]> {
  const headers: Record<string, string> = { 'X-ClickHouse-User': t.user, ...(t.password === '' ? {} : { 'X-ClickHouse-Key': t.password }) };
  const text = await engineRequest('ClickHouse', t.url, { method: 'POST', body: `${sql} FORMAT JSON`, headers }, t.timeoutMs, signal);
  try {
    return (JSON.parse(text) as { data: T[] }).data;
  } catch {
    throw new TcpdiagError('TCPDIAG_ENGINE_FAILED', `ClickHouse at ${t.url} answered something that is not JSON: ${text.slice(0, 100)}`, { hint: 'pass its HTTP interface (http://HOST:8123), not the native port 9000' });
  }
}

export interface EventFilter extends TimeRange {
  readonly kinds?: readonly string[];
  readonly names?: readonly string[];
  readonly peer?: string;
  readonly listener?: string;
  readonly host?: string;
  readonly limit: number;
}

export interface EventListRow {
  readonly host: string;
  readonly time: string;
  readonly kind: string;
  readonly name: string;
  readonly severity: string;
  readonly listener: string;
  readonly peer: string;
  readonly process: string;
  readonly reason: string;
  readonly value: number;
  readonly threshold: number;
  readonly count: number;
}

function where(f: Omit<EventFilter, 'limit'>): string {
  const parts = [timeWhere(f)];
  if (f.kinds !== undefined && f.kinds.length > 0) parts.push(`kind IN (${f.kinds.map(quote).join(', ')})`);
  if (f.names !== undefined && f.names.length > 0) parts.push(`name IN (${f.names.map(quote).join(', ')})`);
  if (f.peer !== undefined) parts.push(`peer = ${quote(f.peer)}`);
  if (f.listener !== undefined) parts.push(`listener = ${quote(f.listener)}`);
  if (f.host !== undefined) parts.push(`host = ${quote(f.host)}`);
  return parts.join(' AND ');
}

// JSON output quotes 64-bit integers (output_format_json_quote_64bit_integers): toFloat64 keeps them numbers.
const ROW_COLUMNS = "host, toUnixTimestamp(time) AS ts, kind, name, severity, listener, peer, process, reason, value, threshold, toFloat64(count) AS count";

/** Event rows, newest first. */
export async function listEvents(t: ClickHouseTarget, f: EventFilter, signal: AbortSignal): Promise<EventListRow[]> {
  const rows = await clickhouseQuery<Omit<EventListRow, 'time'> & { ts: number }>(t, `SELECT ${ROW_COLUMNS} FROM ${table(t)} WHERE ${where(f)} ORDER BY time_ms DESC LIMIT ${Math.floor(f.limit)}`, signal);
  return rows.map(({ ts, host, ...r }) => ({ host, time: iso(ts), ...r }));
}

/** Epoch seconds (toUnixTimestamp: a plain number in every version's JSON, no zone to agree on) as ISO 8601. */
function iso(seconds: number | string): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
}


/**
 * Which kinds and names answer each question: kernel events by their own names, alerts by
 * their rules, findings by their rule ids, rollups by their `name`.
 */
export const QUESTION = {
  resets: { kinds: ['reset', 'reset_received', 'reset_sent', 'receive_reset', 'send_reset'], names: ['reset-storm', 'reset', 'resets'] },
  overflows: { kinds: ['listen_overflow', 'overflow', 'listen_drop'], names: ['listen-overflows', 'listen-overflow', 'syn-recv-backlog', 'listen_overflows'] },
  retrans: { kinds: ['retransmit', 'retransmission', 'retransmit_synack', 'retrans'], names: ['retransmission-ratio', 'packet-loss', 'retransmission-high', 'retransmits', 'retransmissions'] },
} as const;

/**
 * The per-listener rollups count the same kernel events as the per-peer ones, so only the
 * per-peer rows answer; and a minute's rollup counts the events kept one by one again.
 */
function questionWhere(q: keyof typeof QUESTION): string {
  const { kinds, names } = QUESTION[q];
  return `(kind IN (${kinds.map(quote).join(', ')}) OR name IN (${names.map(quote).join(', ')})) AND kind != 'rollup.listener'`;
}

/**
 * Events counted once: the per-peer rollups are complete counts of the kernel events (those
 * kept one by one stop at events.max_stored_per_s), so the larger of the two sums is the count.
 */
const EVENTS = "greatest(sumIf(count, kind = 'rollup.peer'), sumIf(count, kind != 'rollup.peer'))";

const TALLY = `host, ${EVENTS} AS events, count() AS rows, toUnixTimestamp(min(time)) AS first, toUnixTimestamp(max(time)) AS last, groupUniqArray(kind) AS kinds, arrayFilter(p -> p != '', groupUniqArray(process)) AS processes`;

async function tally(t: ClickHouseTarget, q: keyof typeof QUESTION, extra: string, range: TimeRange, signal: AbortSignal): Promise<HostTally[]> {
  const rows = await clickhouseQuery<Omit<HostTally, 'events' | 'rows' | 'first' | 'last'> & { events: number | string; rows: number | string; first: number; last: number }>(t, `SELECT ${TALLY} FROM ${table(t)} WHERE ${timeWhere(range)} AND ${questionWhere(q)}${extra} GROUP BY host ORDER BY events DESC, host`, signal);
  return rows.map((r) => ({ ...r, events: Number(r.events), rows: Number(r.rows), first: iso(r.first), last: iso(r.last), kinds: [...r.kinds].sort(), processes: [...r.processes].sort() }));
}

/** Which hosts saw resets with `peer` (every peer when undefined). */
export function resetsByHost(t: ClickHouseTarget, peer: string | undefined, range: TimeRange, signal: AbortSignal): Promise<HostTally[]> {
  return tally(t, 'resets', peer === undefined ? '' : ` AND peer = ${quote(peer)}`, range, signal);
}

/** Where `listener` (every listener when undefined) overflowed. */
export function overflowsByHost(t: ClickHouseTarget, listener: string | undefined, range: TimeRange, signal: AbortSignal): Promise<HostTally[]> {
  return tally(t, 'overflows', listener === undefined ? '' : ` AND listener = ${quote(listener)}`, range, signal);
}


/** The peers that carry the most retransmission events across the fleet, with the hosts that saw them. */
export async function retransByPeer(t: ClickHouseTarget, top: number, range: TimeRange, signal: AbortSignal): Promise<PeerTally[]> {
  const rows = await clickhouseQuery<{ peer: string; host: string; events: number | string; last: number }>(t, `SELECT peer, host, ${EVENTS} AS events, toUnixTimestamp(max(time)) AS last FROM ${table(t)} WHERE ${timeWhere(range)} AND ${questionWhere('retrans')} AND peer != '' GROUP BY peer, host`, signal);
  const peers = new Map<string, { events: number; last: number; hosts: { host: string; events: number }[] }>();
  for (const r of rows) {
    const p = peers.get(r.peer) ?? { events: 0, last: 0, hosts: [] };
    p.events += Number(r.events);
    p.last = Math.max(p.last, Number(r.last));
    p.hosts.push({ host: r.host, events: Number(r.events) });
    peers.set(r.peer, p);
  }
  return [...peers]
    .sort((a, b) => b[1].events - a[1].events || (a[0] < b[0] ? -1 : 1))
    .slice(0, Math.floor(top))
    .map(([peer, p]) => ({ peer, events: p.events, last: iso(p.last), hosts: p.hosts.sort((a, b) => b.events - a.events || (a.host < b.host ? -1 : 1)) }));
}
