/**
 * The socket table from the kernel over NETLINK_SOCK_DIAG (what `ss` uses): every TCP socket
 * with tcp_info, memory and congestion control, both families in one dump. Needs the native
 * addon; callers fall back to procfs when `available()` says no.
 */
import type { TcpSocket } from '../../model/socket.js';
import type { ListenerChild } from '../../model/listener.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateToKernel } from '../../model/tcp-state.js';
import { loadNative } from '../../native/index.js';
import { SourceError } from '../../errors.js';
import { countFinWait2Timewait, countStatesInDump, decodeInetDiagDump, halfOpenChildrenInDump } from './inet-diag.js';
import { compileBytecode } from './bytecode.js';
import type { ConnExpr } from '../../model/conn-filter.js';

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
// TCP_NEW_SYN_RECV (12): request socks are dumped only when this bit is asked for.
const TCPF_NEW_SYN_RECV = 1 << 12;

export function sockDiagAvailable(): { ok: true } | { ok: false; reason: string } {
  const { addon, error } = loadNative();
  return addon === null ? { ok: false, reason: error } : { ok: true };
}

/** Kernel states bitmask for a set of states (all when undefined). */
export function statesMask(states?: readonly TcpState[]): number {
  if (states === undefined || states.length === 0) return 0xffffffff | 0;
  let mask = 0;
  for (const state of states) {
    mask |= 1 << tcpStateToKernel(state);
    if (state === 'SYN_RECV') mask |= TCPF_NEW_SYN_RECV;
  }
  return mask;
}

export interface DumpOptions {
  readonly states?: readonly TcpState[];
  readonly families?: readonly (4 | 6)[];
  readonly withInfo?: boolean;
  /** Endpoint conditions, run by the kernel on every socket (compiled by bytecode.ts). */
  readonly expr?: ConnExpr;
  /** A network namespace (a path: /run/netns/NAME, /proc/PID/ns/net); absent: our own. */
  readonly netns?: string;
}

/** What every request of one dump carries besides its family. */
interface Request {
  readonly mask: number;
  readonly withInfo: boolean;
  readonly bytecode: Buffer | null;
  readonly netns: string | null;
}

function request(mask: number, withInfo: boolean, options: { expr?: ConnExpr; netns?: string } = {}): Request {
  return { mask, withInfo, bytecode: options.expr === undefined ? null : compileBytecode(options.expr), netns: options.netns ?? null };
}

function dump(family: number, r: Request): Buffer {
  const { addon, error } = loadNative();
  if (addon === null) throw new SourceError('sockdiag', error);
  try {
    return addon.sockDiagDump(family, r.mask, r.withInfo, r.bytecode, r.netns);
  } catch (cause: unknown) {
    // EAFNOSUPPORT/ENOENT for IPv6 when the kernel has it disabled: not an error, no sockets.
    const code = (cause as { code?: string }).code;
    if (family === AF_INET6 && (code === 'ENOENT' || code === 'EAFNOSUPPORT' || code === 'EPROTONOSUPPORT')) {
      return Buffer.alloc(0);
    }
    const entering = cause instanceof Error && cause.message.startsWith('setns');
    throw new SourceError('sockdiag', `netlink dump failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: entering ? `cannot enter the network namespace ${r.netns ?? ''}: it needs root (CAP_SYS_ADMIN)` : 'the kernel needs CONFIG_INET_DIAG and CONFIG_INET_TCP_DIAG (modprobe tcp_diag)',
      cause,
    });
  }
}

/**
 * One dump for IPv4 and IPv6 together where the kernel serves it (the TCPDIAG_GETSOCK request,
 * native/tcpdiag.c): the kernel walks its socket hash once instead of once per family, which
 * is most of the cost of counting states on a large table. A kernel that refuses it gets one
 * dump per family, and is not asked again.
 */
let bothFamiliesInOneDump = true;

function dumps(families: readonly (4 | 6)[], r: Request): Buffer[] {
  const wanted = families.map((f) => (f === 4 ? AF_INET : AF_INET6));
  if (wanted.length === 2 && bothFamiliesInOneDump) {
    try {
      return [dump(AF_UNSPEC, r)];
    } catch (error: unknown) {
      // A kernel without the request answers EINVAL (no handler) or ENOENT (no module).
      const code = error instanceof SourceError ? (error.cause as { code?: string } | undefined)?.code : undefined;
      if (code !== 'EINVAL' && code !== 'ENOENT') throw error;
      bothFamiliesInOneDump = false;
    }
  }
  return wanted.map((family) => dump(family, r));
}

/** The raw netlink replies of a dump, for decoders that read only what they need (listeners.ts). */
export function rawDumps(options: DumpOptions = {}): Buffer[] {
  return dumps(options.families ?? [4, 6], request(statesMask(options.states), options.withInfo ?? true, options));
}

/**
 * The sockets that match `states`, `families` and `expr`, all three applied by the kernel:
 * states as the request's state mask, families by the request, `expr` as bytecode.
 */
export function dumpTcpSockets(options: DumpOptions = {}): TcpSocket[] {
  const r = request(statesMask(options.states), options.withInfo ?? true, options);
  const sockets: TcpSocket[] = [];
  for (const buf of dumps(options.families ?? [4, 6], r)) decodeInetDiagDump(buf, sockets);
  return sockets;
}

/** Count sockets per state from a full dump (see countTcpStatesWithTotals for the fast way). */
export function countTcpStates(netns?: string): Partial<Record<TcpState, number>> {
  const counts: Partial<Record<TcpState, number>> = {};
  for (const buf of dumps([4, 6], request(statesMask(), false, netns === undefined ? {} : { netns }))) countStatesInDump(buf, counts);
  return counts;
}

/** What the kernel already counts, from /proc/net/snmp and /proc/net/sockstat. */
export interface KernelStateTotals {
  /** tcpCurrEstab: ESTABLISHED + CLOSE_WAIT. */
  readonly currEstab: number;
  /** sockstat "tw": every timewait socket, TIME_WAIT and orphaned FIN_WAIT2 alike. */
  readonly timewaitSockets: number;
}

/**
 * Count sockets per state without dumping the two states that are usually the bulk of a busy
 * table, because the kernel keeps running totals of them:
 * - ESTABLISHED: tcpCurrEstab (RFC 1213) is ESTABLISHED + CLOSE_WAIT, kept by tcp_set_state()
 *   (net/ipv4/tcp.c) for the whole namespace, IPv4 and IPv6;
 * - TIME_WAIT: sockstat's tw is the namespace's timewait socket count (tcp_death_row, both
 *   families), which includes orphaned FIN_WAIT2 sockets in timewait form; the dump (which
 *   keeps FIN_WAIT2) says how many of those there are.
 * Everything else is dumped and counted. On 60,000 established sockets and 30,000 in TIME_WAIT
 * that is one small dump instead of 90,000 messages. The totals and the dump are read at
 * slightly different instants, as ss -s does; a count is never below zero. `halfOpen`, when
 * given, gets the local end of each SYN_RECV socket the walk passed (the listeners' children).
 */
export function countTcpStatesWithTotals(totals: KernelStateTotals, netns?: string, halfOpen?: ListenerChild[]): Partial<Record<TcpState, number>> {
  const mask = statesMask() & ~(1 << tcpStateToKernel('ESTABLISHED')) & ~(1 << tcpStateToKernel('TIME_WAIT'));
  const counts: Partial<Record<TcpState, number>> = {};
  let finWait2Timewait = 0;
  for (const buf of dumps([4, 6], request(mask, false, netns === undefined ? {} : { netns }))) {
    countStatesInDump(buf, counts);
    finWait2Timewait += countFinWait2Timewait(buf);
    if (halfOpen !== undefined) halfOpenChildrenInDump(buf, halfOpen);
  }
  counts.ESTABLISHED = Math.max(0, totals.currEstab - (counts.CLOSE_WAIT ?? 0));
  counts.TIME_WAIT = Math.max(0, totals.timewaitSockets - finWait2Timewait);
  return counts;
}
