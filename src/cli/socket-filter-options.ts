/**
 * The socket filter flags shared by `conns` and `listeners`, and their translation into a
 * SocketFilter. Bad values fail at parse time with the flag named.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { parseTcpState, TCP_STATES } from '../model/tcp-state.js';
import type { TcpState } from '../model/tcp-state.js';
import { parseCidr } from '../model/address.js';
import type { Cidr } from '../model/address.js';
import type { SocketFilter } from '../analysis/socket-filter.js';
import { UsageError } from '../errors.js';
import { collect, parsePid, parsePort } from './options.js';

export function parseStateFlag(text: string): TcpState[] {
  const lower = text.toLowerCase();
  // ss-style groups
  if (lower === 'all') return [...TCP_STATES];
  if (lower === 'connected') return TCP_STATES.filter((s) => s !== 'LISTEN' && s !== 'CLOSE');
  if (lower === 'synchronized') return TCP_STATES.filter((s) => !['LISTEN', 'CLOSE', 'SYN_SENT'].includes(s));
  const state = parseTcpState(text);
  if (state === undefined) {
    throw new InvalidArgumentError(`"${text}" is not a TCP state: use one of ${TCP_STATES.join(', ')} (any case, - or _), or all, connected, synchronized`);
  }
  return [state];
}

function parseCidrFlag(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (error: unknown) {
    throw new InvalidArgumentError(error instanceof UsageError ? error.message : String(error));
  }
}

export function addSocketFilterOptions(command: Command, withState: boolean): Command {
  if (withState) {
    command.option('-s, --state <state>', 'only this state (repeatable; e.g. established, time-wait, close-wait, all, connected)', (t: string, prev: TcpState[] | undefined) => [...(prev ?? []), ...parseStateFlag(t)]);
  }
  return command
    .option('-4, --ipv4', 'IPv4 sockets only')
    .option('-6, --ipv6', 'IPv6 sockets only')
    // -p and -a are ss's (processes, all states): see ss-flags.ts.
    .option('--port <port>', 'either end uses this port (repeatable)', collect(parsePort))
    .option('--sport <port>', 'local port (repeatable)', collect(parsePort))
    .option('--dport <port>', 'remote port (repeatable)', collect(parsePort))
    .option('--addr <cidr>', 'either end inside this address or CIDR block (repeatable; IPv4 or IPv6)', collect(parseCidrFlag))
    .option('--pid <pid>', 'owned by this process id (repeatable)', collect(parsePid))
    .option('--process <name>', 'owned by a process whose name contains this text')
    .addOption(new Option('--source <backend>', 'where to read sockets from (default: sockdiag when available)').choices(['sockdiag', 'procfs']));
}

export interface SocketFilterFlags {
  state?: TcpState[];
  ipv4?: boolean;
  ipv6?: boolean;
  port?: number[];
  sport?: number[];
  dport?: number[];
  addr?: Cidr[];
  pid?: number[];
  process?: string;
  source?: 'sockdiag' | 'procfs';
}

export function filterFromFlags(flags: SocketFilterFlags): SocketFilter {
  const families: (4 | 6)[] = [];
  if (flags.ipv4) families.push(4);
  if (flags.ipv6) families.push(6);
  return {
    ...(flags.state ? { states: [...new Set(flags.state)] } : {}),
    ...(families.length > 0 ? { families } : {}),
    ...(flags.port ? { ports: flags.port } : {}),
    ...(flags.sport ? { sports: flags.sport } : {}),
    ...(flags.dport ? { dports: flags.dport } : {}),
    ...(flags.addr ? { addrs: flags.addr } : {}),
    ...(flags.pid ? { pids: flags.pid } : {}),
    ...(flags.process !== undefined ? { process: flags.process } : {}),
  };
}
