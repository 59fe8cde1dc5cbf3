/**
 * The fleet's event table in ClickHouse: its DDL and the rows the agent's stream messages
 * become. Pure: messages in, JSONEachRow lines out.
 *
 * One row per thing worth finding across hosts later: an alert firing or resolving (with its
 * evidence), a diagnosis finding, a kernel event the agent saw (a reset, a retransmission, a
 * failed connect: `kind` is the event's own name), a per-peer rollup, and `dropped` rows that
 * say how many rows the per-host volume bound left out. The columns are the questions
 * `tcpdiag fleet` asks: which hosts (host), when (time), what (kind, name), where (listener,
 * peer, process), why (reason), how much (value, threshold, count), and the rest as JSON.
 *
 * Only types and features ClickHouse 18.16 (Debian 12) already has, so the same DDL runs on
 * current releases: DateTime (seconds; DateTime64 came in 19.x) with an explicit 'UTC' zone so
 * the text we send is not read in the server's zone, LowCardinality(String), MergeTree with
 * PARTITION BY/ORDER BY, no TTL (19.x; retention is the operator's ALTER ... DROP PARTITION,
 * one partition per day). No Map, JSON or Nullable columns: '' and 0 mean absent.
 */
import type { StreamMessage } from '../../model/stream.js';
import type { AlertTransition } from '../../model/alert.js';
import type { Finding } from '../../model/finding.js';
import type { RollupRow } from '../../model/agent-event.js';

export interface EventRow {
  host: string;
  /** 'YYYY-MM-DD hh:mm:ss' in UTC. */
  time: string;
  time_ms: number;
  kind: string;
  name: string;
  severity: string;
  listener: string;
  peer: string;
  process: string;
  reason: string;
  value: number;
  threshold: number;
  count: number;
  /** JSON text. */
  evidence: string;
}

/** Identifiers we put into DDL and queries: checked, never quoted from input. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function createTableSql(database: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${database}.${table} (
  host LowCardinality(String),
  time DateTime('UTC'),
  time_ms UInt64,
  kind LowCardinality(String),
  name LowCardinality(String),
  severity LowCardinality(String),
  listener String,
  peer String,
  process String,
  reason String,
  value Float64,
  threshold Float64,
  count UInt64,
  evidence String
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (host, time)`;
}

export function clickhouseTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function base(host: string, atMs: number, kind: string): EventRow {
  return { host, time: clickhouseTime(atMs), time_ms: Math.round(atMs), kind, name: '', severity: '', listener: '', peer: '', process: '', reason: '', value: 0, threshold: 0, count: 1, evidence: '{}' };
}

const LISTENER = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d+$/;

function endpointOf(v: unknown): { readonly address: string; readonly port: number } | null {
  if (typeof v !== 'object' || v === null) return null;
  const { address, port } = v as { address?: unknown; port?: unknown };
  return typeof address === 'string' && typeof port === 'number' ? { address, port } : null;
}

function endpointText(e: { readonly address: string; readonly port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function field(v: unknown, name: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[name] : undefined;
}

function alertRow(host: string, t: AlertTransition): EventRow {
  const row = base(host, t.atMs, 'alert');
  row.name = t.rule;
  row.severity = t.severity;
  row.reason = t.repeat ? `${t.status} (repeat)` : t.status;
  row.value = t.value ?? 0;
  row.threshold = t.threshold;
  const top = t.evidence?.topListeners[0];
  if (t.scopeKind === 'listener') row.listener = t.scope ?? '';
  else if (top !== undefined) row.listener = str(top.listener);
  if (t.scopeKind === 'peer') row.peer = t.scope ?? '';
  const owner = top?.process as { process?: unknown } | undefined;
  row.process = str(owner?.process);
  row.evidence = JSON.stringify({ summary: t.summary, metric: t.metric, scopeKind: t.scopeKind, startsAtMs: t.startsAtMs, ...(t.evidence === undefined ? {} : { evidence: t.evidence }) });
  return row;
}

function findingRow(host: string, f: Finding, atMs: number): EventRow {
  const row = base(host, atMs, 'finding');
  row.name = f.id;
  row.severity = f.severity;
  row.reason = f.title;
  const e = f.evidence;
  row.listener = str(e.listener) || (LISTENER.test(f.subject) ? f.subject : '');
  row.process = str(e.process) || str(field(e.process, 'process')) || str(field(e.owner, 'process'));
  // reset-storm lists its peers worst first.
  const firstPeer = Array.isArray(e.peers) ? field(e.peers[0], 'peer') : undefined;
  row.peer = str(e.peer) || str(e.destination) || str(firstPeer);
  row.value = num(e.count) || num(e.value);
  row.evidence = JSON.stringify({ subject: f.subject, explanation: f.explanation, evidence: f.evidence, advice: f.advice });
  return row;
}

/**
 * A kernel event or a rollup: its own fields by their usual names (`listener`, `peer`,
 * `process`, `reason`, `count`, `value`), everything in `evidence`.
 */
export function recordRow(host: string, atMs: number, kind: string, data: Readonly<Record<string, unknown>>): EventRow {
  const row = base(host, atMs, kind);
  row.name = str(data.name) || str(data.event);
  // The agent's kernel events (model/agent-event.ts) carry endpoints: the peer is the remote
  // address; the local end is a listener only for what was accepted (direction passive).
  const remote = endpointOf(data.remote);
  const local = endpointOf(data.local);
  row.listener = str(data.listener) || (data.direction === 'passive' && local !== null ? endpointText(local) : '');
  row.peer = str(data.peer) || (remote?.address ?? '');
  if (row.name === '') row.name = str(data.direction) || str(data.state);
  row.process = str(data.process) || str(data.comm);
  row.reason = str(data.reason);
  row.value = num(data.value);
  if (typeof data.count === 'number' && Number.isSafeInteger(data.count) && data.count >= 0) row.count = data.count;
  row.evidence = JSON.stringify(data);
  return row;
}

/** The measures of a rollup that become rows of their own when not zero (opens and closes are the metrics' counters). */
const ROLLUP_MEASURES = ['resets', 'retransmits', 'failed'] as const;

/**
 * A closed minute's rollups: one row per listener or peer and measure that is not zero, kind
 * `rollup.listener` or `rollup.peer`, name the measure, count its events in the minute, the
 * whole rollup (opens, closes, bytes, RTT) as evidence. The counts are complete where the
 * kernel events kept one by one stop at events.max_stored_per_s.
 */
export function rollupRows(host: string, rows: readonly RollupRow[]): EventRow[] {
  const out: EventRow[] = [];
  for (const r of rows) {
    // The per-remote-port rows count the peers' events a third time (the fleet's questions sum
    // the per-peer rows, src/server/fleet/events.ts): they stay in the agent's own store.
    if (r.by === 'remote-port') continue;
    for (const measure of ROLLUP_MEASURES) {
      const n = r[measure];
      if (n <= 0) continue;
      const row = base(host, r.ts, `rollup.${r.by}`);
      row.name = measure;
      if (r.by === 'listener') row.listener = r.key;
      else row.peer = r.key;
      row.count = n;
      row.value = r.rttMeanMs ?? 0;
      row.evidence = JSON.stringify(r);
      out.push(row);
    }
  }
  return out;
}

/** The rows one stream message becomes (none for samples and listener tables: those are metrics). */
export function rowsOf(host: string, message: StreamMessage | { readonly kind: string; readonly atMs: number }): EventRow[] {
  const m = message as StreamMessage;
  switch (m.kind) {
    case 'alert':
      return [alertRow(host, m.transition)];
    case 'findings':
      return m.findings.map((f) => findingRow(host, f, m.atMs));
    case 'event':
      // The per-second counts are the metrics' counters already (remote write carries them).
      return m.event === 'counts' ? [] : [recordRow(host, m.atMs, m.event, m.data)];
    case 'rollup':
      return rollupRows(host, m.rows);
    case 'sample':
    case 'listeners':
    case 'recording':
      return [];
    default:
      // A kind this build does not know yet.
      return [];
  }
}

export function droppedRow(host: string, atMs: number, count: number, perMinute: number): EventRow {
  const row = base(host, atMs, 'dropped');
  row.reason = `over the per-host bound of ${perMinute} rows per minute`;
  row.count = count;
  row.threshold = perMinute;
  return row;
}
