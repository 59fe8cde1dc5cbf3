/**
 * The kernel's TCP counters by the names `nstat` prints without the section: RetransSegs,
 * ListenOverflows (Tcp: and TcpExt: of /proc/net/snmp and /proc/net/netstat), plus sockstat
 * values with a `Sockstat` prefix (SockstatTw, SockstatInuse...).
 */
export type Counters = Record<string, number>;

/**
 * Counters that only ever grow (for rates and deltas). Everything from snmp/netstat is a
 * counter except these gauges and constants.
 */
const GAUGES = new Set(['RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn', 'CurrEstab']);

export function isMonotonicCounter(name: string): boolean {
  return !GAUGES.has(name) && !name.startsWith('Sockstat');
}
