/**
 * The short flags of `conns` and `listeners`, as ss(8) spells them, so that the habits carry
 * over: `ss -tanp` is `tcpdiag conns -tanp`, `ss -tlnp` is `tcpdiag listeners -tlnp`.
 * Filters (addresses, ports, states, processes) are not here: socket-filter-options.ts.
 */
import type { Command } from 'commander';
import type { TcpState } from '../model/tcp-state.js';

export interface SsViewFlags {
  tcp?: boolean;
  numeric?: boolean;
  /** -p / --no-processes: undefined means the default (shown). */
  processes?: boolean;
  /** -i / --no-info (conns): undefined means the default (read). */
  info?: boolean;
  extended?: boolean;
  options?: boolean;
  /** false with -H / --no-header. */
  header?: boolean;
  all?: boolean;
  listening?: boolean;
}

export function addSsViewOptions(command: Command, which: 'conns' | 'listeners'): Command {
  command
    .option('-t, --tcp', 'TCP sockets: the only kind tcpdiag lists (as ss -t)')
    .option('-n, --numeric', 'numeric addresses and ports: tcpdiag never resolves names (as ss -n)')
    .option('-p, --processes', 'show the process owning each socket (as ss -p; on by default)')
    .option('--no-processes', 'skip process attribution (faster on huge tables)');
  if (which === 'conns') {
    command
      .option('-i, --info', 'show tcp_info: RTT, retransmissions, cwnd (as ss -i; on by default)')
      .option('--no-info', 'skip tcp_info')
      .option('-o, --options', 'show timers (as ss -o; the TIMER column is always shown)');
  }
  command
    .option('-e, --extended', which === 'conns' ? 'show uid, inode and socket cookie (as ss -e)' : 'show the inode of each listener (as ss -e)')
    .option('-H, --no-header', 'no header line (as ss -H)');
  if (which === 'conns') {
    command
      .option('-a, --all', 'sockets in every state (the default here; plain ss leaves out LISTEN, SYN-RECV and TIME-WAIT)')
      .option('-l, --listening', 'only listening sockets (as ss -l; with -a, every state)');
  } else {
    command.option('-l, --listening', 'listening sockets: what this command lists anyway (as ss -l)');
  }
  return command;
}

/** For conns: the states -l and -a select, merged with --state. Empty when nothing narrows. */
export function statesForSsFlags(flags: SsViewFlags, states: readonly TcpState[] | undefined): { states?: TcpState[] } {
  if (flags.listening !== true || flags.all === true) return states === undefined ? {} : { states: [...new Set(states)] };
  return { states: [...new Set<TcpState>([...(states ?? []), 'LISTEN'])] };
}

export const SS_FLAGS_HELP = (which: 'conns' | 'listeners'): string =>
  which === 'conns'
    ? `Short flags follow ss(8): -t -4 -6 -n -p -i -e -o -H -a -l (ss -tanp is tcpdiag conns -tanp).
Unlike ss, every state is listed without -a, and processes and tcp_info are shown without
-p and -i (--no-processes and --no-info skip them).`
    : `Short flags follow ss(8): -t -l -4 -6 -n -p -e -H (ss -tlnp is tcpdiag listeners -tlnp).
Processes are shown without -p (--no-processes skips them).`;
