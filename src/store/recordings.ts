/**
 * The agent's recordings (model/recording.ts) in the history's database: one row per capture or
 * trace, written when it starts (so a kill -9 leaves a row that the next start marks
 * interrupted) and updated when it ends; a capture's analysis is stored beside it once, as the
 * JSON `tcpdiag analyze --json` prints.
 *
 * Its table is created if missing rather than through the history's schema version: an older
 * tcpdiag opening the file ignores a table it does not know, so the change needs no migration.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Recording, RecordingKind, RecordingScope, RecordingStatus, RecordingTrigger } from '../model/recording.js';

const TABLE = `
CREATE TABLE IF NOT EXISTS recordings (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, trigger TEXT NOT NULL,
  reason TEXT NOT NULL, scope_kind TEXT NOT NULL, scope TEXT, filter TEXT NOT NULL, status TEXT NOT NULL,
  started_at INTEGER NOT NULL, stopped_at INTEGER, deadline INTEGER, stopped_by TEXT, file TEXT,
  bytes INTEGER NOT NULL DEFAULT 0, items INTEGER NOT NULL DEFAULT 0, error TEXT, details TEXT NOT NULL,
  analysis TEXT);
CREATE INDEX IF NOT EXISTS recordings_started ON recordings (started_at);
`;

export interface NewRecording {
  readonly kind: RecordingKind;
  readonly trigger: RecordingTrigger;
  readonly reason: string;
  readonly scope: RecordingScope;
  readonly filter: string;
  readonly startedAtMs: number;
  readonly deadlineMs: number | null;
  readonly file: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface RecordingEnd {
  readonly status: Exclude<RecordingStatus, 'running'>;
  readonly stoppedAtMs: number;
  readonly stoppedBy: string;
  readonly bytes: number;
  readonly items: number;
  readonly error: string | null;
  readonly file?: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface RecordingQuery {
  readonly fromMs?: number;
  readonly kind?: RecordingKind;
  readonly status?: RecordingStatus;
  readonly limit: number;
}

interface Row {
  id: number;
  kind: string;
  trigger: string;
  reason: string;
  scope_kind: string;
  scope: string | null;
  filter: string;
  status: string;
  started_at: number;
  stopped_at: number | null;
  deadline: number | null;
  stopped_by: string | null;
  file: string | null;
  bytes: number;
  items: number;
  error: string | null;
  details: string;
  analyzed: number;
}

const COLUMNS = 'id, kind, trigger, reason, scope_kind, scope, filter, status, started_at, stopped_at, deadline, stopped_by, file, bytes, items, error, details, analysis IS NOT NULL AS analyzed';

function fromRow(r: Row): Recording {
  return {
    id: r.id,
    kind: r.kind as RecordingKind,
    trigger: r.trigger as RecordingTrigger,
    reason: r.reason,
    scope: { kind: r.scope_kind as RecordingScope['kind'], value: r.scope },
    filter: r.filter,
    status: r.status as RecordingStatus,
    startedAtMs: r.started_at,
    stoppedAtMs: r.stopped_at,
    deadlineMs: r.deadline,
    stoppedBy: r.stopped_by,
    file: r.file,
    bytes: r.bytes,
    items: r.items,
    error: r.error,
    analyzed: r.analyzed === 1,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

export class RecordingStore {
  private readonly insertRow: Statement;
  private readonly getRow: Statement;

  constructor(private readonly db: Db) {
    db.exec(TABLE);
    this.insertRow = db.prepare(`INSERT INTO recordings (kind, trigger, reason, scope_kind, scope, filter, status, started_at, deadline, file, details)
      VALUES (@kind, @trigger, @reason, @scopeKind, @scope, @filter, 'running', @startedAtMs, @deadlineMs, @file, @details)`);
    this.getRow = db.prepare(`SELECT ${COLUMNS} FROM recordings WHERE id = ?`);
  }

  /** A recording that starts now; its id. */
  start(r: NewRecording): number {
    const info = this.insertRow.run({
      kind: r.kind, trigger: r.trigger, reason: r.reason, scopeKind: r.scope.kind, scope: r.scope.value, filter: r.filter,
      startedAtMs: r.startedAtMs, deadlineMs: r.deadlineMs, file: r.file, details: JSON.stringify(r.details),
    });
    return Number(info.lastInsertRowid);
  }

  end(id: number, e: RecordingEnd): void {
    const current = this.get(id);
    const details = e.details === undefined ? current?.details ?? {} : { ...current?.details, ...e.details };
    this.db.prepare(`UPDATE recordings SET status = ?, stopped_at = ?, stopped_by = ?, bytes = ?, items = ?, error = ?, details = ?${e.file === undefined ? '' : ', file = @file'} WHERE id = @id`)
      .run(e.status, e.stoppedAtMs, e.stoppedBy, e.bytes, e.items, e.error, JSON.stringify(details), { id, ...(e.file === undefined ? {} : { file: e.file }) });
  }

  /** Details learnt while it runs (the tool's pid). */
  addDetails(id: number, details: Readonly<Record<string, unknown>>): void {
    const current = this.get(id);
    if (current !== null) this.db.prepare('UPDATE recordings SET details = ? WHERE id = ?').run(JSON.stringify({ ...current.details, ...details }), id);
  }

  get(id: number): Recording | null {
    const row = this.getRow.get(id) as Row | undefined;
    return row === undefined ? null : fromRow(row);
  }

  list(q: RecordingQuery): Recording[] {
    const where: string[] = ['started_at >= @from'];
    if (q.kind !== undefined) where.push('kind = @kind');
    if (q.status !== undefined) where.push('status = @status');
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM recordings WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT @limit`)
      .all({ from: q.fromMs ?? 0, limit: q.limit, ...(q.kind === undefined ? {} : { kind: q.kind }), ...(q.status === undefined ? {} : { status: q.status }) }) as Row[];
    return rows.map(fromRow);
  }

  /** The stored analysis (JSON text), or null. */
  analysis(id: number): string | null {
    const row = this.db.prepare('SELECT analysis FROM recordings WHERE id = ?').get(id) as { analysis: string | null } | undefined;
    return row?.analysis ?? null;
  }

  setAnalysis(id: number, json: string): void {
    this.db.prepare('UPDATE recordings SET analysis = ? WHERE id = ?').run(json, id);
  }

  /** Rows a previous agent left running (it died without ending them): interrupted now. The ids. */
  markInterrupted(nowMs: number): number[] {
    const ids = (this.db.prepare("SELECT id FROM recordings WHERE status = 'running'").all() as { id: number }[]).map((r) => r.id);
    this.db.prepare("UPDATE recordings SET status = 'interrupted', stopped_at = ?, stopped_by = 'agent-died', error = 'the agent stopped without ending it (killed?); the file holds what was written before' WHERE status = 'running'").run(nowMs);
    return ids;
  }

  /** Ended recordings that still have a file, oldest first (the disk cap removes from the front). */
  withFiles(): Array<{ readonly id: number; readonly file: string; readonly bytes: number; readonly running: boolean }> {
    return (this.db.prepare("SELECT id, file, bytes, status = 'running' AS running FROM recordings WHERE file IS NOT NULL AND status != 'expired' ORDER BY started_at, id").all() as { id: number; file: string; bytes: number; running: number }[])
      .map((r) => ({ id: r.id, file: r.file, bytes: r.bytes, running: r.running === 1 }));
  }

  expire(id: number): void {
    this.db.prepare("UPDATE recordings SET status = 'expired', file = NULL WHERE id = ?").run(id);
  }
}
