/**
 * One kernel TCP event as a source delivers it, before analysis: the tracepoint's fields,
 * decoded but not interpreted. Both the tracefs reader and the eBPF (bpftrace) reader produce
 * these, so src/analysis/trace/ does not care which one ran.
 */
import type { AddressFamily } from './socket.js';

/** The kernel TCP tracepoints tcpdiag reads (include/trace/events/sock.h and tcp.h). */
export type TracepointName = 'inet_sock_set_state' | 'tcp_retransmit_skb' | 'tcp_retransmit_synack' | 'tcp_send_reset' | 'tcp_receive_reset' | 'kfree_skb';

export type RawEventKind = 'state' | 'retransmit' | 'retransmit-synack' | 'send-reset' | 'receive-reset' | 'drop' | 'lost';

/** What skb:kfree_skb adds for a TCP packet the kernel dropped (read through eBPF). */
export interface DropDetail {
  /** The packet was arriving ("in": local is its destination) or leaving ("out": local is its source). */
  readonly direction: 'in' | 'out';
  /** The TCP header's flags byte (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20), null when the skb had no header yet. */
  readonly tcpFlags: number | null;
  /** The kernel function that dropped it (the tracepoint's location, by symbol). */
  readonly location: string | null;
}

/** Socket fields read at the moment of a state change (eBPF --detail only). */
export interface SocketDetail {
  readonly cwnd: number;
  readonly rcvWnd: number;
  readonly sndWnd: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly bytesAcked: number;
  readonly ackBacklog: number;
  readonly maxAckBacklog: number;
  readonly totalRetrans: number;
  readonly srttUs: number;
}

export interface RawTcpEvent {
  readonly kind: RawEventKind;
  /** CLOCK_MONOTONIC nanoseconds (trace_clock "mono"; bpftrace nsecs). */
  readonly tsNs: number;
  readonly cpu: number;
  /** common_pid: the task running when the event fired (a thread id; 0 for idle/softirq on idle). */
  readonly tid: number;
  /** True when the event fired in softirq/hardirq/NMI: tid is then whoever was interrupted. */
  readonly inInterrupt: boolean;
  /** The struct sock's address (its low 48 bits): the key that ties one socket's events together; 0 when none. */
  readonly skaddr: number;
  readonly family: AddressFamily;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Kernel state numbers (include/net/tcp_states.h). state events: old/new; others: state or 0. */
  readonly oldState: number;
  readonly newState: number;
  /** tcp_send_reset's sk_rst_reason, or kfree_skb's skb_drop_reason, by the kernel's name. */
  readonly reason: string | null;
  /**
   * tcp_retransmit_skb's `err` by errno name (EBUSY, EPERM...), null when the attempt went out.
   * Where the tracepoint has `err` (its format says; 6.18 here has it) it fires for failed
   * attempts too; before, only for successful ones (a kernel without the field gives null).
   */
  readonly error: string | null;
  /**
   * lost events: how many (null when the kernel could not say); retransmits: the segments the
   * skb carried (tcp_skb_pcount, what RetransSegs adds), where the source can read the skb
   * (eBPF), else null.
   */
  readonly count: number | null;
  /** The process name when the source knows it (bpftrace's comm), else null. */
  readonly comm: string | null;
  readonly detail: SocketDetail | null;
  /** drop events only. */
  readonly drop?: DropDetail;
}

export function lostEvent(tsNs: number, cpu: number, count: number | null): RawTcpEvent {
  return {
    kind: 'lost', tsNs, cpu, tid: 0, inInterrupt: false, skaddr: 0, family: 4,
    localAddress: '', localPort: 0, remoteAddress: '', remotePort: 0,
    oldState: 0, newState: 0, reason: null, error: null, count, comm: null, detail: null,
  };
}
