/**
 * The socket table's shape: what `tcpdiag conns --json` prints (a contract other tools and
 * tests depend on; test/golden.test.ts pins its shape) and what every source fills in.
 */
import type { TcpState } from './tcp-state.js';
import type { TcpInfo } from './tcp-info.js';

export type AddressFamily = 4 | 6;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Which kernel timer is pending on the socket (the `timer` column of /proc/net/tcp, ss -o). */
export type SocketTimer = 'none' | 'retransmit' | 'keepalive' | 'timewait' | 'probe' | 'other';

export interface TimerInfo {
  readonly kind: SocketTimer;
  /** Milliseconds until the timer fires (negative when overdue), null when no timer is set. */
  readonly expiresMs: number | null;
  /** Retransmits or probes so far (the `retr` count of /proc/net/tcp). */
  readonly retransmits: number;
}

export interface SocketOwner {
  readonly pid: number;
  readonly process: string;
  readonly fd: number;
}

export interface SocketMemory {
  readonly rmemAlloc: number;
  readonly rcvBuf: number;
  readonly wmemAlloc: number;
  readonly sndBuf: number;
}

export interface TcpSocket {
  readonly family: AddressFamily;
  readonly state: TcpState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Bytes (or, on a listener, connections) waiting to be read / accepted. */
  readonly recvQ: number;
  /** Bytes not yet acknowledged (or, on a listener, the configured backlog). */
  readonly sendQ: number;
  readonly timer: TimerInfo;
  readonly uid: number;
  /** 0 for TIME_WAIT and request sockets, which have no file. */
  readonly inode: number;
  /** The kernel's socket cookie: stable for the socket's life (inet_diag idiag_cookie). */
  readonly cookie: string | null;
  readonly pid: number | null;
  readonly process: string | null;
  /** Every process holding the socket (after fork or SCM_RIGHTS there can be several). */
  readonly owners: readonly SocketOwner[];
  readonly tcpInfo: TcpInfo | null;
  readonly memory: SocketMemory | null;
  readonly congestion: string | null;
}

export function formatEndpoint(e: Endpoint, family: AddressFamily): string {
  return family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
