/**
 * Filters and sort orders over the socket table (`conns`, the agent, diagnosis). Pure.
 */
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import { TCP_STATES } from '../model/tcp-state.js';
import { cidrContains } from '../model/address.js';
import type { Cidr } from '../model/address.js';

export interface SocketFilter {
  readonly states?: readonly TcpState[];
  readonly families?: readonly (4 | 6)[];
  /** Either end's port. */
  readonly ports?: readonly number[];
  /** Local (source) port. */
  readonly sports?: readonly number[];
  /** Remote (destination) port. */
  readonly dports?: readonly number[];
  /** Either end's address inside any of these blocks. */
  readonly addrs?: readonly Cidr[];
  readonly pids?: readonly number[];
  /** Process name: exact, or a substring. */
  readonly process?: string;
}

export function matchesFilter(s: TcpSocket, f: SocketFilter): boolean {
  if (f.states && f.states.length > 0 && !f.states.includes(s.state)) return false;
  if (f.families && f.families.length > 0 && !f.families.includes(s.family)) return false;
  if (f.ports && f.ports.length > 0 && !f.ports.includes(s.local.port) && !f.ports.includes(s.remote.port)) return false;
  if (f.sports && f.sports.length > 0 && !f.sports.includes(s.local.port)) return false;
  if (f.dports && f.dports.length > 0 && !f.dports.includes(s.remote.port)) return false;
  if (f.addrs && f.addrs.length > 0 && !f.addrs.some((c) => cidrContains(c, s.local.address) || cidrContains(c, s.remote.address))) {
    return false;
  }
  if (f.pids && f.pids.length > 0 && !s.owners.some((o) => f.pids!.includes(o.pid))) return false;
  if (f.process !== undefined && !s.owners.some((o) => o.process.includes(f.process!))) return false;
  return true;
}

export function filterSockets(sockets: readonly TcpSocket[], filter: SocketFilter): TcpSocket[] {
  return sockets.filter((s) => matchesFilter(s, filter));
}

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
