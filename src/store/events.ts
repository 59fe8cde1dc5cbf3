/**
 * The agent's kernel events in the history file (same SQLite connection as history.ts):
 * - `events`: the abnormal events one by one (resets, retransmissions, failed connects, state
 *   anomalies), already capped per second by the collector;
 * - `event_counts`: every counter per second (opens, closes, resets... lost), so a storm of
 *   normal connections costs a few rows a second, not one per connection;
 * - `rollups`: per-minute rows per listener and per peer (top K plus "other").
 * Tables are created when missing (an additive change: a store from before them opens as it
 * was and gains them), so the history's schema version does not move.
 *
 * Retention: by age (`keepMs`), by a row cap on `events`, and, while the file is over the
 * store's size cap once the series have been trimmed, the oldest tenth of events and rollups.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { AgentEvent, AgentEventKind, RollupBy, RollupRow, SecondCount } from '../model/agent-event.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL,
  family INTEGER NOT NULL, laddr TEXT NOT NULL, lport INTEGER NOT NULL, raddr TEXT NOT NULL, rport INTEGER NOT NULL,
  direction TEXT, state TEXT, reason TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS event_counts (ts INTEGER NOT NULL, counter TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (ts, counter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (ts INTEGER NOT NULL, by TEXT NOT NULL, key TEXT NOT NULL,
  opened INTEGER NOT NULL, closed INTEGER NOT NULL, resets INTEGER NOT NULL, retransmits INTEGER NOT NULL, failed INTEGER NOT NULL,
  bytes_sent INTEGER, bytes_received INTEGER, rtt_mean_ms REAL, rtt_max_ms REAL, rtt_samples INTEGER NOT NULL,
  PRIMARY KEY (by, ts, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollups_ts ON rollups (ts);
`;

export interface EventRetention {
  readonly keepMs: number;
  readonly maxEvents: number;
  /** The whole store's cap, and how big it is now. */
  readonly maxBytes: number;
  readonly sizeBytes: () => number;
}

export interface EventQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly kinds: readonly AgentEventKind[] | null;
  readonly limit: number;
  /** Past the limit, keep the newest (the service map) rather than the oldest. */
  readonly newestFirst?: boolean;
  /** One connection's events: its local and remote ends, each address in any of its spellings. */
  readonly connection?: { readonly local: EndpointForms; readonly remote: EndpointForms };
}

/** An endpoint with the spellings its address may be stored under (1.2.3.4 and ::ffff:1.2.3.4). */
export interface EndpointForms {
  readonly addresses: readonly string[];
  readonly port: number;
}

interface EventRow {
  id: number; ts: number; kind: AgentEventKind; family: 4 | 6; laddr: string; lport: number; raddr: string; rport: number;
  direction: string | null; state: string | null; reason: string | null; detail: string;
}

interface RollupDbRow {
  ts: number; by: RollupBy; key: string; opened: number; closed: number; resets: number; retransmits: number; failed: number;
  bytes_sent: number | null; bytes_received: number | null; rtt_mean_ms: number | null; rtt_max_ms: number | null; rtt_samples: number;
}

/** `?, ?, ?` for n bound values. */
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class EventStore {
  private readonly insertEvent: Statement;
  private readonly addCount: Statement;
  private readonly upsertRollup: Statement;

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    this.insertEvent = db.prepare('INSERT INTO events (ts, kind, family, laddr, lport, raddr, rport, direction, state, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.addCount = db.prepare('INSERT INTO event_counts (ts, counter, n) VALUES (?, ?, ?) ON CONFLICT (ts, counter) DO UPDATE SET n = n + excluded.n');
    // A minute written twice (a restart inside it) adds up; RTT keeps the later figures.
    this.upsertRollup = db.prepare(`INSERT INTO rollups (ts, by, key, opened, closed, resets, retransmits, failed, bytes_sent, bytes_received, rtt_mean_ms, rtt_max_ms, rtt_samples)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (by, ts, key) DO UPDATE SET opened = opened + excluded.opened, closed = closed + excluded.closed,
      resets = resets + excluded.resets, retransmits = retransmits + excluded.retransmits, failed = failed + excluded.failed,
      bytes_sent = coalesce(bytes_sent + excluded.bytes_sent, bytes_sent, excluded.bytes_sent),
      bytes_received = coalesce(bytes_received + excluded.bytes_received, bytes_received, excluded.bytes_received),
      rtt_mean_ms = coalesce(excluded.rtt_mean_ms, rtt_mean_ms), rtt_max_ms = max(coalesce(rtt_max_ms, 0), coalesce(excluded.rtt_max_ms, 0)),
      rtt_samples = rtt_samples + excluded.rtt_samples`);
  }

  /** One flush of the collector, in one transaction: committed, or not at all. */
  write(events: readonly AgentEvent[], counts: readonly SecondCount[], rollups: readonly RollupRow[]): void {
    if (events.length === 0 && counts.length === 0 && rollups.length === 0) return;
    this.db.transaction(() => {
      for (const e of events) {
        this.insertEvent.run(e.ts, e.kind, e.family, e.local.address, e.local.port, e.remote.address, e.remote.port, e.direction, e.state, e.reason, JSON.stringify(e.detail));
      }
      for (const c of counts) this.addCount.run(c.ts, c.counter, c.n);
      for (const r of rollups) {
        this.upsertRollup.run(r.ts, r.by, r.key, r.opened, r.closed, r.resets, r.retransmits, r.failed, r.bytesSent, r.bytesReceived, r.rttMeanMs, r.rttMaxMs, r.rttSamples);
      }
    })();
  }

  /** Abnormal events in [from, to], oldest first (newest first with `newestFirst`). */
  events(q: EventQuery): AgentEvent[] {
    const kinds = q.kinds ?? [];
    let where = kinds.length === 0 ? '' : ` AND kind IN (${placeholders(kinds.length)})`;
    const args: (string | number)[] = [q.fromMs, q.toMs, ...kinds];
    const c = q.connection;
    if (c !== undefined) {
      where += ` AND laddr IN (${placeholders(c.local.addresses.length)}) AND lport = ? AND raddr IN (${placeholders(c.remote.addresses.length)}) AND rport = ?`;
      args.push(...c.local.addresses, c.local.port, ...c.remote.addresses, c.remote.port);
    }
    const rows = this.db.prepare(`SELECT * FROM events WHERE ts >= ? AND ts <= ?${where} ORDER BY ${q.newestFirst === true ? 'ts DESC, id DESC' : 'ts, id'} LIMIT ?`).all(...args, q.limit) as EventRow[];
    return rows.map((r) => ({
      ts: r.ts, kind: r.kind, family: r.family,
      local: { address: r.laddr, port: r.lport }, remote: { address: r.raddr, port: r.rport },
      direction: r.direction, state: r.state as AgentEvent['state'], reason: r.reason,
      detail: JSON.parse(r.detail) as AgentEvent['detail'],
    }));
  }

  /** Per-second counts in [from, to]: counter -> [[ts, n], ...], and their totals. */
  counts(fromMs: number, toMs: number, counters: readonly string[] | null, limit: number): { readonly perSecond: Record<string, [number, number][]>; readonly totals: Record<string, number> } {
    const where = counters === null ? '' : ` AND counter IN (${placeholders(counters.length)})`;
    const rows = this.db.prepare(`SELECT ts, counter, n FROM event_counts WHERE ts >= ? AND ts <= ?${where} ORDER BY ts LIMIT ?`).all(fromMs, toMs, ...(counters ?? []), limit) as { ts: number; counter: string; n: number }[];
    const perSecond: Record<string, [number, number][]> = {};
    const totals: Record<string, number> = {};
    for (const r of rows) {
      (perSecond[r.counter] ??= []).push([r.ts, r.n]);
      totals[r.counter] = (totals[r.counter] ?? 0) + r.n;
    }
    return { perSecond, totals };
  }

  rollups(by: RollupBy, fromMs: number, toMs: number, key: string | null, limit: number): RollupRow[] {
    const rows = this.db.prepare(`SELECT * FROM rollups WHERE by = ? AND ts >= ? AND ts <= ?${key === null ? '' : ' AND key = ?'} ORDER BY ts, key LIMIT ?`)
      .all(by, fromMs, toMs, ...(key === null ? [] : [key]), limit) as RollupDbRow[];
    return rows.map((r) => ({
      ts: r.ts, by: r.by, key: r.key, opened: r.opened, closed: r.closed, resets: r.resets, retransmits: r.retransmits, failed: r.failed,
      bytesSent: r.bytes_sent, bytesReceived: r.bytes_received, rttMeanMs: r.rtt_mean_ms, rttMaxMs: r.rtt_samples === 0 ? null : r.rtt_max_ms, rttSamples: r.rtt_samples,
    }));
  }

  /** Age, row cap, then size: returns the rows removed. */
  enforceRetention(nowMs: number, retention: EventRetention): number {
    const cut = nowMs - retention.keepMs;
    let removed = 0;
    removed += this.db.prepare('DELETE FROM events WHERE ts < ?').run(cut).changes;
    removed += this.db.prepare('DELETE FROM event_counts WHERE ts < ?').run(cut).changes;
    removed += this.db.prepare('DELETE FROM rollups WHERE ts < ?').run(cut).changes;
    const n = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    if (n > retention.maxEvents) {
      removed += this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)').run(n - retention.maxEvents).changes;
    }
    // Bounded, so one call always ends: the oldest tenth of the span each round.
    for (let round = 0; round < 20 && retention.sizeBytes() > retention.maxBytes; round++) {
      const range = this.db.prepare('SELECT min(ts) AS lo, max(ts) AS hi FROM (SELECT ts FROM events UNION ALL SELECT ts FROM rollups UNION ALL SELECT ts FROM event_counts)').get() as { lo: number | null; hi: number | null };
      if (range.lo === null || range.hi === null) break;
      const until = range.lo + Math.max(1000, Math.ceil((range.hi - range.lo) / 10));
      for (const table of ['events', 'event_counts', 'rollups']) removed += this.db.prepare(`DELETE FROM ${table} WHERE ts < ?`).run(until).changes;
      this.db.pragma('incremental_vacuum');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return removed;
  }
}
