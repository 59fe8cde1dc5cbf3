/**
 * Per-listener view: configured backlog, accept queue, half-open and established children.
 * Pure: derived from one socket table snapshot.
 *
 * For a LISTEN socket, inet_diag reports sk_ack_backlog (connections waiting for accept()) as
 * the receive queue and sk_max_ack_backlog (the backlog passed to listen(), capped by
 * net.core.somaxconn) as the send queue (net/ipv4/tcp_diag.c tcp_diag_get_info).
 */
import type { AddressFamily, Endpoint, SocketOwner, TcpSocket } from '../model/socket.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { splitExpr } from '../model/conn-filter.js';

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
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** `include` picks which listeners to report (all by default); children of every listener are still matched. */
export function summarizeListeners(
  sockets: readonly TcpSocket[],
  backlogKnown: boolean,
  include: (listener: TcpSocket) => boolean = () => true,
): ListenerSummary[] {
  const listeners = sockets.filter((s) => s.state === 'LISTEN');
  const counts = listeners.map(() => ({ synRecv: 0, established: 0 }));
  // Index listeners by family+port so each child is matched in O(listeners on that port).
  const byPort = new Map<string, number[]>();
  listeners.forEach((l, i) => {
    const key = `${l.family}/${l.local.port}`;
    const list = byPort.get(key);
    if (list) list.push(i);
    else byPort.set(key, [i]);
  });
  for (const s of sockets) {
    if (s.state !== 'SYN_RECV' && s.state !== 'ESTABLISHED') continue;
    const candidates = byPort.get(`${s.family}/${s.local.port}`);
    if (!candidates) continue;
    // The most specific listener wins: an exact address over a wildcard one.
    let chosen: number | undefined;
    for (const i of candidates) {
      const address = listeners[i]!.local.address;
      if (address === s.local.address) {
        chosen = i;
        break;
      }
      if (chosen === undefined && WILDCARDS.has(address)) chosen = i;
    }
    if (chosen === undefined) continue;
    if (s.state === 'SYN_RECV') counts[chosen]!.synRecv++;
    else counts[chosen]!.established++;
  }
  return listeners.flatMap((l, i) => (include(l) ? [{
    family: l.family,
    local: l.local,
    pid: l.pid,
    process: l.process,
    owners: l.owners,
    inode: l.inode,
    backlog: backlogKnown ? l.sendQ : null,
    acceptQueue: l.recvQ,
    synRecv: counts[i]!.synRecv,
    established: counts[i]!.established,
  }] : []));
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
