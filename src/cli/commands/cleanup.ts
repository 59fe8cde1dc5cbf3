import type { Command } from 'commander';
import { action, out, printJson } from '../run.js';

interface CleanupFlags {
  dryRun?: boolean;
  json?: boolean;
}

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description('list and remove what dead tcpdiag processes left: tracefs instances, nft fault tables, NFQUEUE rules, child processes (root)')
    .option('--dry-run', 'only list them')
    .option('--json', 'print {"tracefsInstances": [...], "nftTables": [...], "queueRules": [...], "processes": [...]}')
    .addHelpText(
      'after',
      `
A tcpdiag killed with SIGKILL (or by the OOM killer) cannot run its own cleanups. Its guard
processes remove its tracefs instance and fault table within a second, its child processes
(tcpdump, bpftrace) die with it, and fault rules stop matching at their deadline by
themselves (at most 10 s after the kill when they had none). What is left after that is
named after the dead process's pid and listed here: tracefs instances tcpdiag-PID still
tracing into their buffers, nft tables inet tcpdiag_fault_PID, the iptables/ip6tables NFQUEUE
rules of fault delay and reorder (commented tcpdiag_fault_PID), processes whose environment
holds TCPDIAG_PARENT=PID. Things of running tcpdiag processes are never touched. Every
command run as root warns when it sees such a tracefs instance.

Examples:
  sudo tcpdiag cleanup --dry-run       what would be removed
  sudo tcpdiag cleanup                 remove it
  sudo tcpdiag cleanup --json

JSON: { "tracefsInstances": [{name, path, pid}], "nftTables": [{family, name, pid, active}],
"queueRules": [{tool, table, pid, queue}], "processes": [{pid, ownerPid, command}] }, where pid/ownerPid is the dead tcpdiag process and
"active" says whether the table's rules still match packets; without --dry-run each entry
also has "removed" (and "error" when it could not be removed). Exit code 1 when something
could not be removed.`,
    )
    .action(
      action(async (flags: CleanupFlags) => {
        const { requireCleanupPrivileges } = await import('../../platform/privileges.js');
        requireCleanupPrivileges();
        const { findLeftovers, removeLeftovers } = await import('../../sessions/leftovers.js');
        const found = await findLeftovers();
        if (flags.dryRun === true) {
          if (flags.json) printJson(found);
          else out(describe(found, 'would remove'));
          return 0;
        }
        const report = await removeLeftovers(found);
        if (flags.json) printJson(report);
        else out(describe(report, 'removed'));
        const failed = [...report.tracefsInstances, ...report.nftTables, ...report.queueRules, ...report.processes].some((entry) => !entry.removed);
        return failed ? 1 : 0;
      }, { checkLeftovers: false }),
    );
}

interface Listed {
  readonly tracefsInstances: ReadonlyArray<{ name: string; pid: number; removed?: boolean; error?: string }>;
  readonly nftTables: ReadonlyArray<{ family: string; name: string; pid: number; active: boolean; removed?: boolean; error?: string }>;
  readonly queueRules: ReadonlyArray<{ tool: string; table: string; pid: number; queue: number; removed?: boolean; error?: string }>;
  readonly processes: ReadonlyArray<{ pid: number; ownerPid: number; command: string; removed?: boolean; error?: string }>;
}

function describe(listed: Listed, verb: string): string {
  const lines: string[] = [];
  const outcome = (entry: { removed?: boolean; error?: string }): string =>
    entry.removed === undefined ? verb : entry.removed ? verb : `NOT removed: ${entry.error ?? 'unknown error'}`;
  for (const i of listed.tracefsInstances) lines.push(`tracefs instance ${i.name} (tcpdiag pid ${i.pid} gone): ${outcome(i)}`);
  for (const t of listed.nftTables) {
    const state = t.active ? 'its rules still match' : 'inert: its lease ran out';
    lines.push(`nft table ${t.family} ${t.name} (tcpdiag pid ${t.pid} gone, ${state}): ${outcome(t)}`);
  }
  for (const r of listed.queueRules) lines.push(`${r.tool} NFQUEUE ${r.queue} rule of ${r.table} (tcpdiag pid ${r.pid} gone, inert): ${outcome(r)}`);
  for (const p of listed.processes) lines.push(`process ${p.pid} (started by tcpdiag pid ${p.ownerPid}, gone): ${p.command}: ${outcome(p)}`);
  if (lines.length === 0) return 'nothing left behind by dead tcpdiag processes\n';
  return lines.join('\n') + '\n';
}
