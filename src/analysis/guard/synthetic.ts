/**
 * Synthetic socket tables for the guard's unit tests and its benchmark (bench/guard.ts): the
 * shapes the kernel reports (a listener, request sockets in SYN_RECV, accepted connections with
 * tcp_info bytes and idle times), built without sockets so that thousands of sources cost
 * nothing to make. Not used by any command.
 */
import type { TcpSocket } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';
import type { TcpInfo } from '../../model/tcp-info.js';

const INFO: TcpInfo = {
  rttMs: 0.05, rttvarMs: 0.02, minRttMs: 0.01, rtoMs: 200, retrans: 0, retransmits: 0, totalRetrans: 0, lost: 0, sacked: 0, unacked: 0,
  cwnd: 10, ssthresh: null, mss: 65483, rcvMss: 536, advmss: 65483, pmtu: 65535, sndWscale: 7, rcvWscale: 7,
  bytesAcked: 0, bytesReceived: 0, bytesSent: 0, bytesRetrans: 0, segsOut: 1, segsIn: 1, deliveryRateBps: null, pacingRateBps: null,
  lastSendMs: 0, lastReceiveMs: 0, lastAckReceiveMs: 0, rcvSpace: 65483, rcvSsthresh: 65483, sndWnd: 65483, rcvWnd: 65483,
  notsentBytes: 0, reordering: 3, dsackDups: 0, options: [], caState: 'open',
};

export interface SyntheticConn {
  readonly state: TcpState;
  readonly remote: string;
  readonly remotePort: number;
  readonly bytes?: number;
  readonly idleMs?: number;
}

export function syntheticSocket(local: { address: string; port: number }, conn: SyntheticConn): TcpSocket {
  const accepted = conn.state !== 'SYN_RECV' && conn.state !== 'LISTEN';
  return {
    family: conn.remote.includes(':') && !conn.remote.startsWith('::ffff:') ? 6 : 4,
    state: conn.state,
    local,
    remote: { address: conn.remote, port: conn.remotePort },
    recvQ: 0,
    sendQ: 0,
    timer: { kind: 'none', expiresMs: null, retransmits: 0 },
    uid: 0,
    inode: 0,
    cookie: null,
    pid: null,
    process: null,
    owners: [],
    tcpInfo: accepted ? { ...INFO, bytesReceived: conn.bytes ?? 0, bytesAcked: 0, lastReceiveMs: conn.idleMs ?? 0 } : null,
    memory: null,
    congestion: null,
  };
}

export function syntheticListener(address: string, port: number, backlog = 128): TcpSocket {
  return { ...syntheticSocket({ address, port }, { state: 'LISTEN', remote: address.includes(':') ? '::' : '0.0.0.0', remotePort: 0 }), sendQ: backlog };
}
