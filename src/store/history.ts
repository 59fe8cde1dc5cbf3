/**
 * The agent's embedded history: one SQLite file (better-sqlite3) in the data directory.
 *
 * - Time series at three tiers: 1 s samples as collected, 1 min and 1 h aggregates (mean, min,
 *   max, count) built from the tier below once a bucket has closed; each tier is kept as long
 *   as its retention, and the total file is kept under a size cap by dropping the oldest rows
 *   of the finest tier first.
 * - Alerts (each transition with its evidence) and findings (the diagnosis's), as JSON.
 *
 * Durability: WAL with synchronous=NORMAL. A transaction is committed once its frames are in
 * the WAL file; a process crash (kill -9, the OOM killer) loses nothing committed because the
 * WAL is replayed on the next open — only a power loss may drop the last transactions in this
 * mode (sqlite.org/pragma.html#pragma_synchronous, "WAL mode is always consistent ... durable
 * across application crashes"). test/serve-store.test.ts kills a writer with SIGKILL and counts.
 *
 * A file that is not ours is refused, never overwritten: a new file gets our application_id
 * (offset 68 of the header, sqlite.org/fileformat2.html#application_id), an existing one must
 * carry it and a schema version we know.
 */
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreRefusedError, TcpdiagError, describeSystemError } from '../errors.js';

/** 'TCPD' in ASCII: what `PRAGMA application_id` holds in a tcpdiag store. */
export const APPLICATION_ID = 0x54435044;
export const SCHEMA_VERSION = 1;

export const TIERS = { '1s': 1000, '1m': 60_000, '1h': 3_600_000 } as const;
export type Tier = keyof typeof TIERS;
export const TIER_NAMES = Object.keys(TIERS) as Tier[];

export interface RetentionOptions {
  /** How long each tier is kept. */
  readonly keepMs: Readonly<Record<Tier, number>>;
  /** The whole file (database plus WAL) is kept under this. */
  readonly maxBytes: number;
}

export interface SeriesPoint {
  readonly ts: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

export interface StoredRecord {
  readonly id: number;
  readonly ts: number;
  readonly kind: string;
  readonly data: unknown;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

const SCHEMA = `
CREATE TABLE series (tier INTEGER NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL,
  mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (tier, metric, ts)) WITHOUT ROWID;
CREATE INDEX series_age ON series (tier, ts);
CREATE TABLE alerts (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, rule TEXT NOT NULL,
  status TEXT NOT NULL, severity TEXT NOT NULL, scope TEXT, data TEXT NOT NULL);
CREATE INDEX alerts_ts ON alerts (ts);
CREATE TABLE findings (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, rule TEXT NOT NULL,
  severity TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX findings_ts ON findings (ts);
CREATE TABLE rollup (tier INTEGER PRIMARY KEY, done_until INTEGER NOT NULL);
`;

/** Refuse what is not a tcpdiag store before SQLite touches it (opening a foreign file in WAL mode would change it). */
function checkHeader(path: string): void {
  const size = statSync(path).size;
  if (size === 0) return; // SQLite treats an empty file as a new database.
  const head = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, head, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (read < 100 || head.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new StoreRefusedError(path, 'it is not an SQLite database (foreign or corrupt file)');
  }
  const appId = head.readUInt32BE(68);
  // 0: no program claimed it (a store whose creation was killed before its first commit);
  // open() then refuses it unless it holds no table at all.
  if (appId !== APPLICATION_ID && appId !== 0) {
    throw new StoreRefusedError(path, `it is an SQLite database of another program (application_id 0x${appId.toString(16).padStart(8, '0')}, tcpdiag's is 0x${APPLICATION_ID.toString(16)})`);
  }
}

export class HistoryStore {
  readonly path: string;
  private readonly db: Db;
  private readonly insertPoint: Statement;
  private readonly insertAlert: Statement;
  private readonly insertFinding: Statement;

  private constructor(path: string, db: Db) {
    this.path = path;
    this.db = db;
    this.insertPoint = db.prepare('INSERT OR REPLACE INTO series (tier, metric, ts, mean, min, max, count) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.insertAlert = db.prepare('INSERT INTO alerts (ts, rule, status, severity, scope, data) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertFinding = db.prepare('INSERT INTO findings (ts, rule, severity, data) VALUES (?, ?, ?, ?)');
  }

  /** Open (or create) the store at `path`; a foreign, corrupt or newer file is refused with StoreRefusedError. */
  static open(path: string): HistoryStore {
    const existed = existsSync(path);
    if (existed) checkHeader(path);
    else {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch (error: unknown) {
        throw new TcpdiagError('TCPDIAG_FILE_UNREADABLE', `cannot create the data directory ${dirname(path)}: ${describeSystemError(error)}`, { hint: 'run as root, or pass --data DIR (a directory you can write)', cause: error });
      }
    }
    let db: Db;
    try {
      db = new Database(path);
    } catch (error: unknown) {
      throw new StoreRefusedError(path, error instanceof Error ? error.message : String(error));
    }
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      const appId = db.pragma('application_id', { simple: true }) as number;
      const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
      if (appId === 0 && version === 0 && tables === 0) {
        // Set before the first table: lets the size cap give pages back to the file system with
        // incremental_vacuum (a step per call) instead of VACUUM, which rewrites the whole file.
        db.pragma('auto_vacuum = INCREMENTAL');
        db.pragma('journal_mode = WAL');
        db.exec('BEGIN');
        db.exec(SCHEMA);
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
        db.exec('COMMIT');
      } else if (appId !== APPLICATION_ID) {
        throw new StoreRefusedError(path, 'it is an SQLite database of another program');
      } else if (version !== SCHEMA_VERSION) {
        throw new StoreRefusedError(path, `its schema version is ${version}; this tcpdiag reads version ${SCHEMA_VERSION}`);
      } else {
        db.pragma('journal_mode = WAL');
      }
      db.pragma('synchronous = NORMAL');
      return new HistoryStore(path, db);
    } catch (error: unknown) {
      db.close();
      if (error instanceof StoreRefusedError) throw error;
      throw new StoreRefusedError(path, error instanceof Error ? error.message : String(error));
    }
  }

  /** The one connection, for the store's other tables (events.ts): one file, one WAL, one size. */
  get connection(): Db {
    return this.db;
  }

  /** One 1 s sample of every metric, in one transaction (committed, or not at all). */
  writeSample(ts: number, values: ReadonlyMap<string, number>): void {
    const second = Math.floor(ts / 1000) * 1000;
    this.db.transaction(() => {
      for (const [metric, v] of values) if (Number.isFinite(v)) this.insertPoint.run(TIERS['1s'], metric, second, v, v, v, 1);
    })();
  }

  writeAlert(ts: number, rule: string, status: string, severity: string, scope: string | null, data: unknown): void {
    this.insertAlert.run(ts, rule, status, severity, scope, JSON.stringify(data));
  }

  writeFindings(ts: number, findings: readonly { readonly id: string; readonly severity: string }[]): void {
    this.db.transaction(() => {
      for (const f of findings) this.insertFinding.run(ts, f.id, f.severity, JSON.stringify(f));
    })();
  }

  /**
   * Aggregate every closed bucket of the 1 min tier from the 1 s rows, and of the 1 h tier from
   * the 1 min rows. Idempotent: how far each tier is done is stored with the rows it wrote.
   */
  rollup(nowMs: number): void {
    const steps: [Tier, Tier][] = [['1s', '1m'], ['1m', '1h']];
    const getDone = this.db.prepare('SELECT done_until FROM rollup WHERE tier = ?');
    const setDone = this.db.prepare('INSERT OR REPLACE INTO rollup (tier, done_until) VALUES (?, ?)');
    // `%` takes integers in SQLite; a bound JS number is a REAL, which `/` would divide exactly.
    const aggregate = this.db.prepare(`INSERT OR REPLACE INTO series (tier, metric, ts, mean, min, max, count)
      SELECT @to, metric, ts - (ts % @bucket) AS bucket, sum(mean * count) / sum(count), min(min), max(max), sum(count)
      FROM series WHERE tier = @from AND ts >= @start AND ts < @end GROUP BY metric, bucket`);
    const first = this.db.prepare('SELECT min(ts) AS ts FROM series WHERE tier = ?');
    for (const [from, to] of steps) {
      const bucket = TIERS[to];
      const end = Math.floor(nowMs / bucket) * bucket;
      this.db.transaction(() => {
        const done = getDone.get(TIERS[to]) as { done_until: number } | undefined;
        const oldest = (first.get(TIERS[from]) as { ts: number | null }).ts;
        if (oldest === null) return;
        const start = Math.max(done?.done_until ?? 0, Math.floor(oldest / bucket) * bucket);
        if (start >= end) return;
        aggregate.run({ to: TIERS[to], from: TIERS[from], bucket, start, end });
        setDone.run(TIERS[to], end);
      })();
    }
  }

  /** Drop rows past each tier's age, then the oldest of the finest tier until the file fits. */
  enforceRetention(nowMs: number, retention: RetentionOptions): number {
    let removed = 0;
    const byAge = this.db.prepare('DELETE FROM series WHERE tier = ? AND ts < ?');
    for (const tier of TIER_NAMES) removed += byAge.run(TIERS[tier], nowMs - retention.keepMs[tier]).changes;
    const oldestRecord = nowMs - retention.keepMs['1h'];
    removed += this.db.prepare('DELETE FROM alerts WHERE ts < ?').run(oldestRecord).changes;
    removed += this.db.prepare('DELETE FROM findings WHERE ts < ?').run(oldestRecord).changes;
    // Over the cap: drop the oldest tenth of the finest tier that still has rows, checkpoint
    // the WAL into the file and measure again; bounded, so one call always ends.
    for (let round = 0; round < 20 && this.sizeBytes() > retention.maxBytes; round++) {
      const tier = TIER_NAMES.find((t) => (this.db.prepare('SELECT 1 FROM series WHERE tier = ? LIMIT 1').get(TIERS[t])) !== undefined);
      if (tier === undefined) break;
      const range = this.db.prepare('SELECT min(ts) AS lo, max(ts) AS hi FROM series WHERE tier = ?').get(TIERS[tier]) as { lo: number; hi: number };
      const cut = range.lo + Math.max(TIERS[tier], Math.ceil((range.hi - range.lo) / 10));
      removed += byAge.run(TIERS[tier], cut).changes;
      this.db.pragma('incremental_vacuum');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return removed;
  }

  series(metric: string, tier: Tier, fromMs: number, toMs: number, limit: number): SeriesPoint[] {
    return this.db.prepare('SELECT ts, mean, min, max, count FROM series WHERE tier = ? AND metric = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?')
      .all(TIERS[tier], metric, fromMs, toMs, limit) as SeriesPoint[];
  }

  metrics(): string[] {
    return (this.db.prepare('SELECT DISTINCT metric FROM series WHERE tier = ? ORDER BY metric').all(TIERS['1s']) as { metric: string }[]).map((r) => r.metric);
  }

  alerts(fromMs: number, limit: number): StoredRecord[] {
    return this.records('SELECT id, ts, rule AS kind, data FROM alerts WHERE ts >= ? ORDER BY ts DESC, id DESC LIMIT ?', fromMs, limit);
  }

  findings(fromMs: number, limit: number): StoredRecord[] {
    return this.records('SELECT id, ts, rule AS kind, data FROM findings WHERE ts >= ? ORDER BY ts DESC, id DESC LIMIT ?', fromMs, limit);
  }

  private records(sql: string, fromMs: number, limit: number): StoredRecord[] {
    return (this.db.prepare(sql).all(fromMs, limit) as { id: number; ts: number; kind: string; data: string }[])
      .map((r) => ({ id: r.id, ts: r.ts, kind: r.kind, data: JSON.parse(r.data) as unknown }));
  }

  /** The open database, for the stores that keep their own tables in the same file (recordings.ts). */
  get database(): Db {
    return this.db;
  }

  /** The database file and its WAL, as they take space on disk. */
  sizeBytes(): number {
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    return size(this.path) + size(`${this.path}-wal`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
