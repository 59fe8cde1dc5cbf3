import type { Command } from 'commander';
import { Option } from 'commander';
import { action, formatIssue, out, warnIssues } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { EXPRESSION_HELP, addFilterOptions, addSocketSourceOption, filterFromFlags } from '../filter-options.js';
import type { FilterFlags, SocketSourceFlags } from '../filter-options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import { duration } from '../options.js';
import { REFRESH_INTERVAL } from '../../model/limits.js';
import { addSsViewOptions, SS_FLAGS_HELP, statesForSsFlags } from '../ss-flags.js';
import type { SsViewFlags } from '../ss-flags.js';
import { SORT_KEYS } from '../../analysis/socket-sort.js';
import type { SortKey } from '../../analysis/socket-sort.js';
import { liveFrame, repeatUntilStopped } from '../repeat.js';

interface ConnsFlags extends FilterFlags, SocketSourceFlags, SsViewFlags, NetnsFlags {
  sort?: SortKey;
  /** Milliseconds. */
  watch?: number;
  json?: boolean;
  wide?: boolean;
}

export function registerConns(program: Command): void {
  const command = program
    .command('conns')
    .description('every TCP socket (IPv4 and IPv6): state, addresses, queues, timer, owning process and tcp_info')
    .argument('[expression...]', "ss filter expression, e.g. state established '( dport = :443 or sport = :443 )'");
  addFilterOptions(command, { states: true, remote: true, owners: true, short: 'ss' });
  addNetnsOption(command);
  addSsViewOptions(addSocketSourceOption(command), 'conns')
    .addOption(new Option('--sort <key>', 'sort by this key (numbers: largest first)').choices(SORT_KEYS))
    .option('-w, --watch <interval>', 'refresh every INTERVAL in place until Ctrl-C', duration(REFRESH_INTERVAL))
    .option('--wide', 'more tcp_info columns (rttvar, lost, mss, pmtu, bytes, delivery rate, last send/receive...)')
    .option('--json', 'print one JSON array of sockets')
    .addHelpText(
      'after',
      `
${SS_FLAGS_HELP('conns')}

Examples:
  tcpdiag conns                                  every socket, like ss -tanpi
  tcpdiag conns -tlnp                            listening sockets with their processes, as ss -tlnp
  tcpdiag conns --state close-wait --sort recvq  sockets the application never closed
  tcpdiag conns --dport 443 --addr 10.0.0.0/8    connections to port 443 in 10/8
  tcpdiag conns state established '( dport = :443 or sport = :443 )' dst 10.0.0.0/8
  tcpdiag conns exclude time-wait sport '<' :1024
  tcpdiag conns --process nginx --sort rtt --wide
  tcpdiag conns --state established --json | jq '.[] | select(.tcpInfo.totalRetrans > 0)'
  tcpdiag conns --state time-wait --watch 1
  tcpdiag conns -N web1 state established      the sockets of network namespace web1 (ip netns)

JSON fields: family, state, local {address, port}, remote, recvQ, sendQ, timer, uid, inode,
cookie, pid, process, owners, tcpInfo (rttMs, rttvarMs, retrans, totalRetrans, lost, cwnd,
ssthresh, mss, pmtu, bytesAcked, bytesReceived, deliveryRateBps, lastSendMs, lastReceiveMs,
unacked, sndWnd, ...; null when unavailable), memory, congestion.
Without root, processes of other users are not named and the command says so.
The kernel applies states, families and the expression (sock_diag bytecode, as ss does), so
a narrow filter on a huge table costs what the matching sockets cost; --pid and --process
are applied once owners are known.
${EXPRESSION_HELP}`,
    )
    .action(
      action(async (expression: string[], flags: ConnsFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const parsed = filterFromFlags(flags, expression);
        const filter = { ...parsed, ...statesForSsFlags(flags, parsed.states) };
        const netns = netnsFromFlags(flags);
        const { socketSource } = await import('../../sources/index.js');
        const { sortSockets } = await import('../../analysis/socket-sort.js');
        const { renderConns } = await import('../../sinks/socket-views.js');
        const view = { wide: flags.wide === true, extended: flags.extended === true, header: flags.header !== false };
        const source = socketSource({ ...(flags.source ? { backend: flags.source } : {}), ...(netns ? { netns } : {}) });
        const query = { withInfo: flags.info !== false, withOwners: flags.processes !== false, filter };
        const snapshot = async (signal: AbortSignal) => {
          const table = await source.collect(signal, query);
          return { ...table, sockets: flags.sort ? sortSockets(table.data, flags.sort) : table.data };
        };
        if (flags.watch === undefined) {
          const table = await snapshot(new AbortController().signal);
          warnIssues(table.issues);
          if (flags.json) printJson(table.sockets);
          else out(renderConns(table.sockets, view));
          return 0;
        }
        const every = `${flags.watch / 1000}s`;
        await repeatUntilStopped({ intervalMs: flags.watch, immediate: true }, async (signal) => {
          const table = await snapshot(signal);
          if (flags.json) return out(liveFrame(JSON.stringify(table.sockets), false));
          const header = `${new Date(table.takenAtMs).toISOString()}  ${table.sockets.length} sockets (every ${every}, Ctrl-C to stop)\n`;
          const issues = table.issues.map((i) => `warning: ${formatIssue(i)}\n`).join('');
          out(liveFrame(header + issues + renderConns(table.sockets, view), process.stdout.isTTY));
        });
        return 0;
      }),
    );
}
