/**
 * Approving a plan, the one way both `tcpdiag plan approve` and the agent's API do it: the
 * approver is named (1-100 characters on one line) and is not the plan's author, the content
 * still matches its hash, the plan has not expired; the approval names the hash and goes into
 * the plan file and the audit log, which is what `plan apply` checks. Nothing on the system
 * changes. A refusal is written to the audit log too.
 */
import { PlanRefusedError, UsageError } from '../../errors.js';
import type { PlanFile } from '../../model/guard.js';
import { appendAudit } from './audit.js';
import { alteration, approve, readPlan, writePlan } from './plan-file.js';

export interface ApproveOptions {
  /** Who approves (the name checked against the author). */
  readonly by: string;
  /** Who ran the step: a login for the CLI, the agent's API for a request. */
  readonly who: string;
  /** The audit log's directory (guard.data_dir). */
  readonly dataDir: string;
  readonly nowMs?: number;
  /** How to name the approver in a usage error ("--by", "by"). */
  readonly field?: string;
}

/** The approver's name, trimmed; a UsageError naming `field` otherwise. */
export function approverName(by: unknown, field = '--by'): string {
  const name = typeof by === 'string' ? by.trim() : '';
  if (name === '' || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new UsageError(`${field}: expected a name of 1-100 characters on one line${typeof by === 'string' ? '' : `, got ${by === undefined ? 'nothing' : typeof by}`}`, field.startsWith('--') ? `e.g. ${field} alice` : `send {"${field}": "alice"}`);
  }
  return name;
}

/** Approve the plan in `path` as it is now; returns the approved plan (also written back). */
export function approvePlanFile(path: string, options: ApproveOptions): PlanFile {
  const by = approverName(options.by, options.field);
  const { who, dataDir } = options;
  const nowMs = options.nowMs ?? Date.now();
  const p = readPlan(path);
  const refuse = (message: string, hint: string): never => {
    appendAudit(dataDir, { who, action: 'approve', planId: p.id, planHash: p.hash, result: 'refused', detail: message, by });
    throw new PlanRefusedError(message, hint);
  };
  const altered = alteration(p);
  if (altered !== null) refuse(`plan ${p.id} was altered: ${altered}`, 'make a new plan; an edited plan cannot be approved');
  if (by === p.author) refuse(`${by} wrote plan ${p.id} and cannot approve it`, 'two-person rule: someone else approves it: tcpdiag plan approve FILE --by NAME');
  if (nowMs > p.expiresAtMs) refuse(`plan ${p.id} expired at ${new Date(p.expiresAtMs).toISOString()}`, 'make a new plan from what is happening now');
  const approved = approve(p, by, who, nowMs);
  writePlan(path, approved);
  appendAudit(dataDir, { who, action: 'approve', planId: p.id, planHash: p.hash, result: 'ok', detail: `approved by ${by} (run by ${who})`, by });
  return approved;
}
