/**
 * `tcpdiag plan apply` and `tcpdiag plan rollback`: the only way a plan reaches the system.
 *
 * Apply refuses an altered, unapproved, self-approved or expired plan (plan-file.ts), and one
 * whose approval is not in the audit log (an approval typed into the file by hand). Before it
 * changes anything it saves what it replaces in DATA/applied/ID.json: tcpdiag's nft table as
 * `nft list table` prints it (or that there was none), each sysctl's value, the sysctl.d
 * file's content (or that there was none). A failed step undoes the steps before it. Applying
 * an applied plan again changes nothing it need not: it reloads the table with each ban's
 * remaining time (bans run from the first apply, so a re-apply never extends one, and re-creates
 * those still due if someone flushed the ruleset), and rewrites sysctls that drifted.
 * Rollback restores the saved state exactly and checks it; a second rollback changes nothing.
 * Plans stack: the newest applied plan is rolled back first. Every step goes to the audit log.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PlanRefusedError, TcpdiagError, UsageError } from '../../errors.js';
import type { PlanBan, PlanFile } from '../../model/guard.js';
import { appendAudit, readAudit } from './audit.js';
import type { AuditAction } from './audit.js';
import { checkApplicable } from './plan-file.js';
import { deleteGuardTable, guardRuleset } from './ruleset.js';
import type { PlanSystem } from './system.js';
import { checkSysctlName, checkSysctlValue, sameSysctlValue } from './system.js';

export interface AppliedState {
  readonly planId: string;
  readonly planHash: string;
  readonly kind: PlanFile['kind'];
  readonly netns: PlanFile['netns'];
  readonly appliedAtMs: number;
  readonly appliedBy: string;
  status: 'applied' | 'rolled-back' | 'failed';
  rolledBackAtMs?: number;
  /** tcpdiag's table before the first apply (null: there was none); undefined: the plan has no nft part. */
  readonly savedTable?: string | null;
  readonly savedSysctls: readonly { readonly name: string; readonly value: string | null }[];
  readonly savedPersist: { readonly path: string; readonly content: string | null } | null;
  /** Each ban's end (first apply + its timeout). */
  readonly bans: readonly (PlanBan & { readonly untilMs: number })[];
  readonly plan: PlanFile;
}

export interface PlanRunOptions {
  readonly dataDir: string;
  readonly system: PlanSystem;
  readonly who: string;
  readonly nowMs?: number;
}

export interface ApplyResult {
  readonly planId: string;
  readonly result: 'applied' | 'reasserted';
  readonly where: string;
  readonly steps: readonly string[];
}

export interface RollbackResult {
  readonly planId: string;
  readonly result: 'rolled-back' | 'unchanged';
  readonly where: string;
  readonly steps: readonly string[];
}

const STATE_DIR = 'applied';

function statePath(dataDir: string, id: string): string {
  if (!/^[a-z]+-[0-9TZ-]+-[0-9a-f]{6}$/.test(id)) throw new UsageError(`"${id.slice(0, 60)}" is not a plan id`, 'plan ids look like guard-20261201T180000Z-1a2b3c; tcpdiag plan rollback --list shows them');
  return join(dataDir, STATE_DIR, `${id}.json`);
}

function saveState(dataDir: string, state: AppliedState): void {
  const path = statePath(dataDir, state.planId);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

function loadState(dataDir: string, id: string): AppliedState | null {
  try {
    return JSON.parse(readFileSync(statePath(dataDir, id), 'utf8')) as AppliedState;
  } catch {
    return null;
  }
}

/** Every plan apply has saved state for, newest first. */
export function appliedPlans(dataDir: string): AppliedState[] {
  let names: string[];
  try {
    names = readdirSync(join(dataDir, STATE_DIR)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .flatMap((n) => {
      const s = loadState(dataDir, n.slice(0, -5));
      return s === null ? [] : [s];
    })
    .sort((a, b) => b.appliedAtMs - a.appliedAtMs);
}

function audit(options: PlanRunOptions, plan: { id: string; hash: string }, action: AuditAction, result: 'ok' | 'refused' | 'failed' | 'unchanged', detail: string): void {
  appendAudit(options.dataDir, { who: options.who, action, planId: plan.id, planHash: plan.hash, result, detail }, Date.now());
}

async function mustNft(system: PlanSystem, input: string, what: string): Promise<void> {
  const r = await system.nft(['-f', '-'], input);
  if (r.code !== 0) throw new TcpdiagError('TCPDIAG_NFT_FAILED', `${what}: nft -f - failed in ${system.where}: ${r.stderr.trim().split('\n')[0] ?? ''}`, { hint: 'check nftables here: nft list ruleset' });
}

function rulesetFor(state: { plan: PlanFile; bans: AppliedState['bans'] }, nowMs: number): string {
  const nft = state.plan.nft!;
  return guardRuleset({ planId: state.plan.id, dryRun: nft.dryRun, limits: nft.limits, bans: state.bans.map((b) => ({ ...b, remainingMs: b.untilMs - nowMs })) });
}

function checkPersistPath(path: string): string {
  if (!path.startsWith('/') || !/^[0-9A-Za-z._-]+\.conf$/.test(path.split('/').pop() ?? '') || path.split('/').includes('..')) {
    throw new UsageError(`plan: "${path.slice(0, 80)}" is not a sysctl.d file name`, 'persistence files look like /etc/sysctl.d/90-tcpdiag-ID.conf');
  }
  return path;
}

export async function applyPlan(plan: PlanFile, options: PlanRunOptions): Promise<ApplyResult> {
  const nowMs = options.nowMs ?? Date.now();
  try {
    checkApplicable(plan, nowMs);
    const approval = plan.approval!;
    const recorded = readAudit(options.dataDir).some((r) => r.action === 'approve' && r.result === 'ok' && r.planId === plan.id && r.planHash === plan.hash && r.by === approval.by);
    if (!recorded) throw new PlanRefusedError(`plan ${plan.id}: its approval by ${approval.by} is not in the audit log of ${options.dataDir}`, 'approve it with tcpdiag plan apply\'s data directory: tcpdiag plan approve FILE --by NAME [--data DIR]');
    for (const s of plan.sysctls) {
      checkSysctlName(s.name);
      checkSysctlValue(s.value);
    }
    if (plan.persist !== null) checkPersistPath(plan.persist.path);
  } catch (error: unknown) {
    if (error instanceof TcpdiagError) audit(options, plan, 'apply', 'refused', error.message);
    throw error;
  }
  const { system } = options;
  const existing = loadState(options.dataDir, plan.id);
  if (existing !== null && existing.status === 'applied') return reassert(existing, options, nowMs);

  const state: AppliedState = {
    planId: plan.id,
    planHash: plan.hash,
    kind: plan.kind,
    netns: plan.netns,
    appliedAtMs: nowMs,
    appliedBy: options.who,
    status: 'applied',
    ...(plan.nft === null ? {} : { savedTable: await system.guardTable() }),
    savedSysctls: await Promise.all(plan.sysctls.map(async (s) => ({ name: s.name, value: await system.readSysctl(s.name) }))),
    savedPersist: plan.persist === null ? null : { path: plan.persist.path, content: system.readFile(plan.persist.path) },
    bans: (plan.nft?.bans ?? []).map((b) => ({ ...b, untilMs: nowMs + b.timeoutMs })),
    plan,
  };
  // Saved before anything changes: a crash half-way can still be rolled back.
  saveState(options.dataDir, state);
  const steps: string[] = [];
  try {
    for (const s of plan.sysctls) {
      await system.writeSysctl(s.name, s.value);
      steps.push(`sysctl ${s.name}: ${state.savedSysctls.find((x) => x.name === s.name)?.value ?? 'absent'} -> ${s.value}`);
    }
    if (plan.nft !== null) {
      await mustNft(system, plan.nft.ruleset, `plan ${plan.id}`);
      steps.push(`nft table ${plan.nft.family} ${plan.nft.table} loaded${plan.nft.dryRun ? ' (dry run: counters only)' : ''}: ${plan.nft.bans.length} bans, ${plan.nft.limits.length} limited ports`);
    }
    if (plan.persist !== null) {
      system.writeFile(plan.persist.path, plan.persist.content);
      steps.push(`wrote ${plan.persist.path}`);
    }
  } catch (error: unknown) {
    await restore(state, system).catch(() => undefined);
    state.status = 'failed';
    saveState(options.dataDir, state);
    audit(options, plan, 'apply', 'failed', `${error instanceof Error ? error.message : String(error)}; what was changed was restored`);
    throw error;
  }
  audit(options, plan, 'apply', 'ok', `${system.where}: ${steps.join('; ')}`);
  return { planId: plan.id, result: 'applied', where: system.where, steps };
}

async function reassert(state: AppliedState, options: PlanRunOptions, nowMs: number): Promise<ApplyResult> {
  const { system } = options;
  const plan = state.plan;
  const steps: string[] = [];
  for (const s of plan.sysctls) {
    if (sameSysctlValue(await system.readSysctl(s.name), s.value)) continue;
    await system.writeSysctl(s.name, s.value);
    steps.push(`sysctl ${s.name} set again to ${s.value}`);
  }
  if (plan.nft !== null) {
    await mustNft(system, rulesetFor(state, nowMs), `plan ${plan.id}`);
    const due = state.bans.filter((b) => b.untilMs > nowMs);
    steps.push(`nft table reloaded with ${due.length} of ${state.bans.length} bans still due (${due.map((b) => `${b.address} for ${Math.ceil((b.untilMs - nowMs) / 1000)} s`).join(', ') || 'none'})`);
  }
  if (plan.persist !== null && system.readFile(plan.persist.path) !== plan.persist.content) {
    system.writeFile(plan.persist.path, plan.persist.content);
    steps.push(`wrote ${plan.persist.path} again`);
  }
  audit(options, plan, 'reassert', steps.length === 0 ? 'unchanged' : 'ok', `${system.where}: ${steps.join('; ') || 'already in force'}`);
  return { planId: plan.id, result: 'reasserted', where: system.where, steps };
}

async function restore(state: AppliedState, system: PlanSystem): Promise<string[]> {
  const steps: string[] = [];
  if (state.savedTable !== undefined) {
    await mustNft(system, deleteGuardTable() + (state.savedTable ?? ''), `rollback of ${state.planId}`);
    steps.push(state.savedTable === null ? 'nft table inet tcpdiag_guard deleted (there was none before)' : 'nft table inet tcpdiag_guard restored to what it was');
  }
  for (const s of [...state.savedSysctls].reverse()) {
    if (s.value === null) continue;
    if (!sameSysctlValue(await system.readSysctl(s.name), s.value)) await system.writeSysctl(s.name, s.value);
    steps.push(`sysctl ${s.name} = ${s.value}`);
  }
  if (state.savedPersist !== null) {
    if (state.savedPersist.content === null) system.removeFile(state.savedPersist.path);
    else system.writeFile(state.savedPersist.path, state.savedPersist.content);
    steps.push(state.savedPersist.content === null ? `removed ${state.savedPersist.path}` : `restored ${state.savedPersist.path}`);
  }
  return steps;
}

/** Roll back plan `id`, or the newest applied plan. */
export interface RollbackOptions {
  readonly dataDir: string;
  readonly who: string;
  /** The system a plan was applied to (the host, or its namespace). */
  readonly systemFor: (netns: PlanFile['netns']) => PlanSystem;
}

export async function rollbackPlan(id: string | undefined, rollbackOptions: RollbackOptions): Promise<RollbackResult> {
  const all = appliedPlans(rollbackOptions.dataDir);
  const state = id === undefined ? all.find((s) => s.status === 'applied') : loadState(rollbackOptions.dataDir, id);
  if (state === undefined || state === null) {
    throw new PlanRefusedError(id === undefined ? `no applied plan in ${rollbackOptions.dataDir}` : `plan ${id} was never applied (no saved state in ${rollbackOptions.dataDir})`, 'tcpdiag plan rollback --list shows what was applied');
  }
  const ref = { id: state.planId, hash: state.planHash };
  const options: PlanRunOptions = { dataDir: rollbackOptions.dataDir, who: rollbackOptions.who, system: rollbackOptions.systemFor(state.netns) };
  if (state.status !== 'applied') {
    audit(options, ref, 'rollback', 'unchanged', `already ${state.status}`);
    return { planId: state.planId, result: 'unchanged', where: options.system.where, steps: [`already ${state.status}`] };
  }
  const newer = all.find((s) => s.status === 'applied' && s.appliedAtMs > state.appliedAtMs && s.planId !== state.planId && s.netns?.path === state.netns?.path);
  if (newer !== undefined) {
    const error = new PlanRefusedError(`plan ${newer.planId} was applied after ${state.planId}`, `roll back the newer one first: tcpdiag plan rollback ${newer.planId}`);
    audit(options, ref, 'rollback', 'refused', error.message);
    throw error;
  }
  let steps: string[];
  try {
    steps = await restore(state, options.system);
    for (const s of state.savedSysctls) {
      if (s.value !== null && !sameSysctlValue(await options.system.readSysctl(s.name), s.value)) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', `rollback of ${state.planId}: ${s.name} did not go back to ${s.value}`);
    }
  } catch (error: unknown) {
    audit(options, ref, 'rollback', 'failed', error instanceof Error ? error.message : String(error));
    throw error;
  }
  state.status = 'rolled-back';
  state.rolledBackAtMs = Date.now();
  saveState(options.dataDir, state);
  audit(options, ref, 'rollback', 'ok', `${options.system.where}: ${steps.join('; ')}`);
  return { planId: state.planId, result: 'rolled-back', where: options.system.where, steps };
}
