/**
 * A listening socket with its queues and children: what `tcpdiag listeners --json` prints (a
 * contract test/golden.test.ts pins) and what the listener source answers.
 *
 * For a LISTEN socket, inet_diag reports sk_ack_backlog (connections waiting for accept()) as
 * the receive queue and sk_max_ack_backlog (the backlog passed to listen(), capped by
 * net.core.somaxconn) as the send queue (net/ipv4/tcp_diag.c tcp_diag_get_info).
 */
import type { AddressFamily, Endpoint, SocketOwner, TcpSocket } from './socket.js';
import type { ConnFilter } from './conn-filter.js';
import { splitExpr } from './conn-filter.js';

export interface ListenerSummary {
  readonly family: AddressFamily;
  readonly local: Endpoint;
  readonly pid: number | null;
  readonly process: string | null;
  readonly owners: readonly SocketOwner[];
  readonly inode: number;
  /** listen() backlog as the kernel applies it; null when the source cannot tell (procfs). */
  readonly backlog: number | null;
  /** Connections completed and waiting for accept(). */
  readonly acceptQueue: number;
  /** Half-open connections (request socks in SYN_RECV) for this listener. */
  readonly synRecv: number;
  /** Accepted (or acceptable) ESTABLISHED connections on this listener's address and port. */
  readonly established: number;
  /**
   * The accept queue holds more than the backlog: sk_acceptq_is_full() (include/net/sock.h) is
   * `sk_ack_backlog > sk_max_ack_backlog`, so it is full at backlog + 1 and the kernel refuses
   * more. Null when the backlog is unknown.
   */
  readonly acceptQueueFull: boolean | null;
  /**
   * The SYN queue is at its limit: inet_csk_reqsk_queue_is_full()
   * (include/net/inet_connection_sock.h) is `request socks >= sk_max_ack_backlog`. Null when
   * the backlog is unknown.
   */
  readonly synQueueFull: boolean | null;
  /** What the kernel is doing about a full queue, measured over a short window; null when no queue is full. */
  readonly pressure: ListenerPressure | null;
}

/**
 * What the kernel does when a listener's queue is full (tcp_conn_request() in
 * net/ipv4/tcp_input.c, tcp_check_req() in net/ipv4/tcp_minisocks.c), as stable codes:
 * - `drops-new-syns`: a SYN to a full accept queue is dropped (ListenOverflows, ListenDrops);
 *   so is one to a full SYN queue when syncookies are off (TCPReqQFullDrop);
 * - `answers-with-syncookies`: a SYN to a full SYN queue gets a SYN cookie instead of a
 *   request sock (net.ipv4.tcp_syncookies=1 or 2; TCPReqQFullDoCookies, SyncookiesSent);
 * - `drops-final-acks`: the ACK completing a handshake into a full accept queue is dropped and
 *   the SYN-ACK retransmitted (net.ipv4.tcp_abort_on_overflow=0), so clients see delay;
 * - `resets-connections`: that ACK is answered with a RST instead (tcp_abort_on_overflow=1).
 */
export type KernelResponse = 'drops-new-syns' | 'answers-with-syncookies' | 'drops-final-acks' | 'resets-connections';

export interface ListenerPressure {
  readonly actions: readonly KernelResponse[];
  /**
   * Per-second rates of the network namespace's counters over `windowMs` (they count every
   * listener of the namespace, not this one alone).
   */
  readonly windowMs: number;
  readonly listenOverflowsPerSec: number | null;
  readonly listenDropsPerSec: number | null;
  readonly syncookiesSentPerSec: number | null;
  readonly reqQFullDoCookiesPerSec: number | null;
  readonly reqQFullDropPerSec: number | null;
  /** net.ipv4.tcp_syncookies and net.ipv4.tcp_abort_on_overflow as the kernel prints them. */
  readonly syncookies: string | null;
  readonly abortOnOverflow: string | null;
}

/** A socket that may belong to a listener: its local end, as raw as the source has it. */
export interface ListenerChild {
  readonly family: AddressFamily;
  readonly address: string;
  readonly port: number;
  readonly state: 'SYN_RECV' | 'ESTABLISHED';
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * Which listener a child belongs to: the one on its family and port whose address is the
 * child's own, else the wildcard one (the kernel's lookup prefers the exact bind:
 * inet_lhash2_lookup scores an exact rcv_saddr above INADDR_ANY, net/ipv4/inet_hashtables.c).
 */
export class ListenerIndex {
  private readonly byPort = new Map<number, number[]>();
  readonly synRecv: number[];
  readonly established: number[];

  constructor(private readonly listeners: readonly TcpSocket[]) {
    this.synRecv = listeners.map(() => 0);
    this.established = listeners.map(() => 0);
    listeners.forEach((l, i) => {
      const key = l.family * 65536 + l.local.port;
      const list = this.byPort.get(key);
      if (list) list.push(i);
      else this.byPort.set(key, [i]);
    });
  }

  /** Listeners on this family and port (cheap: lets a caller skip a child before formatting its address). */
  hasPort(family: AddressFamily, port: number): boolean {
    return this.byPort.has(family * 65536 + port);
  }

  /** Count a child against its listener; false when no listener takes it. */
  add(child: ListenerChild): boolean {
    const candidates = this.byPort.get(child.family * 65536 + child.port);
    if (candidates === undefined) return false;
    let chosen: number | undefined;
    for (const i of candidates) {
      const address = this.listeners[i]!.local.address;
      if (address === child.address) {
        chosen = i;
        break;
      }
      if (chosen === undefined && WILDCARDS.has(address)) chosen = i;
    }
    if (chosen === undefined) return false;
    if (child.state === 'SYN_RECV') this.synRecv[chosen]!++;
    else this.established[chosen]!++;
    return true;
  }

  /** The summaries, in the listeners' order; `include` picks which to report. */
  summaries(backlogKnown: boolean, include: (listener: TcpSocket) => boolean = () => true): ListenerSummary[] {
    return this.listeners.flatMap((l, i) => (include(l) ? [{
      family: l.family,
      local: l.local,
      pid: l.pid,
      process: l.process,
      owners: l.owners,
      inode: l.inode,
      backlog: backlogKnown ? l.sendQ : null,
      acceptQueue: l.recvQ,
      synRecv: this.synRecv[i]!,
      established: this.established[i]!,
      acceptQueueFull: backlogKnown ? l.recvQ > l.sendQ : null,
      // At least one request sock: a backlog-0 listener with none is idle, not flooded.
      synQueueFull: backlogKnown ? this.synRecv[i]! >= Math.max(1, l.sendQ) : null,
      pressure: null,
    }] : []));
  }
}

/**
 * What to read so that `filter` can then pick listeners: the listeners and the children
 * counted for them (SYN_RECV, ESTABLISHED), narrowed only by what a listener's children
 * share with it, its local port (a child inherits it: inet_csk_clone_lock(),
 * net/ipv4/inet_connection_sock.c). The local address differs under a wildcard listener and
 * the remote end always does, and children may have no owner yet, so those conditions wait
 * for the listener rows.
 */
export function listenerDumpFilter(filter: ConnFilter): ConnFilter {
  const { kernel } = splitExpr(filter.expr, (leaf) => leaf.side === 'src' && (leaf.kind === 'port' || leaf.cidr === null));
  return {
    states: ['LISTEN', 'SYN_RECV', 'ESTABLISHED'],
    ...(filter.families === undefined ? {} : { families: filter.families }),
    ...(kernel === null ? {} : { expr: kernel }),
  };
}
