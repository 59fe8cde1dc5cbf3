/**
 * `tcpdiag guard` (per-source verdicts from the host's own TCP state) and `tcpdiag guard plan`
 * (an nft plan from them, for approval). Wiring only: the session observes, the pure layers
 * judge and propose, the plan file is written for `tcpdiag plan`.
 */
import type { Command } from 'commander';
import { action, out, printJson, warnIssues } from '../run.js';
import { loadConfig } from '../context.js';
import { stopOnSignal } from '../lifetime.js';
import { collect, duration, parsePort } from '../options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import type { TcpdiagConfig } from '../../config/schema.js';
import type { GuardReport } from '../../model/guard.js';
import { netnsLabel } from '../../platform/netns.js';

interface GuardFlags extends NetnsFlags {
  duration?: number;
  port?: number[];
  json?: boolean;
}

interface GuardPlanFlags extends GuardFlags {
  output: string;
  dryRun?: boolean;
  banTimeout?: number;
  expires?: number;
  author?: string;
  data?: string;
}

const JSON_HELP = `
JSON: { "window": {startMs, endMs, durationMs, snapshots}, "sources": [ { "address", "family",
"verdict": "normal"|"suspicious"|"attacking", "reasons": [...], "metrics": { synPerS, connections,
newConnections, completed, halfOpenOnly, completionRatio, halfOpenMax, concurrentMax,
perListenerMax, busiestListener, lifetimeMsMedian, bytesPerConnection, idleMsMedian,
idleConnections }, "listeners", "allowlisted" } ], "flood": null | { "kind": "spoofed"|"real",
reasons, sources, seenOnceShare, halfOpenMax, completionRatio, synPerS, syncookiesSent,
reqQueueFullDrops, listenOverflows, listeners }, "issues" }`;

async function observe(flags: GuardFlags, config: TcpdiagConfig): Promise<GuardReport> {
  const { runGuard } = await import('../../sessions/guard/guard-session.js');
  const { parseCidr } = await import('../../model/address.js');
  const g = config.guard;
  const netns = netnsFromFlags(flags);
  if (netns !== undefined) process.stderr.write(`tcpdiag: network namespace ${netnsLabel(netns)}\n`);
  const stop = stopOnSignal();
  try {
    const report = await runGuard({
      durationMs: flags.duration ?? g.duration_s * 1000,
      pollMs: g.poll_interval_ms,
      ports: flags.port ?? [],
      thresholds: g,
      allowlist: g.allowlist.map((c) => parseCidr(c)),
      idleMs: g.idle_s * 1000,
      idleMaxBytes: g.idle_max_bytes,
      choice: netns === undefined ? {} : { netns },
      signal: stop.signal,
      note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
    });
    warnIssues(report.issues);
    return report;
  } finally {
    stop.release();
  }
}

function formatReport(report: GuardReport, all: boolean): string {
  const lines: string[] = [];
  const shown = all ? report.sources : report.sources.filter((s) => s.verdict !== 'normal');
  lines.push(`${report.sources.length} sources in ${Math.round(report.window.durationMs / 100) / 10} s (${report.window.snapshots} socket tables): ` +
    `${report.sources.filter((s) => s.verdict === 'attacking').length} attacking, ${report.sources.filter((s) => s.verdict === 'suspicious').length} suspicious`);
  if (report.flood !== null) {
    lines.push(`SYN flood: ${report.flood.kind.toUpperCase()}`);
    for (const r of report.flood.reasons) lines.push(`  ${r}`);
  }
  if (shown.length > 0) lines.push('', 'VERDICT     SOURCE                                   CONNS  HALF-OPEN  IDLE  NEW/S  DONE%   BYTES/CONN');
  for (const s of shown.slice(0, all ? shown.length : 50)) {
    const m = s.metrics;
    lines.push(`${s.verdict.padEnd(11)} ${s.address.padEnd(40)} ${String(m.concurrentMax).padStart(5)}  ${String(m.halfOpenMax).padStart(9)}  ${String(m.idleConnections).padStart(4)}  ${String(m.synPerS).padStart(5)}  ${(m.completionRatio === null ? '-' : String(Math.round(m.completionRatio * 100))).padStart(5)}  ${String(m.bytesPerConnection ?? '-').padStart(10)}`);
    for (const r of s.reasons) lines.push(`            ${r}`);
  }
  if (!all && shown.length === 0) lines.push('every source looks normal (--all lists them)');
  return lines.join('\n') + '\n';
}

const GUARD_HELP = `
Reads the socket table (request sockets included, with tcp_info) every guard.poll_interval_ms
for the window and the kernel's TCP counters at both ends, then judges each source address:
attacking (a slow-connection attack holding idle connections, a SYN flood of half-open ones),
suspicious (half way there), or normal. Busy sources that complete their handshakes and move
data (NAT gateways, CDNs, proxies) are not attackers for their volume; guard.allowlist wins over
every sign. A flood is spoofed when many sources are each seen once and none ever completes a
handshake (bans cannot help: SYN cookies can), else real. Nothing is changed: "guard plan"
writes a plan that a second person approves before "tcpdiag plan apply".

Examples:
  tcpdiag guard --duration 30s                  judge every source for 30 s
  tcpdiag guard --port 443 --json               one service, for scripts
  tcpdiag guard -N web1                         inside network namespace web1
  tcpdiag guard plan -o /tmp/guard.json          a plan to ban and limit what it found
${JSON_HELP}`;

export function registerGuard(program: Command): void {
  // "tcpdiag guard [flags]" runs the default subcommand, "run": guard and guard plan share
  // flag names, and commander gives a parent's flags every matching argument after the
  // subcommand too (the program's options are not positional: --config goes anywhere).
  const guard = program
    .command('guard')
    .description('tell attackers from normal clients by their TCP state: SYN rate, completed handshakes, half-open and idle connections per source; spoofed vs real floods')
    .addHelpText('after', `
"tcpdiag guard [options]" is "tcpdiag guard run [options]": see tcpdiag guard run --help.
${GUARD_HELP}`);
  const run = guard
    .command('run', { isDefault: true })
    .description('observe for a window and judge each source (the default: tcpdiag guard [options])')
    .option('--duration <time>', 'length of the window (default guard.duration_s, 10 s)', duration())
    .option('--port <port>', 'only connections to this listening port (repeatable; default every listener)', collect(parsePort));
  addNetnsOption(run, 'sockets and counters');
  run
    .option('--all', 'list normal sources too')
    .option('--json', 'print the report as one JSON object')
    .addHelpText('after', GUARD_HELP)
    .action(
      action(async (flags: GuardFlags & { all?: boolean }, command: Command) => {
        const config = loadConfig(command, { sections: ['guard'] });
        const report = await observe(flags, config);
        if (flags.json) printJson(report);
        else out(formatReport(report, flags.all === true));
      }),
    );

  const plan = guard
    .command('plan')
    .description('observe, then write an nft plan (tcpdiag\'s own table: timed bans, per-source limits; SYN cookies for a spoofed flood) for a second person to approve')
    .requiredOption('-o, --output <file>', 'write the plan here')
    .option('--duration <time>', 'length of the window (default guard.duration_s, 10 s)', duration())
    .option('--port <port>', 'only connections to this listening port (repeatable)', collect(parsePort));
  addNetnsOption(plan, 'sockets, counters, nft ruleset and sysctls');
  plan
    .option('--dry-run', 'the rules count what they would drop (counters) and drop nothing')
    .option('--ban-timeout <time>', 'how long each ban lasts before it expires by itself (default guard.ban_timeout_s, 10 min)', duration({ minMs: 1000, maxMs: 365 * 86_400_000 }))
    .option('--expires <time>', 'the plan is refused after this long (default guard.plan_expiry_s, 1 h)', duration({ minMs: 1000, maxMs: 30 * 86_400_000 }))
    .option('--author <name>', 'who wrote the plan (default $SUDO_USER or $USER)')
    .option('--data <dir>', 'where plans record their audit log (default guard.data_dir)')
    .option('--json', 'print the plan as JSON too')
    .addHelpText(
      'after',
      `
The plan names its author, creation time, expiry and content hash, the exact nft ruleset it
loads into table inet tcpdiag_guard (sets with timeouts so bans expire by themselves; per-source
connection-count and SYN-rate limits through dynamic sets; every rule commented with its
evidence), the sysctls it changes and what apply saves to undo it. For a spoofed flood it
proposes tcp_syncookies, tcp_max_syn_backlog and tcp_synack_retries instead of bans.
Nothing changes until a second person approves it and someone applies it:

Examples:
  tcpdiag guard plan -o /tmp/guard.json --duration 30s
  tcpdiag guard plan -o /tmp/guard.json --dry-run --ban-timeout 5m
  tcpdiag plan show /tmp/guard.json
  tcpdiag plan approve /tmp/guard.json --by alice
  sudo tcpdiag plan apply /tmp/guard.json
  sudo tcpdiag plan rollback`,
    )
    .action(
      action(async (flags: GuardPlanFlags, command: Command) => {
        const config = loadConfig(command, { sections: ['guard'] });
        const { makeGuardPlan } = await import('../../sessions/guard/make-plan.js');
        const { writePlan } = await import('../../sessions/guard/plan-file.js');
        const { appendAudit, currentUser } = await import('../../sessions/guard/audit.js');
        const { planSystem } = await import('../../sessions/guard/system.js');
        const { formatPlan } = await import('./plan.js');
        const report = await observe(flags, config);
        const netns = netnsFromFlags(flags);
        const where = netns === undefined ? null : { path: netns.path, name: netns.name };
        const system = planSystem(where);
        const sysctls: Record<string, string | null> = {};
        for (const name of ['net.ipv4.tcp_syncookies', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_synack_retries']) sysctls[name] = await system.readSysctl(name);
        const g = config.guard;
        const made = makeGuardPlan(report, {
          author: flags.author ?? currentUser(),
          nowMs: Date.now(),
          expiresInMs: flags.expires ?? g.plan_expiry_s * 1000,
          netns: where,
          dryRun: flags.dryRun === true,
          banTimeoutMs: flags.banTimeout ?? g.ban_timeout_s * 1000,
          minConnectionsPerSource: g.limit_min_connections,
          minSynPerSecondPerSource: g.limit_min_syn_per_s,
          sysctls,
        });
        writePlan(flags.output, made);
        appendAudit(flags.data ?? g.data_dir, { action: 'create', planId: made.id, planHash: made.hash, result: 'ok', detail: `guard plan written to ${flags.output} by ${made.author}: ${made.summary.join('; ')}` });
        if (flags.json) printJson(made);
        else out(formatPlan(made, Date.now()) + `\nwritten to ${flags.output}; next: tcpdiag plan approve ${flags.output} --by NAME (not ${made.author})\n`);
      }),
    );
}
