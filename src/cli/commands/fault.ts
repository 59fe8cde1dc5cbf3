import type { Command } from 'commander';
import { action, out, warn } from '../run.js';
import { loadConfig, printJson, printJsonLine } from '../context.js';
import { decimal, duration, integer, parsePort } from '../options.js';
import { HOLD_MS, JITTER_MS, PERCENT } from '../../model/limits.js';
import { formatDurationMs } from '../../model/units.js';
import { commandScope, stopOnSignal } from '../lifetime.js';

interface InjectFlags {
  port: number;
  percent?: number;
  duration?: number;
  json?: boolean;
}

const DESCRIPTIONS = {
  loss: 'drop a share of the TCP packets to and from a port (nft on the INPUT hook, so the sender retransmits)',
  'synack-drop': 'drop SYN-ACKs sent from a port: clients stay in SYN_SENT, the server in SYN_RECV',
} as const;

function registerInject(fault: Command, kind: 'loss' | 'synack-drop'): void {
  fault
    .command(kind)
    .description(DESCRIPTIONS[kind])
    .requiredOption('--port <port>', 'TCP port', parsePort)
    .option('--percent <n>', `share of matching packets to drop (${kind === 'loss' ? 'required' : 'default 100'})`, integer(PERCENT))
    .option('--duration <time>', 'remove the rule after this long (default: when stopped with Ctrl-C)', duration())
    .option('--json', 'print {"type":"installed",...} when the rule is in place and {"type":"removed",...} at the end, one per line')
    .addHelpText(
      'after',
      kind === 'loss'
        ? `
Drops about --percent of the TCP packets to and from the port as they arrive (INPUT hook),
so senders time out and retransmit as on a lossy link; the retransmission counters move.

Examples:
  sudo tcpdiag fault loss --port 8080 --percent 5 --duration 60s
  sudo tcpdiag fault loss --port 5432 --percent 20          until Ctrl-C`
        : `
Drops SYN-ACKs sent from the port: clients see their connect time out (SYN unanswered), the
server retransmits SYN-ACKs from SYN_RECV. --percent below 100 makes some connects slow
(SYN retransmitted after 1 s, 3 s...) instead of failing.

Examples:
  sudo tcpdiag fault synack-drop --port 443 --duration 30s
  sudo tcpdiag fault synack-drop --port 8080 --percent 50 --duration 2m`,
    )
    .action(
      action(async (flags: InjectFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { runFault } = await import('../../assist/fault/fault.js');
        const { UsageError } = await import('../../errors.js');
        if (kind === 'loss' && flags.percent === undefined) throw new UsageError('fault loss needs --percent N (1-100)', 'e.g. tcpdiag fault loss --port 8080 --percent 5 --duration 60s');
        const controller = stopOnSignal();
        try {
          const result = await runFault(
            { kind, port: flags.port, percent: flags.percent ?? 100, durationMs: flags.duration ?? null, signal: controller.signal, scope: commandScope(), onWarning: warn },
            (installed) => {
              if (flags.json) {
                printJsonLine({ type: 'installed', kind, port: flags.port, percent: flags.percent ?? 100, table: `${installed.family} ${installed.table}`, rules: installed.rules, durationMs: flags.duration ?? null });
                return;
              }
              const until = flags.duration === undefined ? 'until Ctrl-C' : `for ${formatDurationMs(flags.duration)} (Ctrl-C ends it sooner)`;
              out(`installed ${kind} ${flags.percent ?? 100}% on tcp port ${flags.port} in nft table ${installed.family} ${installed.table} ${until}\n`);
              for (const rule of installed.rules) out(`  ${rule}\n`);
            },
          );
          if (flags.json) printJsonLine({ type: 'removed', ...result });
          else out(`removed nft table inet ${result.table} after ${(result.ranMs / 1000).toFixed(1)} s (${result.endedBy}): ${packetsLine(result.droppedPackets, result.markedPackets ?? 0)}\n`);
        } finally {
          controller.release();
        }
      }),
    );
}

interface HoldFlags {
  port: number;
  ms: number;
  jitter?: number;
  percent?: number;
  duration?: number;
  json?: boolean;
}

const HOLD_HELP = {
  delay: `
Holds every TCP packet sent to the port for --ms milliseconds (plus or minus up to --jitter,
uniformly; jitter reorders packets, as netem's does) before it leaves this host. On loopback
that is one direction of each connection, so both ends see their RTT grow by --ms: tcp_info's
rtt (tcpdiag conns, ss -ti) and any request/response time show it. netem is not needed: the
packets go through NFQUEUE (an nft table marks them while its lease lives, an iptables rule
queues the marked ones) to a thread of tcpdiag's native addon that holds each one and lets it
go on time (it reports how late it was). At the end, on Ctrl-C, SIGTERM or an error the rules
go and every held packet is let through; after a kill -9 guards remove the rules, the lease
expires, and the kernel drops what was still held.

Examples:
  sudo tcpdiag fault delay --port 8080 --ms 100 --duration 60s
  sudo tcpdiag fault delay --port 5432 --ms 20 --jitter 5        until Ctrl-C`,
  reorder: `
Holds --percent of the TCP packets sent to the port for --ms milliseconds and lets the others
through at once, so they overtake the held ones: the receiver sees segments out of order
(duplicate ACKs, SACKs, TCPOFOQueue), as on a path with several routes. Same mechanism and
the same guarantees as fault delay. (Duplicating packets is not possible this way: a verdict
accepts or drops the one packet it is given.)

Examples:
  sudo tcpdiag fault reorder --port 8080 --percent 25 --ms 10 --duration 30s`,
} as const;

function registerHold(fault: Command, kind: 'delay' | 'reorder'): void {
  fault
    .command(kind)
    .description(kind === 'delay'
      ? 'hold the TCP packets sent to a port for N ms (kernel-level delay through NFQUEUE, no netem needed)'
      : 'hold a share of the TCP packets sent to a port for N ms, so the rest overtake them')
    .requiredOption('--port <port>', 'TCP port', parsePort)
    .requiredOption('--ms <n>', 'how long each held packet is held, in milliseconds', decimal(HOLD_MS))
    .option('--jitter <n>', 'delay: plus or minus up to this many milliseconds, uniform (default 0)', decimal(JITTER_MS))
    .option('--percent <n>', `reorder: share of the packets held (required)`, integer(PERCENT))
    .option('--duration <time>', 'remove the fault after this long (default: when stopped with Ctrl-C)', duration())
    .option('--json', 'print {"type":"installed",...} when it is in place and {"type":"removed",...} at the end, one per line')
    .addHelpText('after', HOLD_HELP[kind])
    .action(
      action(async (flags: HoldFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { runFault } = await import('../../assist/fault/fault.js');
        const { UsageError } = await import('../../errors.js');
        if (kind === 'reorder' && flags.percent === undefined) throw new UsageError('fault reorder needs --percent N (1-100)', 'e.g. tcpdiag fault reorder --port 8080 --percent 25 --ms 10');
        if (kind === 'reorder' && flags.jitter !== undefined) throw new UsageError('--jitter is for fault delay', 'reorder holds --percent of the packets for --ms');
        if (kind === 'delay' && flags.percent !== undefined) throw new UsageError('--percent is for fault reorder', 'fault delay holds every packet');
        const percent = flags.percent ?? 100;
        const controller = stopOnSignal();
        try {
          const result = await runFault(
            {
              kind, port: flags.port, percent, delayMs: flags.ms, jitterMs: flags.jitter ?? 0,
              durationMs: flags.duration ?? null, signal: controller.signal, scope: commandScope(), onWarning: warn,
            },
            (installed) => {
              if (flags.json) {
                printJsonLine({
                  type: 'installed', kind, port: flags.port, ms: flags.ms, jitterMs: flags.jitter ?? 0, percent, queue: installed.queue,
                  table: `${installed.family} ${installed.table}`, rules: installed.rules, queueRules: installed.queueRules, durationMs: flags.duration ?? null,
                });
                return;
              }
              const until = flags.duration === undefined ? 'until Ctrl-C' : `for ${formatDurationMs(flags.duration)} (Ctrl-C ends it sooner)`;
              const what = kind === 'delay' ? `${flags.ms} ms${flags.jitter ? ` +- ${flags.jitter} ms` : ''}` : `${percent}% of packets by ${flags.ms} ms`;
              out(`installed ${kind} ${what} on packets to tcp port ${flags.port} (NFQUEUE ${installed.queue ?? '?'}) ${until}\n`);
              for (const rule of installed.rules) out(`  nft: ${rule}\n`);
              for (const rule of installed.queueRules ?? []) out(`  ${rule}\n`);
            },
          );
          if (flags.json) printJsonLine({ type: 'removed', ...result });
          else {
            const h = result.held;
            out(`removed after ${(result.ranMs / 1000).toFixed(1)} s (${result.endedBy}): ${h?.packets ?? 0} packets held` +
              `${kind === 'reorder' ? ` (${h?.passedAtOnce ?? 0} let through at once)` : ''}, released late by ${h?.lateMeanUs ?? 0} us on average, ${h?.lateP99Us ?? 0} us p99, ${h?.lateMaxUs ?? 0} us at most\n`);
          }
        } finally {
          controller.release();
        }
      }),
    );
}

export function registerFault(program: Command): void {
  const fault = program
    .command('fault')
    .description('inject packet loss, SYN-ACK drops, delay or reordering (root); always removed at the end')
    .addHelpText(
      'after',
      `
Each run installs one nft table, inet tcpdiag_fault_<pid>, on the INPUT hook and deletes it
when the duration ends, on Ctrl-C, SIGTERM, SIGHUP or an error. After a kill -9 a guard
process deletes it at once; and its rules match only while the table's "lease" set holds its
element, which expires at the deadline (at most 10 s ahead, renewed while tcpdiag runs), so
even then the fault stops by itself. "fault list" shows tcpdiag's tables (marking stale ones
whose process is gone); "fault clear" and "tcpdiag cleanup" delete them. Other nft tables are
never touched.

Examples:
  sudo tcpdiag fault loss --port 8080 --percent 5 --duration 60s
  sudo tcpdiag fault synack-drop --port 443 --duration 30s
  sudo tcpdiag fault delay --port 8080 --ms 100 --duration 60s
  sudo tcpdiag fault list
  sudo tcpdiag fault clear --stale`,
    );
  registerInject(fault, 'loss');
  registerInject(fault, 'synack-drop');
  registerHold(fault, 'delay');
  registerHold(fault, 'reorder');
  fault
    .command('list')
    .description("tcpdiag's fault tables in the kernel, with their rules, drop counters and owner process")
    .option('--json', 'print a JSON array')
    .action(
      action(async (flags: { json?: boolean }, command: Command) => {
        loadConfig(command, { sections: [] });
        const { listFaults } = await import('../../assist/fault/fault.js');
        const tables = await listFaults();
        if (flags.json) return printJson(tables);
        if (tables.length === 0) return out('no tcpdiag fault tables installed\n');
        for (const t of tables) {
          out(`${t.family} ${t.table}: pid ${t.pid} ${t.ownerAlive ? 'running' : 'gone (stale: tcpdiag fault clear removes it)'}, ${packetsLine(t.droppedPackets, t.markedPackets)}\n`);
          for (const rule of t.rules) out(`  ${rule}\n`);
        }
      }),
    );
  fault
    .command('clear')
    .description("delete tcpdiag's fault tables (only tables named tcpdiag_fault_<pid>)")
    .option('--stale', 'only tables whose tcpdiag process is gone')
    .option('--json', 'print {"removed": [...]}')
    .action(
      action(async (flags: { stale?: boolean; json?: boolean }, command: Command) => {
        loadConfig(command, { sections: [] });
        const { clearFaults } = await import('../../assist/fault/fault.js');
        const removed = await clearFaults(flags.stale === true);
        if (flags.json) return printJson({ removed });
        out(removed.length === 0 ? 'nothing to remove\n' : removed.map((t) => `removed inet ${t}\n`).join(''));
      }),
    );
}

/** Drop rules drop; delay and reorder rules only mark packets for the queue that holds them. */
function packetsLine(dropped: number, marked: number): string {
  if (marked > 0 && dropped === 0) return `${marked} packets marked for the delay queue (none dropped)`;
  if (marked > 0) return `${dropped} packets dropped, ${marked} marked for the delay queue`;
  return `${dropped} packets dropped`;
}
