/**
 * Events out: the agent's stream messages (alerts with their evidence, findings, kernel events,
 * rollups) become rows of the fleet's event table (sinks/clickhouse/rows.ts), are gathered for
 * `flushIntervalMs`, and each flush is one JSONEachRow batch in the on-disk backlog; the shipper
 * POSTs batches as `INSERT INTO db.table FORMAT JSONEachRow` over ClickHouse's HTTP interface,
 * with the backlog, retry and drop rules of the remote-write exporter. The table is created on
 * first use (CREATE TABLE IF NOT EXISTS before the first insert, again after a failure, so a
 * ClickHouse that was reinstalled gets it back).
 *
 * Volume per host is bounded: at most `maxRowsPerMinute` rows enter the backlog per minute
 * (a token bucket refilled continuously, so a burst uses the minute's budget at once and then
 * waits); rows over it are counted, and one `dropped` row per flush says how many, so the
 * fleet view shows where a host was cut short.
 */
import type { AgentBus } from '../bus.js';
import { DiskBacklog } from '../../store/backlog.js';
import { createTableSql, droppedRow, rowsOf } from '../../sinks/clickhouse/rows.js';
import type { EventRow } from '../../sinks/clickhouse/rows.js';
import { abortableSleep } from '../../platform/abortable-sleep.js';
import { postBody } from './http-post.js';
import { Shipper, retryable } from './shipper.js';
import type { SendResult } from './shipper.js';
import type { ExporterStatus } from './remote-write.js';

export interface ClickHouseOptions {
  /** The HTTP interface: http://HOST:8123 */
  readonly url: string;
  readonly database: string;
  readonly table: string;
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly bus: AgentBus;
  readonly flushIntervalMs: number;
  readonly maxRowsPerMinute: number;
  readonly backlogDir: string;
  readonly backlogBytes: number;
  readonly maxRowsPerSend: number;
  readonly timeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly userAgent: string;
  readonly signal: AbortSignal;
  readonly note: (text: string) => void;
}

export class ClickHouseExporter {
  private readonly backlog: DiskBacklog;
  private readonly shipper: Shipper;
  private rows: EventRow[] = [];
  private tokens: number;
  private tokensAtMs = performance.now();
  private limited = 0;
  private limitedUnreported = 0;
  private tableReady = false;

  constructor(private readonly o: ClickHouseOptions) {
    this.tokens = o.maxRowsPerMinute;
    this.backlog = DiskBacklog.open(o.backlogDir, o.backlogBytes);
    this.shipper = new Shipper({
      name: 'clickhouse',
      backlog: this.backlog,
      maxItemsPerSend: o.maxRowsPerSend,
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
      signal: o.signal,
      note: o.note,
      send: (payloads, _items, signal) => this.insert(payloads, signal),
    });
  }

  /** Subscribe, flush every interval and ship until the signal aborts; what is gathered is queued on the way out. */
  async run(): Promise<void> {
    const unsubscribe = this.o.bus.subscribe((m) => this.take(rowsOf(this.o.host, m)));
    const shipping = this.shipper.run();
    try {
      while (!this.o.signal.aborted) {
        await abortableSleep(this.o.flushIntervalMs, this.o.signal);
        this.flush();
      }
    } finally {
      unsubscribe();
      this.flush();
      await shipping;
    }
  }

  /** Rows into the next batch, within the per-minute bound. */
  take(rows: readonly EventRow[]): void {
    if (rows.length === 0) return;
    const now = performance.now();
    this.tokens = Math.min(this.o.maxRowsPerMinute, this.tokens + ((now - this.tokensAtMs) / 60_000) * this.o.maxRowsPerMinute);
    this.tokensAtMs = now;
    for (const row of rows) {
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.rows.push(row);
      } else {
        this.limited++;
        this.limitedUnreported++;
      }
    }
  }

  /** The gathered rows as one batch in the backlog. */
  flush(): void {
    if (this.limitedUnreported > 0) {
      this.rows.push(droppedRow(this.o.host, Date.now(), this.limitedUnreported, this.o.maxRowsPerMinute));
      this.o.note(`clickhouse: ${this.limitedUnreported} event rows over the bound of ${this.o.maxRowsPerMinute} per minute were left out (counted in a "dropped" row)`);
      this.limitedUnreported = 0;
    }
    if (this.rows.length === 0) return;
    const text = this.rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    this.shipper.queue(Buffer.from(text), this.rows.length);
    this.rows = [];
  }

  status(): ExporterStatus {
    return { exporter: 'clickhouse', url: this.o.url, backlog: this.backlog.status(), shipper: this.shipper.status(), limited: this.limited };
  }

  private headers(): Record<string, string> {
    return { 'User-Agent': this.o.userAgent, 'X-ClickHouse-User': this.o.user, ...(this.o.password === '' ? {} : { 'X-ClickHouse-Key': this.o.password }) };
  }

  /**
   * CREATE TABLE IF NOT EXISTS. ClickHouse before 19.0 refuses LowCardinality columns unless
   * `allow_experimental_low_cardinality_type = 1` (measured on Debian's 18.16.1: "Code: 44 ...
   * LowCardinality type is not allowed"); from 19.0 the type is stable and the setting
   * obsolete, so it is sent only to servers older than that.
   */
  private async createTable(signal: AbortSignal): Promise<SendResult> {
    const base = this.o.url.replace(/\/$/, '');
    const version = await fetch(`${base}/?query=${encodeURIComponent('SELECT version()')}`, { headers: this.headers(), signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]) });
    const text = (await version.text()).trim();
    if (!version.ok) return { ok: false, retry: retryable(version.status), reason: `${base} answered ${version.status} to SELECT version(): ${text.slice(0, 200)}` };
    const major = Number(/^(\d+)\./.exec(text)?.[1] ?? 'NaN');
    const settings = Number.isFinite(major) && major < 19 ? '/?allow_experimental_low_cardinality_type=1' : '/';
    return postBody(`${base}${settings}`, Buffer.from(createTableSql(this.o.database, this.o.table)), this.headers(), this.o.timeoutMs, signal);
  }

  private async insert(payloads: readonly Buffer[], signal: AbortSignal): Promise<SendResult> {
    if (!this.tableReady) {
      const created = await this.createTable(signal);
      if (!created.ok) return created;
      this.tableReady = true;
    }
    const query = `INSERT INTO ${this.o.database}.${this.o.table} FORMAT JSONEachRow`;
    const result = await postBody(`${this.o.url.replace(/\/$/, '')}/?query=${encodeURIComponent(query)}`, Buffer.concat(payloads), this.headers(), this.o.timeoutMs, signal);
    if (result.ok) return result;
    this.tableReady = false;
    // UNKNOWN_TABLE (60) or UNKNOWN_DATABASE (81): dropped behind our back; create it again and retry.
    return /Code: (60|81)\b/.test(result.reason) ? { ...result, retry: true } : result;
  }
}
