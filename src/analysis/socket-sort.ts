/**
 * Sort orders over the socket table (`conns`, the agent, diagnosis). Pure. Filtering is
 * model/conn-filter.ts, applied by the sources.
 */
import type { TcpSocket } from '../model/socket.js';
import { TCP_STATES } from '../model/tcp-state.js';

export const SORT_KEYS = ['state', 'local', 'remote', 'recvq', 'sendq', 'rtt', 'retrans', 'pid', 'process', 'bytes', 'lastrecv'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const stateOrder = (s: TcpSocket): number => TCP_STATES.indexOf(s.state);

function compareAddress(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric keys sort largest first (what you look for: the slowest, the most retransmitted). */
const COMPARATORS: Record<SortKey, (a: TcpSocket, b: TcpSocket) => number> = {
  state: (a, b) => stateOrder(a) - stateOrder(b),
  local: (a, b) => compareAddress(a.local.address, b.local.address) || a.local.port - b.local.port,
  remote: (a, b) => compareAddress(a.remote.address, b.remote.address) || a.remote.port - b.remote.port,
  recvq: (a, b) => b.recvQ - a.recvQ,
  sendq: (a, b) => b.sendQ - a.sendQ,
  rtt: (a, b) => (b.tcpInfo?.rttMs ?? -1) - (a.tcpInfo?.rttMs ?? -1),
  retrans: (a, b) => (b.tcpInfo?.totalRetrans ?? -1) - (a.tcpInfo?.totalRetrans ?? -1),
  pid: (a, b) => (a.pid ?? Number.MAX_SAFE_INTEGER) - (b.pid ?? Number.MAX_SAFE_INTEGER),
  process: (a, b) => compareAddress(a.process ?? '~', b.process ?? '~'),
  bytes: (a, b) =>
    (b.tcpInfo?.bytesAcked ?? 0) + (b.tcpInfo?.bytesReceived ?? 0) - ((a.tcpInfo?.bytesAcked ?? 0) + (a.tcpInfo?.bytesReceived ?? 0)),
  lastrecv: (a, b) => (b.tcpInfo?.lastReceiveMs ?? -1) - (a.tcpInfo?.lastReceiveMs ?? -1),
};

export function sortSockets(sockets: TcpSocket[], key: SortKey): TcpSocket[] {
  return sockets.sort(COMPARATORS[key]);
}
