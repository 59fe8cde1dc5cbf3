/**
 * `tcpdiag tune plan -o FILE`: the sysctl changes the diagnosis findings advise, as a plan for
 * a second person to approve (`tcpdiag plan`). Wiring only: the diagnosis session runs the
 * window (or a saved `diagnose --json` report is read), diagnose/guard/tune.ts picks the
 * changes, sessions/guard writes the plan.
 */
import type { Command } from 'commander';
import { action, out, printJson } from '../run.js';
import { loadConfig } from '../context.js';
import { runConfiguredDiagnosis } from '../diagnose-run.js';
import { stopOnSignal } from '../lifetime.js';
import { duration } from '../options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import type { Finding } from '../../model/finding.js';

interface TunePlanFlags extends NetnsFlags {
  output: string;
  duration?: number;
  from?: string;
  persist?: boolean;
  persistDir?: string;
  expires?: number;
  author?: string;
  data?: string;
  events: boolean;
  json?: boolean;
}

/** A saved `diagnose --json` report is at most this large. */
const REPORT_MAX_BYTES = 64 * 1024 * 1024;

export function registerTune(program: Command): void {
  const tune = program
    .command('tune')
    .description('sysctl changes drawn from the diagnosis, as plans a second person approves')
    .addHelpText('after', `
Examples:
  tcpdiag tune plan -o /tmp/tune.json --duration 30s
  tcpdiag tune plan -o /tmp/tune.json --from report.json --persist`);
  const plan = tune
    .command('plan')
    .description('diagnose for a window (or read a saved diagnose --json report), then write the sysctl changes its findings advise as a plan')
    .requiredOption('-o, --output <file>', 'write the plan here')
    .option('--duration <time>', 'length of the diagnosis window (default diagnose.duration_s, 10 s)', duration())
    .option('--from <report>', 'take the findings of a saved `tcpdiag diagnose --json` report instead of diagnosing now');
  addNetnsOption(plan, 'diagnosis and sysctls (only its net.* sysctls are planned)');
  plan
    .option('--persist', 'apply also writes the changes to a file under /etc/sysctl.d/ that the plan names (rollback removes it)')
    .option('--persist-dir <dir>', 'the directory of that file (default /etc/sysctl.d)')
    .option('--expires <time>', 'the plan is refused after this long (default guard.plan_expiry_s, 1 h)', duration({ minMs: 1000, maxMs: 30 * 86_400_000 }))
    .option('--author <name>', 'who wrote the plan (default $SUDO_USER or $USER)')
    .option('--data <dir>', 'where plans record their audit log (default guard.data_dir)')
    .option('--no-events', 'diagnose without kernel events')
    .option('--json', 'print the plan as JSON too')
    .addHelpText(
      'after',
      `
Each change carries the value in force, the new value, the finding and reason behind it, and
when not to apply it. Nothing changes until a second person approves the plan and someone
applies it (tcpdiag plan apply); rollback writes every saved value back.

Examples:
  tcpdiag tune plan -o /tmp/tune.json --duration 30s
  tcpdiag tune plan -o /tmp/tune.json --from report.json --persist
  tcpdiag tune plan -o /tmp/tune.json -N web1        a namespace's net.* sysctls only
  tcpdiag plan show /tmp/tune.json`,
    )
    .action(
      action(async (flags: TunePlanFlags, command: Command) => {
        const config = loadConfig(command, { sections: ['trace', 'thresholds', 'diagnose', 'guard'] });
        const { makeTunePlan } = await import('../../sessions/guard/make-plan.js');
        const { writePlan } = await import('../../sessions/guard/plan-file.js');
        const { appendAudit, currentUser } = await import('../../sessions/guard/audit.js');
        const { formatPlan } = await import('./plan.js');
        const { UsageError, MalformedInputError } = await import('../../errors.js');
        if (flags.persistDir !== undefined && flags.persist !== true) throw new UsageError('--persist-dir needs --persist', 'e.g. --persist --persist-dir /etc/sysctl.d');
        const netns = netnsFromFlags(flags);
        let findings: readonly Finding[];
        if (flags.from !== undefined) {
          if (flags.duration !== undefined) throw new UsageError('--from reads a saved report: --duration does not apply', 'leave out --duration, or --from to diagnose now');
          const { readBoundedFileSync } = await import('../../platform/read-file.js');
          let report: unknown;
          try {
            report = JSON.parse(readBoundedFileSync(flags.from, REPORT_MAX_BYTES, 'diagnosis report').toString('utf8'));
          } catch (error: unknown) {
            if (error instanceof SyntaxError) throw new MalformedInputError(`diagnosis report ${flags.from}`, 'not JSON', undefined, 'save one with: tcpdiag diagnose --json > report.json');
            throw error;
          }
          const list = (report as { findings?: unknown }).findings;
          if (!Array.isArray(list)) throw new MalformedInputError(`diagnosis report ${flags.from}`, 'no "findings" array', undefined, 'save one with: tcpdiag diagnose --json > report.json');
          findings = list as Finding[];
        } else {
          const stop = stopOnSignal();
          try {
            const report = await runConfiguredDiagnosis(config, { durationMs: flags.duration, scope: {}, logFiles: [], journalUnits: [], events: flags.events, netns, signal: stop.signal });
            findings = report.findings;
          } finally {
            stop.release();
          }
        }
        const made = makeTunePlan(findings, {
          author: flags.author ?? currentUser(),
          nowMs: Date.now(),
          expiresInMs: flags.expires ?? config.guard.plan_expiry_s * 1000,
          netns: netns === undefined ? null : { path: netns.path, name: netns.name },
          persistDir: flags.persist === true ? (flags.persistDir ?? '/etc/sysctl.d') : null,
        });
        writePlan(flags.output, made);
        appendAudit(flags.data ?? config.guard.data_dir, { action: 'create', planId: made.id, planHash: made.hash, result: 'ok', detail: `tune plan written to ${flags.output} by ${made.author}: ${made.summary.join('; ')}` });
        if (flags.json) printJson(made);
        else out(formatPlan(made, Date.now()) + `\nwritten to ${flags.output}; next: tcpdiag plan approve ${flags.output} --by NAME (not ${made.author})\n`);
      }),
    );
}
