/**
 * The API of change plans (agent.plans_dir): list the plan files there with their status, show
 * one (its content, author, hash, approval, status, applied state and audit log), and approve
 * one. Approving changes nothing on the system and follows the CLI's rules exactly, through the
 * same code (sessions/guard/approve.ts): someone other than the author, the content as hashed,
 * not expired; the approval is written into the file and the audit log of guard.data_dir as
 * `tcpdiag plan approve` writes it, so `tcpdiag plan apply` accepts it. It is off unless
 * agent.actions lists "approve", and, like every route, needs the token when one is set.
 * Applying stays with the CLI (DEVELOPERS.md, "Plans in the agent"). Plans are named by id,
 * never by a path from the request.
 */
import * as z from 'zod/mini';
import { TcpdiagError, UsageError } from '../errors.js';
import type { PlanAction } from '../model/guard.js';
import { approvePlanFile } from '../sessions/guard/approve.js';
import { findPlan, listPlans, planAudit, planStatus } from '../sessions/guard/plan-dir.js';
import type { PlanEntry } from '../sessions/guard/plan-dir.js';
import type { ApiContext, Query, Route } from './api.js';
import { param } from './api.js';

export interface PlanApiOptions {
  /** agent.plans_dir ("" is off). */
  readonly dir: string;
  /** guard.data_dir: the audit log and the applied state, shared with the CLI. */
  readonly dataDir: string;
  /** agent.actions (only the plan actions matter here). */
  readonly actions: readonly string[];
}

/** What the audit log says ran an approval made through the API (the CLI records the login). */
export const API_WHO = 'tcpdiag serve API';

const approveSchema = z.strictObject({
  /** Who approves: checked against the plan's author. */
  by: z.string().check(z.maxLength(1000)),
});

function options(context: ApiContext): PlanApiOptions {
  const o = context.plans;
  if (o === undefined || o.dir === '') {
    throw new TcpdiagError('TCPDIAG_NOT_FOUND', 'plans are not offered by this agent (agent.plans_dir is not set)', {
      hint: 'set [agent] plans_dir in tcp_diag.conf to the directory tcpdiag guard plan / tune plan -o write to, then restart the agent',
    });
  }
  return o;
}

function idOf(q: Query): string {
  const id = param(q, 'id', z.string().check(z.regex(/^[a-z]+-[0-9TZ-]+-[0-9a-f]{6}$/, 'expected a plan id such as tune-20261201T180000Z-1a2b3c')));
  if (id === undefined) throw new UsageError('query parameter id is missing', 'GET /api/v1/plans lists the ids');
  return id;
}

function summaryOf(e: PlanEntry): Record<string, unknown> {
  const p = e.plan;
  return {
    id: p.id, kind: p.kind, author: p.author, createdAt: p.createdAt, expiresAt: new Date(p.expiresAtMs).toISOString(),
    hash: p.hash, status: e.status, approval: p.approval, netns: p.netns, file: e.file, summary: p.summary,
  };
}

function appliedOf(e: PlanEntry): Record<string, unknown> | null {
  const s = e.applied;
  if (s === null) return null;
  return {
    status: s.status, planHash: s.planHash, appliedAt: new Date(s.appliedAtMs).toISOString(), appliedBy: s.appliedBy,
    rolledBackAt: s.rolledBackAtMs === undefined ? null : new Date(s.rolledBackAtMs).toISOString(),
  };
}

function list(context: ApiContext): unknown {
  const o = options(context);
  const listing = listPlans(o.dir, o.dataDir);
  return { dir: o.dir, approve: o.actions.includes('approve'), plans: listing.plans.map(summaryOf), unreadable: listing.unreadable, truncated: listing.truncated };
}

function show(context: ApiContext, q: Query): unknown {
  const o = options(context);
  const e = findPlan(o.dir, o.dataDir, idOf(q));
  return { ...summaryOf(e), altered: e.altered, plan: e.plan, applied: appliedOf(e), audit: planAudit(o.dataDir, e.plan.id) };
}

function approve(context: ApiContext, q: Query, body: unknown): unknown {
  const o = options(context);
  const action: PlanAction = 'approve';
  if (!o.actions.includes(action)) {
    const enabled = [...o.actions, 'approve'].map((a) => `"${a}"`).join(', ');
    throw new TcpdiagError('TCPDIAG_ACTION_DISABLED', 'approving plans through the API is off on this agent', {
      hint: `enable it in tcp_diag.conf: [agent] actions = [${enabled}], then restart the agent; or run tcpdiag plan approve FILE --by NAME`,
    });
  }
  const id = idOf(q);
  const parsed = approveSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
    throw new UsageError(`${where}: ${issue?.message ?? 'invalid'}`, 'send {"by": "NAME"}: who approves (not the plan\'s author)');
  }
  const e = findPlan(o.dir, o.dataDir, id);
  const approved = approvePlanFile(e.path, { by: parsed.data.by, who: API_WHO, dataDir: o.dataDir, field: 'by' });
  const now = planStatus(approved, e.applied, Date.now());
  return {
    planId: approved.id, approvedBy: approved.approval?.by ?? null, hash: approved.hash, status: now.status, approval: approved.approval,
    apply: `sudo tcpdiag plan apply ${e.path} --data ${o.dataDir}`,
  };
}

export const PLAN_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/plans': 'the plan files of agent.plans_dir: id, kind, author, hash, status, approval, summary',
  '/api/v1/plans/show': 'id: the plan, its status, applied state and audit log',
  '/api/v1/plans/approve': '(POST, needs agent.actions "approve") id, {by}: approve as tcpdiag plan approve --by does; applying stays tcpdiag plan apply',
};

export const PLAN_ROUTES: Readonly<Record<string, Route>> = {
  '/api/v1/plans': { method: 'GET', handler: list },
  '/api/v1/plans/show': { method: 'GET', handler: show },
  '/api/v1/plans/approve': { method: 'POST', handler: approve },
};
