/**
 * `tcpdiag plan show|approve|apply|rollback`: the reviewed path every change takes. A plan is
 * written by `guard plan` or `tune plan`, approved by someone other than its author, applied
 * (refused when unapproved, self-approved, expired or altered), and rolled back exactly.
 * Wiring only: sessions/guard does the work and writes the audit log.
 */
import type { Command } from 'commander';
import { action, out, printJson } from '../run.js';
import { loadConfig } from '../context.js';
import type { PlanFile } from '../../model/guard.js';

interface DataFlags {
  data?: string;
  json?: boolean;
}

/** A plan for a reviewer: what, why, the exact commands, what is saved to undo them. */
export function formatPlan(plan: PlanFile, nowMs: number, altered: string | null = null): string {
  const lines: string[] = [];
  lines.push(`plan ${plan.id} (${plan.kind}) by ${plan.author}, created ${plan.createdAt}`);
  lines.push(`  expires ${new Date(plan.expiresAtMs).toISOString()}${nowMs > plan.expiresAtMs ? ' (EXPIRED)' : ''}`);
  lines.push(`  hash ${plan.hash}${altered === null ? '' : ` (ALTERED: ${altered})`}`);
  lines.push(`  approval: ${plan.approval === null ? 'none' : `${plan.approval.by} at ${plan.approval.at}${plan.approval.hash !== plan.hash ? ' (for another content: void)' : ''}${plan.approval.by === plan.author ? ' (self-approved: void)' : ''}`}`);
  lines.push(`  applies to: ${plan.netns === null ? 'this host' : `network namespace ${plan.netns.name ?? plan.netns.path}`}`);
  lines.push('', 'what and why:');
  for (const s of plan.summary) lines.push(`  - ${s}`);
  if (plan.sysctls.length > 0) {
    lines.push('', 'sysctls:');
    for (const s of plan.sysctls) {
      lines.push(`  ${s.name}: ${s.current ?? 'absent'} -> ${s.value}`);
      lines.push(`    why: ${s.reason}`);
      lines.push(`    not when: ${s.whenNot}`);
    }
  }
  if (plan.nft !== null) {
    lines.push('', `nft ruleset (${plan.nft.dryRun ? 'DRY RUN: counters only, nothing dropped' : 'enforcing'}):`);
    for (const l of plan.nft.ruleset.trimEnd().split('\n')) lines.push(`  ${l}`);
  }
  if (plan.persist !== null) {
    lines.push('', `persisted in ${plan.persist.path}:`);
    for (const l of plan.persist.content.trimEnd().split('\n')) lines.push(`  ${l}`);
  }
  lines.push('', 'commands:');
  for (const c of plan.commands) lines.push(`  ${c}`);
  if (plan.commands.length === 0) lines.push('  none');
  lines.push('', 'saved to undo:');
  for (const u of plan.undo) lines.push(`  ${u}`);
  if (plan.undo.length === 0) lines.push('  nothing to save');
  return lines.join('\n') + '\n';
}

async function context(command: Command, flags: DataFlags): Promise<{ dataDir: string; who: string }> {
  const config = loadConfig(command, { sections: ['guard'] });
  const { currentUser } = await import('../../sessions/guard/audit.js');
  return { dataDir: flags.data ?? config.guard.data_dir, who: currentUser() };
}

export function registerPlan(program: Command): void {
  const plan = program
    .command('plan')
    .description('show, approve (a second person), apply and roll back change plans; every step goes to the audit log')
    .addHelpText(
      'after',
      `
Plans come from "tcpdiag guard plan -o FILE" (nft bans and limits, SYN-cookie settings) and
"tcpdiag tune plan -o FILE" (sysctl changes from diagnosis findings). Nothing reaches the system
any other way: apply refuses a plan that is unapproved, approved by its author, expired, or
edited after it was written or approved (its content hash no longer matches). Apply saves what
it replaces; rollback restores exactly that. Each step is appended to guard.data_dir/audit.log
(who, when, what, result). Exit codes: 0 done, 3 refused, 1 failed, 2 bad usage.

Examples:
  tcpdiag plan show /tmp/guard.json
  tcpdiag plan approve /tmp/guard.json --by alice
  sudo tcpdiag plan apply /tmp/guard.json
  sudo tcpdiag plan rollback                     the newest applied plan
  sudo tcpdiag plan rollback guard-20261201T180000Z-1a2b3c
  tcpdiag plan rollback --list`,
    );
  plan
    .command('show')
    .description('print a plan for review: what and why, the exact commands and ruleset, what is saved to undo, whether it is approved, expired or altered')
    .argument('<file>', 'the plan file')
    .option('--json', 'print the plan with {"check": {altered, expired, approved}}')
    .addHelpText('after', `
Examples:
  tcpdiag plan show /tmp/guard.json
  tcpdiag plan show /tmp/tune.json --json`)
    .action(
      action(async (file: string, flags: { json?: boolean }, command: Command) => {
        loadConfig(command, { sections: [] });
        const { alteration, readPlan } = await import('../../sessions/guard/plan-file.js');
        const p = readPlan(file);
        const altered = alteration(p);
        const now = Date.now();
        if (flags.json) return printJson({ ...p, check: { altered: altered !== null, expired: now > p.expiresAtMs, approved: p.approval !== null && p.approval.hash === p.hash && p.approval.by !== p.author } });
        out(formatPlan(p, now, altered));
      }),
    );
  plan
    .command('approve')
    .description('approve a plan as it is now (its content hash), as someone other than its author')
    .argument('<file>', 'the plan file (the approval is written into it)')
    .requiredOption('--by <name>', 'who approves (must not be the plan\'s author)')
    .option('--data <dir>', 'the audit log\'s directory (default guard.data_dir)')
    .option('--json', 'print {"planId", "approvedBy", "hash"}')
    .addHelpText('after', `
Read it first (tcpdiag plan show FILE). The approval names the content hash: any later edit
voids it. The approval is recorded in the audit log; apply checks both.

Examples:
  tcpdiag plan approve /tmp/guard.json --by alice`)
    .action(
      action(async (file: string, flags: DataFlags & { by: string }, command: Command) => {
        const { dataDir, who } = await context(command, flags);
        const { approvePlanFile } = await import('../../sessions/guard/approve.js');
        const p = approvePlanFile(file, { by: flags.by, who, dataDir });
        const by = p.approval!.by;
        if (flags.json) return printJson({ planId: p.id, approvedBy: by, hash: p.hash });
        out(`plan ${p.id} approved by ${by} (hash ${p.hash}); apply it with: sudo tcpdiag plan apply ${file}\n`);
      }),
    );
  plan
    .command('apply')
    .description('apply an approved plan (root): refuses unapproved, self-approved, expired or altered plans; saves what it replaces; again re-asserts bans still due')
    .argument('<file>', 'the plan file')
    .option('--data <dir>', 'saved state and the audit log (default guard.data_dir)')
    .option('--json', 'print {"planId", "result": "applied"|"reasserted", "where", "steps"}')
    .addHelpText('after', `
Applying an applied plan again changes nothing it need not: the table is reloaded with each
ban's remaining time (bans run from the first apply), drifted sysctls are set again.

Examples:
  sudo tcpdiag plan apply /tmp/guard.json
  sudo tcpdiag plan apply /tmp/tune.json --json`)
    .action(
      action(async (file: string, flags: DataFlags, command: Command) => {
        const { dataDir, who } = await context(command, flags);
        const { readPlan } = await import('../../sessions/guard/plan-file.js');
        const { applyPlan } = await import('../../sessions/guard/apply.js');
        const { planSystem } = await import('../../sessions/guard/system.js');
        const p = readPlan(file);
        const result = await applyPlan(p, { dataDir, who, system: planSystem(p.netns) });
        if (flags.json) return printJson(result);
        out(`plan ${result.planId} ${result.result} in ${result.where}\n${result.steps.map((s) => `  ${s}\n`).join('')}undo with: sudo tcpdiag plan rollback ${result.planId}\n`);
      }),
    );
  plan
    .command('rollback')
    .description('restore exactly what an applied plan replaced (default: the newest applied plan); a second rollback changes nothing')
    .argument('[id]', 'the plan id (tcpdiag plan rollback --list)')
    .option('--list', 'list applied and rolled-back plans instead')
    .option('--data <dir>', 'saved state and the audit log (default guard.data_dir)')
    .option('--json', 'print {"planId", "result": "rolled-back"|"unchanged", "where", "steps"}')
    .addHelpText('after', `
Examples:
  sudo tcpdiag plan rollback
  sudo tcpdiag plan rollback tune-20261201T180000Z-1a2b3c
  tcpdiag plan rollback --list --json`)
    .action(
      action(async (id: string | undefined, flags: DataFlags & { list?: boolean }, command: Command) => {
        const { dataDir, who } = await context(command, flags);
        const { appliedPlans, rollbackPlan } = await import('../../sessions/guard/apply.js');
        const { planSystem } = await import('../../sessions/guard/system.js');
        if (flags.list === true) {
          const all = appliedPlans(dataDir).map((s) => ({ planId: s.planId, kind: s.kind, status: s.status, appliedAt: new Date(s.appliedAtMs).toISOString(), appliedBy: s.appliedBy, netns: s.netns }));
          if (flags.json) return printJson(all);
          out(all.length === 0 ? `no plan was applied (${dataDir})\n` : all.map((s) => `${s.planId}  ${s.status.padEnd(11)}  applied ${s.appliedAt} by ${s.appliedBy}${s.netns === null ? '' : ` in ${s.netns.name ?? s.netns.path}`}\n`).join(''));
          return;
        }
        const result = await rollbackPlan(id, { dataDir, who, systemFor: (netns) => planSystem(netns) });
        if (flags.json) return printJson(result);
        out(`plan ${result.planId} ${result.result} in ${result.where}\n${result.steps.map((s) => `  ${s}\n`).join('')}`);
      }),
    );
}
