/**
 * `tcpdiag diagnose`: watch the host for a window, then say what is wrong, why, who is behind
 * it and what to change. Wiring only: flags and configuration in, the session runs the window,
 * the report goes out as text or JSON.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { action, out, printJson } from '../run.js';
import { loadConfig } from '../context.js';
import { runConfiguredDiagnosis } from '../diagnose-run.js';
import { stopOnSignal } from '../lifetime.js';
import { collect, duration } from '../options.js';
import { EXPRESSION_HELP, addFilterOptions, filterFromFlags } from '../filter-options.js';
import type { FilterFlags } from '../filter-options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import { netnsLabel } from '../../platform/netns.js';
import { UsageError } from '../../errors.js';

interface DiagnoseFlags extends FilterFlags, NetnsFlags {
  duration?: number;
  log?: string[];
  journal?: string[];
  json?: boolean;
  failOn?: 'warning' | 'critical';
  events: boolean;
}

export function registerDiagnose(program: Command): void {
  const command = program
    .command('diagnose')
    .description('watch for a window, then report what is wrong with TCP here: findings with evidence, the process behind them and what to change')
    .argument('[expression...]', 'ss filter expression: only these connections, e.g. sport = :8080 or dst 10.0.0.0/8 (no states: every state is judged)')
    .option('--duration <time>', 'length of the window (default diagnose.duration_s, 10 s)', duration());
  // The filter flags of every command; a --pid's resources are always shown. No --state: the rules read every state.
  addFilterOptions(command, { states: false, remote: true, owners: true, short: 'none' });
  addNetnsOption(command, 'sockets, counters, sysctls and events');
  command
    .option('--log <file>', 'the service\'s log file: lines written during the window are matched to findings (repeatable)', collect(String))
    .option('--journal <unit>', 'a systemd unit whose journal lines of the window are matched to findings (repeatable)', collect(String))
    .option('--json', 'print the report as one JSON object')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe (default: exit 0 either way)').choices(['warning', 'critical']))
    .option('--no-events', 'do not trace kernel events (rules that need them are reported skipped)')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag diagnose                              watch 10 s, report everything
  tcpdiag diagnose --duration 30s --port 8080   one service, a longer window
  tcpdiag diagnose --pid 4242 --log /var/log/app/error.log
  tcpdiag diagnose --json --fail-on critical    for scripts: exit 1 on a critical finding
  tcpdiag diagnose 'dst 10.0.0.0/8'              only connections to that network
  tcpdiag diagnose -N web1                      inside network namespace web1 (ip netns)
${EXPRESSION_HELP}
Counters are deltas over the window, never totals since boot. Kernel events (refused and timed-out
connects, resets with reasons, retransmissions per peer) need root; without it the rules that
need them are listed as skipped with the command that grants them. With -N, the sockets,
counters, net.* sysctls and events are the namespace's (events through bpftrace, which tests each
socket's namespace in the kernel); processes and host resources are the host's.

JSON: { "score", "scoreLoweredBy": [{id, subject, severity, points}], "window": {start, end,
durationMs}, "findings": [{ id, severity: critical|warning|info, title, subject, explanation,
evidence, advice: [{text, command?, current?, suggested?}], logLines? }], "checked": [{ id,
status: passed|fired|skipped, value?, threshold?, measure?, reason?, hint? }], "system": {host,
processes: [{pid, process, cpuPercent, rssBytes, openFds, fdLimitSoft...}]}, "logs", "issues" }`,
    )
    .action(
      action(async (expression: string[], flags: DiagnoseFlags, cmd: Command) => {
        const scope = filterFromFlags(flags, expression);
        if (scope.states !== undefined) throw new UsageError('diagnose judges every state: leave the state out of the expression', 'tcpdiag diagnose sport = :8080');
        const config = loadConfig(cmd, { sections: ['trace', 'thresholds', 'diagnose'] });
        const netns = netnsFromFlags(flags);
        if (netns !== undefined) process.stderr.write(`tcpdiag: network namespace ${netnsLabel(netns)}\n`);
        const { formatDiagnosis } = await import('../../sinks/diagnose/report-text.js');
        const stop = stopOnSignal();
        try {
          const report = await runConfiguredDiagnosis(config, { durationMs: flags.duration, scope, logFiles: flags.log ?? [], journalUnits: flags.journal ?? [], events: flags.events, netns, signal: stop.signal });
          if (flags.json) printJson(report);
          else out(formatDiagnosis(report));
          const failing = flags.failOn === undefined ? [] : report.findings.filter((f) => f.severity === 'critical' || (flags.failOn === 'warning' && f.severity === 'warning'));
          return failing.length > 0 ? 1 : 0;
        } finally {
          stop.release();
        }
      }),
    );
}
