/**
 * A directory of plan files (agent.plans_dir) as the agent's API sees it: each plan with its
 * status worked out from the file, the applied state and the clock; a plan found by its id,
 * never by a path from a request. Only regular `*.json` files directly in the directory are
 * read (a symbolic link could point the agent's writes anywhere), at most MAX_PLAN_FILES.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TcpdiagError } from '../../errors.js';
import type { PlanFile } from '../../model/guard.js';
import { appliedPlans } from './apply.js';
import type { AppliedState } from './apply.js';
import { readAudit } from './audit.js';
import type { AuditRecord } from './audit.js';
import { alteration, readPlan } from './plan-file.js';

/** Plans are written by people one at a time: a thousand files is a directory nobody prunes. */
export const MAX_PLAN_FILES = 1000;

/**
 * altered: its content no longer matches its hash; applied / rolled-back / failed: what
 * `plan apply` recorded for this content; expired: past its expiry, never applied; approved:
 * by someone other than its author, for this content; unapproved: neither.
 */
export type PlanStatus = 'altered' | 'applied' | 'rolled-back' | 'failed' | 'expired' | 'approved' | 'unapproved';

export interface PlanEntry {
  /** The file's name inside the directory. */
  readonly file: string;
  readonly path: string;
  readonly plan: PlanFile;
  readonly status: PlanStatus;
  /** Why it is altered (the hashes), or null. */
  readonly altered: string | null;
  readonly applied: AppliedState | null;
}

export interface PlanDirListing {
  readonly plans: readonly PlanEntry[];
  /** Files that are not plans, or not readable, with why. */
  readonly unreadable: readonly { readonly file: string; readonly error: string }[];
  /** More than MAX_PLAN_FILES files: the rest were not read. */
  readonly truncated: boolean;
}

export function planStatus(plan: PlanFile, applied: AppliedState | null, nowMs: number): { status: PlanStatus; altered: string | null } {
  const altered = alteration(plan);
  if (altered !== null) return { status: 'altered', altered };
  if (applied !== null && applied.planHash === plan.hash) return { status: applied.status, altered };
  if (nowMs > plan.expiresAtMs) return { status: 'expired', altered };
  const a = plan.approval;
  return { status: a !== null && a.hash === plan.hash && a.by !== plan.author ? 'approved' : 'unapproved', altered };
}

/** Every plan in `dir`, newest first; `dataDir` holds the applied state (guard.data_dir). */
export function listPlans(dir: string, dataDir: string, nowMs = Date.now()): PlanDirListing {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (error: unknown) {
    throw new TcpdiagError('TCPDIAG_FILE_UNREADABLE', `cannot list the plans directory ${dir}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'create it (mkdir -p DIR) or point [agent] plans_dir at the directory tcpdiag guard plan / tune plan -o write to',
    });
  }
  const applied = new Map(appliedPlans(dataDir).map((s) => [s.planId, s]));
  const plans: PlanEntry[] = [];
  const unreadable: { file: string; error: string }[] = [];
  for (const file of names.slice(0, MAX_PLAN_FILES)) {
    const path = join(dir, file);
    try {
      if (!lstatSync(path).isFile()) continue;
      const plan = readPlan(path);
      const state = applied.get(plan.id) ?? null;
      plans.push({ file, path, plan, ...planStatus(plan, state, nowMs), applied: state });
    } catch (error: unknown) {
      if (!(error instanceof TcpdiagError)) throw error;
      unreadable.push({ file, error: error.message });
    }
  }
  plans.sort((a, b) => b.plan.createdAtMs - a.plan.createdAtMs || (a.file < b.file ? -1 : 1));
  return { plans, unreadable, truncated: names.length > MAX_PLAN_FILES };
}

/** The plan with this id, or TCPDIAG_NOT_FOUND; two files with one id are refused (which one would an approval mean?). */
export function findPlan(dir: string, dataDir: string, id: string, nowMs = Date.now()): PlanEntry {
  const found = listPlans(dir, dataDir, nowMs).plans.filter((p) => p.plan.id === id);
  if (found.length === 0) throw new TcpdiagError('TCPDIAG_NOT_FOUND', `no plan ${id} in ${dir}`, { hint: 'GET /api/v1/plans lists the plans and their ids' });
  if (found.length > 1) {
    throw new TcpdiagError('TCPDIAG_BUSY', `plan ${id} is in ${found.length} files (${found.map((p) => p.file).join(', ')})`, { hint: 'keep one copy of a plan in the plans directory' });
  }
  return found[0]!;
}

/** The audit log's records of one plan, oldest first. */
export function planAudit(dataDir: string, id: string): AuditRecord[] {
  return readAudit(dataDir).filter((r) => r.planId === id);
}
