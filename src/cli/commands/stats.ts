import type { Command } from 'commander';
import { action, out, printJsonLine, warnIssues } from '../run.js';
import { loadConfig } from '../context.js';
import { duration, parseCount } from '../options.js';
import { REFRESH_INTERVAL } from '../../model/limits.js';
import { liveFrame, repeatUntilStopped } from '../repeat.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';

interface StatsFlags extends NetnsFlags {
  all?: boolean;
  /** Milliseconds. */
  interval?: number;
  count?: number;
  json?: boolean;
  sysctl: boolean;
}

export function registerStats(program: Command): void {
  const command = program
    .command('stats')
    .description('TCP state summary, kernel counters (snmp, netstat, sockstat) with rates, retransmission ratio and sysctls')
    .option('-i, --interval <interval>', 'print deltas and per-second rates every INTERVAL', duration(REFRESH_INTERVAL))
    .option('-c, --count <n>', 'with --interval: stop after N reports', parseCount)
    .option('--json', 'print a JSON object (one per line with --interval)')
    .option('--no-sysctl', 'leave out the sysctl table')
    .option('--all', 'every counter the kernel exports (with --interval: also those that did not move, and the sysctls)');
  addNetnsOption(command, 'counters, states and sysctls')
    .addHelpText(
      'after',
      `
Short flags follow ping(8) and tcpdump(8): -i interval, -c count.

Examples:
  tcpdiag stats                         states, counters since boot, retransmission ratio, sysctls
  tcpdiag stats --interval 1            what moved each second, with deltas and rates, like nstat (Ctrl-C stops)
  tcpdiag stats --interval 1 --all      every counter each second, moved or not
  tcpdiag stats --interval 5 --count 12 --json > minute.ndjson
  tcpdiag stats -N web1                 the counters of network namespace web1 (each has its own)

JSON: { "states": {STATE: count}, "counters": {NAME: value}, "rates": {NAME: perSecond} (with
--interval), "deltas" (with --interval), "retransRatio" (RetransSegs/OutSegs: over the interval
with --interval, else since boot), "sysctl": {name: value} }. Counter names are the kernel's
(RetransSegs, ListenOverflows, TCPSynRetrans...); sockstat values are SockstatInuse,
SockstatOrphan, SockstatTw, SockstatMem (pages). The text view with --interval shows only the
counters that moved since the previous report (as nstat does) and no sysctls; --all shows
everything. JSON always carries every counter, delta and rate.`,
    )
    .action(
      // stats reads no section, but a --config naming a missing or broken file fails here as
      // everywhere (zod/mini keeps that within the 100 ms budget: bench/conns.ts measures it).
      action(async (flags: StatsFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { counterSource, sysctlSource } = await import('../../sources/index.js');
        const { counterDelta, movedCounters, retransRatio } = await import('../../analysis/counter-rates.js');
        const { renderStats } = await import('../../sinks/socket-views.js');
        const netns = netnsFromFlags(flags);
        const choice = netns ? { netns } : {};
        const counters = counterSource(choice);
        const sysctls = sysctlSource(choice);
        const sample = async (signal: AbortSignal) => {
          const taken = await counters.collect(signal);
          const sysctl = flags.sysctl ? await sysctls.collect(signal) : { data: {}, issues: [] };
          return { ...taken.data, takenAtMs: taken.takenAtMs, issues: [...taken.issues, ...sysctl.issues], sysctl: sysctl.data };
        };
        type Sample = Awaited<ReturnType<typeof sample>>;
        let previous = await sample(new AbortController().signal);
        warnIssues(previous.issues);
        const report = (snapshot: Sample, delta: ReturnType<typeof counterDelta> | null, moved: ReadonlySet<string> | null = null): void => {
          const ratio = delta ? delta.retransRatio : retransRatio(snapshot.counters.RetransSegs, snapshot.counters.OutSegs);
          if (flags.json) {
            printJsonLine({
              timestamp: new Date(snapshot.takenAtMs).toISOString(),
              states: snapshot.states,
              counters: snapshot.counters,
              ...(delta ? { intervalMs: Math.round(delta.intervalMs * 1000) / 1000, deltas: delta.deltas, rates: delta.rates } : {}),
              retransRatio: ratio,
              ...(flags.sysctl ? { sysctl: snapshot.sysctl } : {}),
            });
            return;
          }
          const all = flags.all === true;
          const text = renderStats({
            states: snapshot.states, counters: snapshot.counters, delta, retransRatio: ratio, sysctl: snapshot.sysctl,
            // A live view repeats what it shows: sysctls (which rarely change) only with --all.
            showSysctl: flags.sysctl && (delta === null || all),
            rows: all ? 'all' : moved === null ? 'key' : 'moved',
            ...(moved === null ? {} : { moved }),
          });
          if (delta === null) return out(text);
          const stamp = `${new Date(snapshot.takenAtMs).toISOString()} (every ${(flags.interval ?? 0) / 1000}s, Ctrl-C to stop)\n`;
          out(liveFrame(stamp + text, process.stdout.isTTY));
        };
        if (flags.interval === undefined) {
          report(previous, null);
          return 0;
        }
        await repeatUntilStopped({ intervalMs: flags.interval, count: flags.count, immediate: false }, async (signal) => {
          const current = await sample(signal);
          report(current, counterDelta(previous.counters, current.counters, current.monotonicMs - previous.monotonicMs), movedCounters(previous.counters, current.counters));
          previous = current;
        });
        return 0;
      }),
    );
}
