/**
 * TCP states by the kernel's numbers (include/net/tcp_states.h) and the names tcpdiag prints
 * everywhere (conns, trace, capture). One table, both directions.
 */

export const TCP_STATES = [
  'ESTABLISHED', // 1
  'SYN_SENT', // 2
  'SYN_RECV', // 3
  'FIN_WAIT1', // 4
  'FIN_WAIT2', // 5
  'TIME_WAIT', // 6
  'CLOSE', // 7
  'CLOSE_WAIT', // 8
  'LAST_ACK', // 9
  'LISTEN', // 10
  'CLOSING', // 11
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/**
 * Kernel state number -> name. TCP_NEW_SYN_RECV (12) is a request sock that inet_diag and
 * /proc/net/tcp both report as SYN_RECV, so it maps there; TCP_BOUND_INACTIVE (13, 6.6+) is a
 * bound but unconnected socket, which ss shows as CLOSE (UNCONN).
 */
export function tcpStateFromKernel(n: number): TcpState | undefined {
  if (n === 12) return 'SYN_RECV';
  if (n === 13) return 'CLOSE';
  return TCP_STATES[n - 1];
}

export function tcpStateToKernel(state: TcpState): number {
  return TCP_STATES.indexOf(state) + 1;
}

const ALIASES: Record<string, TcpState> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTENING: 'LISTEN',
  UNCONN: 'CLOSE',
  UNCONNECTED: 'CLOSE',
  CLOSED: 'CLOSE',
  // TCP_BOUND_INACTIVE (13, Linux 6.6+): bound, never listened or connected; shown as CLOSE.
  'BOUND-INACTIVE': 'CLOSE',
  'SYN-RCV': 'SYN_RECV',
  TCP_ESTABLISHED: 'ESTABLISHED',
};

/**
 * Parse a state as a user (or ss, or a tracepoint) spells it: "established", "ESTAB",
 * "time-wait", "TCP_TIME_WAIT", "fin_wait1" all work. Returns undefined when unknown.
 */
export function parseTcpState(text: string): TcpState | undefined {
  const upper = text.trim().toUpperCase().replace(/^TCP_/, '');
  const alias = ALIASES[upper];
  if (alias) return alias;
  const normalized = upper.replace(/-/g, '_').replace(/^FIN_WAIT_(\d)$/, 'FIN_WAIT$1');
  return (TCP_STATES as readonly string[]).includes(normalized) ? (normalized as TcpState) : undefined;
}

const except = (...excluded: TcpState[]): TcpState[] => TCP_STATES.filter((s) => !excluded.includes(s));

/**
 * ss's state groups (ss(8), STATE-FILTER): `connected` is every state but LISTEN and CLOSE,
 * `synchronized` also leaves out SYN-SENT, `bucket` is the states kept as minisockets
 * (request socks and TIME-WAIT), `big` everything else.
 */
export const STATE_GROUPS: ReadonlyMap<string, readonly TcpState[]> = new Map<string, readonly TcpState[]>([
  ['all', TCP_STATES],
  ['connected', except('LISTEN', 'CLOSE')],
  ['synchronized', except('LISTEN', 'CLOSE', 'SYN_SENT')],
  ['bucket', ['SYN_RECV', 'TIME_WAIT']],
  ['big', except('SYN_RECV', 'TIME_WAIT')],
]);

/** A state or one of ss's groups (any case), or undefined. */
export function parseStateSet(text: string): readonly TcpState[] | undefined {
  const group = STATE_GROUPS.get(text.trim().toLowerCase());
  if (group !== undefined) return group;
  const state = parseTcpState(text);
  return state === undefined ? undefined : [state];
}
