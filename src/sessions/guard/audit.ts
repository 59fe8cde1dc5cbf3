/**
 * The append-only audit log of change plans: one JSON line per step (created, approved,
 * applied, re-asserted, rolled back, refused, failed) with who, when, what and the result.
 * Lines are only ever appended (O_APPEND, one write per line, so concurrent writers do not
 * interleave within a line on a local filesystem); nothing here rewrites or truncates the file.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { FileUnwritableError } from '../../errors.js';

export type AuditAction = 'create' | 'approve' | 'apply' | 'reassert' | 'rollback';
export type AuditResult = 'ok' | 'refused' | 'failed' | 'unchanged';

export interface AuditRecord {
  readonly at: string;
  readonly atMs: number;
  /** The login that ran the step ($SUDO_USER under sudo, else $USER). */
  readonly who: string;
  readonly action: AuditAction;
  readonly planId: string;
  readonly planHash: string;
  readonly result: AuditResult;
  /** What was done or why not, in a line. */
  readonly detail: string;
  /** For approvals: the name approving. */
  readonly by?: string;
}

/** The person behind this run: under sudo the user who ran sudo, not root. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  const named = [env.SUDO_USER, env.USER, env.LOGNAME].find((n) => n !== undefined && n !== '');
  if (named !== undefined) return named;
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

export function auditPath(dataDir: string): string {
  return join(dataDir, 'audit.log');
}

export function appendAudit(dataDir: string, record: Omit<AuditRecord, 'at' | 'atMs' | 'who'> & { readonly who?: string }, nowMs = Date.now()): AuditRecord {
  const full: AuditRecord = { at: new Date(nowMs).toISOString(), atMs: nowMs, who: record.who ?? currentUser(), ...record };
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    appendFileSync(auditPath(dataDir), JSON.stringify(full) + '\n', { flag: 'a', mode: 0o600 });
  } catch (error: unknown) {
    throw new FileUnwritableError(auditPath(dataDir), error);
  }
  return full;
}

/** Every record, oldest first; lines that do not parse are skipped (the log is never rewritten to drop them). */
export function readAudit(dataDir: string): AuditRecord[] {
  let text: string;
  try {
    text = readFileSync(auditPath(dataDir), 'utf8');
  } catch {
    return [];
  }
  const out: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as AuditRecord);
    } catch {
      // a torn last line from a crash: the rest still counts
    }
  }
  return out;
}
