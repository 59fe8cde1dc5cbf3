/**
 * Per-minute rollups of the agent's events and socket samples, per listener, per peer (remote
 * address) and per remote port of the connections this host opened. Bounded: a minute keeps at
 * most `trackPeers` peers, `trackListeners` listeners and `trackRemotePorts` remote ports as it
 * fills (later ones are summed into "other" at once), and a closed minute
 * keeps its `topPeers` busiest peers, the rest summed into "other" — a scan from many source
 * addresses costs one row per minute, not one per address (the cardinality that sank per-IP
 * metrics in other agents).
 *
 * A minute is closed once `graceMs` past its end: events reach the agent up to a poll
 * interval after they happen, and are placed by their own time.
 */
import type { RollupBy, RollupRow } from '../../model/agent-event.js';
import { OTHER_KEY } from '../../model/agent-event.js';

const MINUTE_MS = 60_000;

interface Cell {
  opened: number;
  closed: number;
  resets: number;
  retransmits: number;
  failed: number;
  bytesSent: number | null;
  bytesReceived: number | null;
  rttSumMs: number;
  rttMaxMs: number | null;
  rttSamples: number;
}

export type RollupField = 'opened' | 'closed' | 'resets' | 'retransmits' | 'failed';

export interface RollupOptions {
  /** Peers kept per closed minute (the rest are "other"). */
  readonly topPeers: number;
  /** Hard caps while a minute fills. */
  readonly trackPeers?: number;
  readonly trackListeners?: number;
  readonly trackRemotePorts?: number;
  readonly graceMs?: number;
}

const emptyCell = (): Cell => ({ opened: 0, closed: 0, resets: 0, retransmits: 0, failed: 0, bytesSent: null, bytesReceived: null, rttSumMs: 0, rttMaxMs: null, rttSamples: 0 });

class Minute {
  readonly listener = new Map<string, Cell>();
  readonly peer = new Map<string, Cell>();
  readonly 'remote-port' = new Map<string, Cell>();
}

export class RollupAggregator {
  private readonly minutes = new Map<number, Minute>();
  private readonly trackPeers: number;
  private readonly trackListeners: number;
  private readonly trackRemotePorts: number;
  private readonly graceMs: number;

  constructor(private readonly options: RollupOptions) {
    this.trackPeers = options.trackPeers ?? 10_000;
    this.trackListeners = options.trackListeners ?? 1000;
    // 65,535 ports at most, but a scan of them must not cost a row each per minute.
    this.trackRemotePorts = options.trackRemotePorts ?? 1000;
    this.graceMs = options.graceMs ?? 2000;
  }

  add(atMs: number, by: RollupBy, key: string, field: RollupField, n = 1): void {
    this.cell(atMs, by, key)[field] += n;
  }

  addBytes(atMs: number, by: RollupBy, key: string, sent: number, received: number): void {
    const c = this.cell(atMs, by, key);
    c.bytesSent = (c.bytesSent ?? 0) + sent;
    c.bytesReceived = (c.bytesReceived ?? 0) + received;
  }

  addRtt(atMs: number, by: RollupBy, key: string, rttMs: number): void {
    const c = this.cell(atMs, by, key);
    c.rttSumMs += rttMs;
    c.rttSamples++;
    c.rttMaxMs = c.rttMaxMs === null ? rttMs : Math.max(c.rttMaxMs, rttMs);
  }

  /** The rows of the minutes still open, as they stand (kept here). */
  peek(): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const [start, minute] of [...this.minutes].sort((a, b) => a[0] - b[0])) {
      rows.push(...this.rowsOf(start, minute));
    }
    return rows;
  }

  /** The rows of every minute closed by `nowMs` (all of them with `all`), forgotten here. */
  close(nowMs: number, all = false): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const [start, minute] of [...this.minutes].sort((a, b) => a[0] - b[0])) {
      if (!all && start + MINUTE_MS + this.graceMs > nowMs) continue;
      this.minutes.delete(start);
      rows.push(...this.rowsOf(start, minute));
    }
    return rows;
  }

  private rowsOf(start: number, minute: Minute): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const [key, cell] of minute.listener) rows.push(row(start, 'listener', key, cell));
    rows.push(...this.topPeers(start, minute.peer));
    for (const [key, cell] of minute['remote-port']) rows.push(row(start, 'remote-port', key, cell));
    return rows;
  }

  private topPeers(start: number, peers: Map<string, Cell>): RollupRow[] {
    const ranked = [...peers].filter(([key]) => key !== OTHER_KEY).sort((a, b) => score(b[1]) - score(a[1]) || (a[0] < b[0] ? -1 : 1));
    const rows = ranked.slice(0, this.options.topPeers).map(([key, cell]) => row(start, 'peer', key, cell));
    const rest = ranked.slice(this.options.topPeers).map(([, cell]) => cell);
    const already = peers.get(OTHER_KEY);
    if (already !== undefined) rest.push(already);
    if (rest.length > 0) rows.push(row(start, 'peer', OTHER_KEY, rest.reduce(merge, emptyCell())));
    return rows;
  }

  private cell(atMs: number, by: RollupBy, key: string): Cell {
    const start = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
    let minute = this.minutes.get(start);
    if (minute === undefined) {
      minute = new Minute();
      this.minutes.set(start, minute);
    }
    const map = minute[by];
    let cell = map.get(key);
    if (cell === undefined) {
      const cap = by === 'listener' ? this.trackListeners : by === 'peer' ? this.trackPeers : this.trackRemotePorts;
      const k = map.size >= cap ? OTHER_KEY : key;
      cell = map.get(k);
      if (cell === undefined) {
        cell = emptyCell();
        map.set(k, cell);
      }
    }
    return cell;
  }
}

/** What ranks a peer: how much happened with it (problems and connections alike). */
function score(c: Cell): number {
  return c.opened + c.closed + c.resets + c.retransmits + c.failed;
}

function merge(a: Cell, b: Cell): Cell {
  return {
    opened: a.opened + b.opened,
    closed: a.closed + b.closed,
    resets: a.resets + b.resets,
    retransmits: a.retransmits + b.retransmits,
    failed: a.failed + b.failed,
    bytesSent: a.bytesSent === null && b.bytesSent === null ? null : (a.bytesSent ?? 0) + (b.bytesSent ?? 0),
    bytesReceived: a.bytesReceived === null && b.bytesReceived === null ? null : (a.bytesReceived ?? 0) + (b.bytesReceived ?? 0),
    rttSumMs: a.rttSumMs + b.rttSumMs,
    rttMaxMs: a.rttMaxMs === null ? b.rttMaxMs : b.rttMaxMs === null ? a.rttMaxMs : Math.max(a.rttMaxMs, b.rttMaxMs),
    rttSamples: a.rttSamples + b.rttSamples,
  };
}

function row(ts: number, by: RollupBy, key: string, c: Cell): RollupRow {
  return {
    ts, by, key,
    opened: c.opened, closed: c.closed, resets: c.resets, retransmits: c.retransmits, failed: c.failed,
    bytesSent: c.bytesSent, bytesReceived: c.bytesReceived,
    rttMeanMs: c.rttSamples === 0 ? null : Math.round((c.rttSumMs / c.rttSamples) * 1000) / 1000,
    rttMaxMs: c.rttMaxMs,
    rttSamples: c.rttSamples,
  };
}
