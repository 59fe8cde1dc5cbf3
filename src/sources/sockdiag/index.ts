/**
 * The socket table from the kernel over NETLINK_SOCK_DIAG (what `ss` uses): every TCP socket
 * with tcp_info, memory and congestion control in one dump per family. Needs the native addon;
 * callers fall back to procfs when `available()` says no.
 */
import type { TcpSocket } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateToKernel } from '../../model/tcp-state.js';
import { loadNative } from '../../native/index.js';
import { SourceError } from '../../errors.js';
import { countStatesInDump, decodeInetDiagDump } from './inet-diag.js';

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
}

function dump(family: number, mask: number, withInfo: boolean): Buffer {
  const { addon, error } = loadNative();
  if (addon === null) throw new SourceError('sockdiag', error);
  try {
    return addon.sockDiagDump(family, mask, withInfo);
  } catch (cause: unknown) {
    // EAFNOSUPPORT/ENOENT for IPv6 when the kernel has it disabled: not an error, no sockets.
    const code = (cause as { code?: string }).code;
    if (family === AF_INET6 && (code === 'ENOENT' || code === 'EAFNOSUPPORT' || code === 'EPROTONOSUPPORT')) {
      return Buffer.alloc(0);
    }
    throw new SourceError('sockdiag', `netlink dump failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: 'the kernel needs CONFIG_INET_DIAG and CONFIG_INET_TCP_DIAG (modprobe tcp_diag)',
      cause,
    });
  }
}

function familiesOf(options: DumpOptions): number[] {
  const families = options.families ?? [4, 6];
  return families.map((f) => (f === 4 ? AF_INET : AF_INET6));
}

export function dumpTcpSockets(options: DumpOptions = {}): TcpSocket[] {
  const mask = statesMask(options.states);
  const sockets: TcpSocket[] = [];
  for (const family of familiesOf(options)) decodeInetDiagDump(dump(family, mask, options.withInfo ?? true), sockets);
  return sockets;
}

/** Count sockets per state; `except` states are left out of the dump (and of the counts). */
export function countTcpStates(except: readonly TcpState[] = []): Partial<Record<TcpState, number>> {
  const counts: Partial<Record<TcpState, number>> = {};
  let mask = statesMask();
  for (const state of except) mask &= ~(1 << tcpStateToKernel(state));
  for (const family of [AF_INET, AF_INET6]) countStatesInDump(dump(family, mask, false), counts);
  return counts;
}
