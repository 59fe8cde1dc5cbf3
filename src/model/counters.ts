/**
 * The kernel's TCP counters by the names `nstat` prints without the section: RetransSegs,
 * ListenOverflows (Tcp: and TcpExt: of /proc/net/snmp and /proc/net/netstat), plus sockstat
 * values with a `Sockstat` prefix (SockstatTw, SockstatInuse...).
 */
import type { ListenerChild } from './listener.js';
import type { TcpState } from './tcp-state.js';

export type Counters = Record<string, number>;

/**
 * Counters that only ever grow (for rates and deltas). Everything from snmp/netstat is a
 * counter except these gauges and constants.
 */
const GAUGES = new Set(['RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn', 'CurrEstab']);

export function isMonotonicCounter(name: string): boolean {
  return !GAUGES.has(name) && !name.startsWith('Sockstat');
}

/** One reading of the kernel's TCP counters with the socket count per state. */
export interface CounterSample {
  readonly states: Record<TcpState, number>;
  readonly counters: Counters;
  /** Monotonic clock (performance.now()) at the reading, for rates immune to wall-clock steps. */
  readonly monotonicMs: number;
  /** The SYN_RECV sockets' local ends, when the reading walked them (the agent's listeners count them). */
  readonly halfOpen?: readonly ListenerChild[];
}
