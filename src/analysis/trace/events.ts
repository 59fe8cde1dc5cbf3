/**
 * What `tcpdiag trace --json` prints, one object per line: a contract (test/golden.test.ts). Every
 * event has type, ts (ms since the epoch), family, local, remote, pid and process (null where
 * unknown); each type adds the fields below.
 */
import type { AddressFamily, Endpoint } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';
import type { SocketDetail } from '../../model/kernel-event.js';

export type TraceEventType = 'connect' | 'connect-failed' | 'accept' | 'state' | 'retransmit' | 'reset' | 'close' | 'drop' | 'lost';

/** Socket fields at a state change (--detail), printed as the eBPF source reads them. */
export type SocketDetailJson = SocketDetail;

/** What every event starts with, in the order JSON prints it. */
export interface EventHead {
  readonly ts: number;
  readonly family: AddressFamily | null;
  readonly local: Endpoint | null;
  readonly remote: Endpoint | null;
  readonly pid: number | null;
  readonly process: string | null;
}

export interface ConnectEvent extends EventHead {
  readonly type: 'connect';
  /** SYN_SENT to ESTABLISHED; null when the SYN_SENT transition was not seen. */
  readonly latencyMs: number | null;
}

export type ConnectFailReason = 'refused' | 'timeout' | 'unreachable' | 'reset';

export interface ConnectFailedEvent extends EventHead {
  readonly type: 'connect-failed';
  readonly reason: ConnectFailReason;
  /** How long the attempt lasted (SYN_SENT to CLOSE). */
  readonly durationMs: number | null;
  readonly synRetransmits: number;
}

export interface AcceptEvent extends EventHead {
  readonly type: 'accept';
  /** The listening endpoint the connection arrived on (its port; the address is the local one). */
  readonly listener: Endpoint;
  /** SYN_RECV to ESTABLISHED: the handshake's duration on the server. */
  readonly handshakeMs: number | null;
}

export interface StateEvent extends EventHead {
  readonly type: 'state';
  readonly oldState: TcpState;
  readonly newState: TcpState;
  /** Time spent in oldState; null when the socket's previous transition was not seen. */
  readonly durationMs: number | null;
  /** Socket fields at this transition (--detail only). */
  readonly detail?: SocketDetailJson;
}

export interface RetransmitEvent extends EventHead {
  readonly type: 'retransmit';
  readonly kind: 'data' | 'syn' | 'synack';
  readonly state: TcpState | null;
  /**
   * The attempt did not go out (tcp_retransmit_skb's err, where the format has it): the kernel's RetransSegs
   * does not count the ones that fail before the transmit (EBUSY: the original still in a host
   * queue; EAGAIN, ENOMEM, EHOSTUNREACH) and counts those the transmit itself refused (EPERM
   * from a netfilter drop on OUTPUT, ENOBUFS); TCPRetransFail counts every failure but EBUSY.
   */
  readonly failed: boolean;
  /** When failed: the errno name (EBUSY, EPERM, ...). */
  readonly error?: string;
  /**
   * Segments the skb carried (tcp_skb_pcount): RetransSegs adds these where the event is one
   * per skb, and the kernel does retransmit skbs of several segments (TSO, and merged ones even
   * on loopback). Known with --detail (eBPF reads the skb); null from tracefs.
   */
  readonly segments: number | null;
}

export interface ResetEvent extends EventHead {
  readonly type: 'reset';
  readonly direction: 'sent' | 'received';
  /** The kernel's sk_rst_reason for sent resets (NO_SOCKET, TCP_ABORT_ON_CLOSE...); null for received. */
  readonly reason: string | null;
  readonly state: TcpState | null;
}

export interface CloseEvent extends EventHead {
  readonly type: 'close';
  /** From the first transition seen (SYN_SENT or SYN_RECV) to CLOSE; null when it opened before the trace. */
  readonly durationMs: number | null;
  /** Bytes each way: need --detail (eBPF reads tcp_sock at CLOSE); null otherwise. */
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
  readonly origin: 'active' | 'passive' | null;
}

/**
 * A TCP packet the kernel dropped (skb:kfree_skb), with the kernel's reason. local/remote are
 * the packet's endpoints as this host sees them (for an arriving packet local is its
 * destination); pid/process the owner of the socket it was for, where known (a listener's for
 * a listen overflow).
 */
export interface DropEvent extends EventHead {
  readonly type: 'drop';
  /** The kernel's skb_drop_reason name (NO_SOCKET, TCP_LISTEN_OVERFLOW, NETFILTER_DROP...). */
  readonly reason: string;
  readonly direction: 'in' | 'out';
  /** The socket's state when there was one (LISTEN for a listen overflow), else null. */
  readonly state: TcpState | null;
  /** TCP flags in tcpdump's letters (S SYN, F FIN, R RST, P PSH, . ACK, U URG), null without a TCP header. */
  readonly flags: string | null;
  /** The kernel function that dropped it. */
  readonly location: string | null;
}

export interface LostEvent extends EventHead {
  readonly type: 'lost';
  readonly count: number | null;
  readonly cpu: number;
}

export type TraceEvent =
  | ConnectEvent
  | ConnectFailedEvent
  | AcceptEvent
  | StateEvent
  | RetransmitEvent
  | ResetEvent
  | CloseEvent
  | DropEvent
  | LostEvent;

export const TRACE_MODES = ['connect', 'accept', 'states', 'retrans', 'resets', 'life', 'drops', 'all'] as const;
export type TraceMode = (typeof TRACE_MODES)[number];

/** Which event types each mode prints (lost is always printed). `all` leaves drops out: they need eBPF. */
export const MODE_EVENTS: Record<TraceMode, ReadonlySet<TraceEventType>> = {
  connect: new Set(['connect', 'connect-failed', 'lost']),
  accept: new Set(['accept', 'lost']),
  states: new Set(['state', 'lost']),
  retrans: new Set(['retransmit', 'lost']),
  resets: new Set(['reset', 'lost']),
  life: new Set(['close', 'lost']),
  drops: new Set(['drop', 'lost']),
  all: new Set(['connect', 'connect-failed', 'accept', 'state', 'retransmit', 'reset', 'close', 'lost']),
};
