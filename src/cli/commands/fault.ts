import type { Command } from 'commander';
import { action, out, warn } from '../run.js';
import { loadConfig, printJson, printJsonLine } from '../context.js';
import { duration, integer, parsePort } from '../options.js';
import { PERCENT } from '../../model/limits.js';
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
          else out(`removed nft table inet ${result.table} after ${(result.ranMs / 1000).toFixed(1)} s (${result.endedBy}): ${result.droppedPackets} packets dropped\n`);
        } finally {
          controller.release();
        }
      }),
    );
}

export function registerFault(program: Command): void {
  const fault = program
    .command('fault')
    .description('inject packet loss or SYN-ACK drops with nftables (root); always removed at the end')
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
  sudo tcpdiag fault list
  sudo tcpdiag fault clear --stale`,
    );
  registerInject(fault, 'loss');
  registerInject(fault, 'synack-drop');
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
          out(`${t.family} ${t.table}: pid ${t.pid} ${t.ownerAlive ? 'running' : 'gone (stale: tcpdiag fault clear removes it)'}, ${t.droppedPackets} packets dropped\n`);
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
