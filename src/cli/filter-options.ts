/**
 * The one set of filter flags (conns, listeners, trace, capture) and ss's filter expression
 * after the options, read into one ConnFilter (model/conn-filter.ts). Every command declares
 * its filter flags here, so a flag means the same everywhere and short letters are chosen in
 * one place. Bad values fail at parse time with the flag or the word named.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { STATE_GROUPS, TCP_STATES, parseStateSet } from '../model/tcp-state.js';
import type { TcpState } from '../model/tcp-state.js';
import { parseCidr } from '../model/address.js';
import type { Cidr } from '../model/address.js';
import { UsageError } from '../errors.js';
export { filterFromFlags } from '../model/filter-flags.js';
export type { FilterFlags } from '../model/filter-flags.js';
import { collect, parsePid, parsePort } from './options.js';
import { showValue } from '../model/show-value.js';

export function parseStateFlag(text: string): TcpState[] {
  const states = parseStateSet(text);
  if (states === undefined) {
    throw new InvalidArgumentError(
      `${showValue(text)} is not a TCP state: use one of ${TCP_STATES.join(', ')} (any case, - or _), or ${[...STATE_GROUPS.keys()].join(', ')}`,
    );
  }
  return [...states];
}

function parseCidrFlag(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (error: unknown) {
    throw new InvalidArgumentError(error instanceof UsageError ? error.message : String(error));
  }
}

export interface FilterFlagSet {
  /** --state (not for listeners, which are all LISTEN, nor for packets). */
  readonly states: boolean;
  /** --dport (not for listeners: their remote end is the wildcard). */
  readonly remote: boolean;
  /** --pid, --process (not for packets: no owner is known). */
  readonly owners: boolean;
  /**
   * Which short letters, as each command's reference tool spells them: `ss` for conns and
   * listeners (-s -4 -6; ss's -p and -a are processes and all states, in ss-flags.ts); `bcc`
   * for trace (tcpconnect, tcpaccept, tcplife, tcpstates: -p PID, -P PORT, -L LOCALPORT,
   * -D REMOTEPORT, -4, -6); `none` for capture (tcpdump gives its letters other meanings).
   */
  readonly short: 'ss' | 'bcc' | 'none';
}

const SHORT: Record<FilterFlagSet['short'], Readonly<Record<string, string>>> = {
  ss: { state: 's', ipv4: '4', ipv6: '6' },
  bcc: { ipv4: '4', ipv6: '6', port: 'P', sport: 'L', dport: 'D', pid: 'p' },
  none: {},
};

export function addFilterOptions(command: Command, set: FilterFlagSet): Command {
  const flag = (long: string): string => {
    const letter = SHORT[set.short][long.slice(2).split(' ')[0]!];
    return letter === undefined ? long : `-${letter}, ${long}`;
  };
  if (set.states) {
    command.option(flag('--state <state>'), 'only this state (repeatable; e.g. established, time-wait, close-wait, or ss\'s groups all, connected, synchronized, bucket, big)', (t: string, prev: TcpState[] | undefined) => [...(prev ?? []), ...parseStateFlag(t)]);
  }
  command
    .option(flag('--ipv4'), 'IPv4 sockets only')
    .option(flag('--ipv6'), 'IPv6 sockets only')
    .option(flag('--port <port>'), 'either end uses this port (repeatable)', collect(parsePort))
    .option(flag('--sport <port>'), 'local port (repeatable)', collect(parsePort));
  if (set.remote) command.option(flag('--dport <port>'), 'remote port (repeatable)', collect(parsePort));
  command.option(flag('--addr <cidr>'), 'either end inside this address or CIDR block (repeatable; IPv4 or IPv6)', collect(parseCidrFlag));
  if (set.owners) {
    command
      .option(flag('--pid <pid>'), 'owned by this process id (repeatable)', collect(parsePid))
      .option('--process <name>', 'owned by a process whose name contains this text');
  }
  return command;
}

export function addSocketSourceOption(command: Command): Command {
  return command.addOption(new Option('--source <backend>', 'where to read sockets from (default: sockdiag when available)').choices(['sockdiag', 'procfs']));
}

export interface SocketSourceFlags {
  source?: 'sockdiag' | 'procfs';
}

/** The help every command with an expression shows. */
export const EXPRESSION_HELP = `
Filter expression (ss(8) syntax, after the options; quote what the shell would read):
  state NAME | exclude NAME    first; names as ss prints them (established, syn-sent, syn-recv,
                               fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,
                               listening, closing) or groups (all, connected, synchronized,
                               bucket, big)
  src ADDR[/LEN][:PORT]  dst ...   local / remote end: 10.0.0.0/8, 10.1.2.3:80, [::1]:22, *:443
  sport OP :PORT  dport OP :PORT   OP: = != < > <= >= (or eq ne lt gt le ge); = may be left out
  and, or, not, !, ( )         and/or have the same precedence, left to right, as in ss
  e.g. state established '( dport = :443 or sport = :443 )' dst 10.0.0.0/8`;
