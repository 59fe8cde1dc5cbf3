/**
 * The service map of one host (GET /api/v1/map, the dashboard's Map page): processes, their
 * listeners, and the peers they talk to, as nodes and directed edges with counts. Inbound
 * traffic runs peer -> listener -> process, outbound process -> peer:port. Platform-neutral:
 * the dashboard reads these types; analysis/service-map.ts builds them.
 */

export type MapNodeKind = 'process' | 'listener' | 'peer';
export type MapDirection = 'inbound' | 'outbound';

/**
 * What an edge or node carries. `connections` are the sockets open at the table's read (not
 * LISTEN, not TIME_WAIT: a TIME-WAIT socket has no owner and its connection is over); the
 * rest are the kernel's events over the window: retransmitted segments, resets the host sent
 * and received, connects that failed (SYN_SENT to CLOSE, net/ipv4/tcp_input.c).
 */
export interface MapCounts {
  connections: number;
  retransmits: number;
  resetsSent: number;
  resetsReceived: number;
  failedConnects: number;
}

export interface MapNode {
  /** Stable across refreshes: `process:PID`, `listener:ADDR:PORT`, `peer:in:ADDR`, `peer:out:ADDR:PORT`, or an `other` node. */
  readonly id: string;
  readonly kind: MapNodeKind;
  /** Data, not UI text: an address, a port, a command name; empty for the nodes the page names (unknown process, other peers, closed port). */
  readonly label: string;
  /** process: its pid (null: the owner was not known). */
  readonly pid: number | null;
  /** peer: the peers summed in an `other` node; 1 otherwise. */
  readonly members: number;
  /** A node the page names itself: the process whose sockets closed before they were read, the peers past the top K, a port no one listens on. */
  readonly special: 'unknown-process' | 'other-peers' | 'closed-port' | null;
  readonly direction: MapDirection | null;
  readonly counts: MapCounts;
}

export interface MapEdge {
  readonly from: string;
  readonly to: string;
  readonly direction: MapDirection;
  readonly counts: MapCounts;
}

/** What colours an edge: the worst of what happened on it, in this order (a failed connect is an outage, a reset an abort, a retransmission a loss that TCP recovers from). */
export type MapProblem = 'failed' | 'reset' | 'retransmit' | 'none';
export const MAP_PROBLEMS: readonly MapProblem[] = ['failed', 'reset', 'retransmit', 'none'];

export function worstProblem(c: MapCounts): MapProblem {
  if (c.failedConnects > 0) return 'failed';
  if (c.resetsSent + c.resetsReceived > 0) return 'reset';
  if (c.retransmits > 0) return 'retransmit';
  return 'none';
}

export function zeroCounts(): MapCounts {
  return { connections: 0, retransmits: 0, resetsSent: 0, resetsReceived: 0, failedConnects: 0 };
}

export function addCounts(into: MapCounts, c: Readonly<MapCounts>): void {
  into.connections += c.connections;
  into.retransmits += c.retransmits;
  into.resetsSent += c.resetsSent;
  into.resetsReceived += c.resetsReceived;
  into.failedConnects += c.failedConnects;
}

export function problemCount(c: Readonly<MapCounts>): number {
  return c.retransmits + c.resetsSent + c.resetsReceived + c.failedConnects;
}

export interface ServiceMap {
  readonly fromMs: number;
  readonly toMs: number;
  /** When the socket table (with owners) was read. */
  readonly takenAtMs: number;
  readonly nodes: readonly MapNode[];
  readonly edges: readonly MapEdge[];
  /** Distinct peers before grouping, per direction, and how many went into `other`. */
  readonly peers: { readonly inbound: number; readonly outbound: number; readonly grouped: number };
  /** Whether the kernel's events were collected (without them only connections are counted), and why not. */
  readonly events: { readonly running: boolean; readonly reason: string | null; readonly hint: string | null };
}
