/**
 * Plans from evidence: a guard plan from a guard report (bans, per-source limits, or for a
 * spoofed flood SYN-cookie and backlog sysctls), a tune plan from diagnosis findings (sysctl
 * changes, optionally persisted in a sysctl.d file the plan names). Each lists the exact
 * commands apply runs and what apply saves to undo them.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GUARD_TABLE, GUARD_TABLE_FAMILY, PLAN_FORMAT } from '../../model/guard.js';
import type { GuardReport, PlanBody, PlanFile, PlanKind, PlanNft, PlanSysctl } from '../../model/guard.js';
import type { Finding } from '../../model/finding.js';
import { proposeGuard } from '../../diagnose/guard/propose.js';
import { sysctlChangesFromFindings } from '../../diagnose/guard/tune.js';
import { sealPlan } from './plan-file.js';
import { guardRuleset } from './ruleset.js';

export interface PlanCommon {
  readonly author: string;
  readonly nowMs: number;
  readonly expiresInMs: number;
  readonly netns: { readonly path: string; readonly name: string | null } | null;
}

export function planId(kind: PlanKind, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${kind}-${stamp}-${randomBytes(3).toString('hex')}`;
}

function commandsFor(prefix: readonly string[], sysctls: readonly PlanSysctl[], nft: PlanNft | null, persist: PlanBody['persist']): string[] {
  const p = prefix.length === 0 ? '' : `${prefix.join(' ')} `;
  return [
    ...sysctls.map((s) => `${p}sysctl -w ${s.name}=${/\s/.test(s.value) ? `"${s.value}"` : s.value}`),
    ...(nft === null ? [] : [`${p}nft -f - <<< (nft.ruleset: table ${nft.family} ${nft.table}${nft.dryRun ? ', dry run' : ''})`]),
    ...(persist === null ? [] : [`write ${persist.path} (persist.content)`]),
  ];
}

function undoFor(sysctls: readonly PlanSysctl[], nft: PlanNft | null, persist: PlanBody['persist']): string[] {
  return [
    ...(nft === null ? [] : [`saves table ${GUARD_TABLE_FAMILY} ${GUARD_TABLE} as nft lists it (or that there is none); rollback restores it (or deletes the table)`]),
    ...sysctls.map((s) => `saves ${s.name} (now ${s.current ?? 'absent'}); rollback writes it back`),
    ...(persist === null ? [] : [`saves ${persist.path} (or that it does not exist); rollback restores it (or removes it)`]),
  ];
}

function prefixOf(netns: PlanCommon['netns']): string[] {
  return netns === null ? [] : ['nsenter', `--net=${netns.path}`, '--'];
}

function seal(kind: PlanKind, common: PlanCommon, rest: Pick<PlanBody, 'summary' | 'nft' | 'sysctls' | 'persist' | 'evidence'>, id = planId(kind, common.nowMs)): PlanFile {
  const body: PlanBody = {
    format: PLAN_FORMAT,
    id,
    kind,
    author: common.author,
    createdAt: new Date(common.nowMs).toISOString(),
    createdAtMs: common.nowMs,
    expiresAtMs: common.nowMs + common.expiresInMs,
    netns: common.netns,
    summary: rest.summary,
    nft: rest.nft,
    sysctls: rest.sysctls,
    persist: rest.persist,
    commands: commandsFor(prefixOf(common.netns), rest.sysctls, rest.nft, rest.persist),
    undo: undoFor(rest.sysctls, rest.nft, rest.persist),
    evidence: rest.evidence,
  };
  return sealPlan(body);
}

export interface GuardPlanOptions extends PlanCommon {
  readonly dryRun: boolean;
  readonly banTimeoutMs: number;
  readonly minConnectionsPerSource: number;
  readonly minSynPerSecondPerSource: number;
  readonly sysctls: Readonly<Record<string, string | null>>;
}

export function makeGuardPlan(report: GuardReport, options: GuardPlanOptions): PlanFile {
  const proposal = proposeGuard(report, options);
  const id = planId('guard', options.nowMs);
  const nft: PlanNft | null = proposal.bans.length === 0 && proposal.limits.length === 0
    ? null
    : {
        family: GUARD_TABLE_FAMILY,
        table: GUARD_TABLE,
        dryRun: options.dryRun,
        bans: proposal.bans,
        limits: proposal.limits,
        ruleset: guardRuleset({ planId: id, dryRun: options.dryRun, limits: proposal.limits, bans: proposal.bans.map((b) => ({ ...b, remainingMs: b.timeoutMs })) }),
      };
  const evidence = {
    window: report.window,
    flood: report.flood,
    sources: report.sources.filter((s) => s.verdict !== 'normal').map((s) => ({ address: s.address, verdict: s.verdict, reasons: s.reasons, metrics: s.metrics })),
    normalSources: report.sources.filter((s) => s.verdict === 'normal').length,
  };
  const summary = options.dryRun && nft !== null ? [...proposal.summary, 'dry run: the rules count what they would drop and drop nothing (nft list table inet tcpdiag_guard shows the counters)'] : proposal.summary;
  return seal('guard', options, { summary, nft, sysctls: proposal.sysctls, persist: null, evidence }, id);
}

export interface TunePlanOptions extends PlanCommon {
  /** Write the changes to DIR/90-tcpdiag-ID.conf on apply (null: runtime only). */
  readonly persistDir: string | null;
}

export function makeTunePlan(findings: readonly Finding[], options: TunePlanOptions): PlanFile {
  const all = sysctlChangesFromFindings(findings);
  // A namespace owns its net.* sysctls only; any other would change the host from inside it.
  const sysctls = options.netns === null ? all : all.filter((s) => s.name.startsWith('net.'));
  const left = all.filter((s) => !sysctls.includes(s));
  const id = planId('tune', options.nowMs);
  const persist = options.persistDir === null || sysctls.length === 0
    ? null
    : {
        path: join(options.persistDir, `90-tcpdiag-${id}.conf`),
        content: `# tcpdiag tune plan ${id} by ${options.author}, ${new Date(options.nowMs).toISOString()}\n` + sysctls.map((s) => `# ${s.reason.replace(/\n/g, ' ')}\n${s.name} = ${s.value}\n`).join(''),
      };
  const summary = [
    ...sysctls.map((s) => `${s.name}: ${s.current ?? 'absent'} -> ${s.value} (${s.finding})`),
    ...left.map((s) => `${s.name} left out: not a network namespace's own setting`),
    ...(sysctls.length === 0 ? ['no finding suggests a sysctl change: the plan changes nothing'] : []),
  ];
  const evidence = { findings: findings.filter((f) => sysctls.some((s) => s.finding === f.id)).map((f) => ({ id: f.id, severity: f.severity, title: f.title, subject: f.subject, evidence: f.evidence })) };
  return seal('tune', options, { summary, nft: null, sysctls, persist, evidence }, id);
}
