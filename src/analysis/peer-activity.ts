/**
 * Per-peer activity for /metrics, with the number of series bounded whatever the number of
 * peers: the `topPeers` busiest remote addresses by name, each configured block as one series
 * (its addresses summed), and one "other" holding every remaining peer. A host scanned from a
 * million addresses exports topPeers + blocks + 1 series per metric: per-IP labels without a
 * cap are what blew up the cardinality of other agents' metrics.
 *
 * Connections are the socket table's sockets by remote address, any state but LISTEN (a
 * listener has no peer); retransmissions and resets come from the kernel events since the
 * agent started. A peer ranks by the sum of the three; ties go to the lower address, so the
 * named set does not flicker between scrapes of an unchanged table.
 */
import type { Cidr } from '../model/address.js';
import { cidrContains } from '../model/address.js';
import { OTHER_KEY } from '../model/agent-event.js';
import type { TcpSocket } from '../model/socket.js';
import type { PeerEventTotals } from './events/peer-totals.js';

export interface PeerActivity {
  /** The address, a configured block's text, or "other". */
  readonly peer: string;
  connections: number;
  retransmits: number;
  resets: number;
}

export interface PeerActivityOptions {
  readonly topPeers: number;
  /** Blocks always shown, in the order configured; an address goes to the first that holds it. */
  readonly prefixes: readonly Cidr[];
}

/** `::ffff:10.0.0.1` is 10.0.0.1: one peer, whichever socket family reached it. */
function peerAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The rows to export: at most topPeers named peers (busiest first), then every configured block,
 * then "other" (always, possibly all zeros: series that come and go with the ranking would read
 * as gaps).
 */
export function peerActivity(sockets: readonly TcpSocket[] | null, events: ReadonlyMap<string, Readonly<PeerEventTotals>> | null, options: PeerActivityOptions): PeerActivity[] {
  const byPeer = new Map<string, PeerActivity>();
  const entry = (peer: string): PeerActivity => {
    let a = byPeer.get(peer);
    if (a === undefined) {
      a = { peer, connections: 0, retransmits: 0, resets: 0 };
      byPeer.set(peer, a);
    }
    return a;
  };
  for (const s of sockets ?? []) {
    if (s.state === 'LISTEN') continue;
    entry(peerAddress(s.remote.address)).connections++;
  }
  for (const [peer, t] of events ?? []) {
    const a = entry(peer === OTHER_KEY ? OTHER_KEY : peerAddress(peer));
    a.retransmits += t.retransmits;
    a.resets += t.resets;
  }
  const blocks = options.prefixes.map((cidr) => ({ peer: cidr.text, connections: 0, retransmits: 0, resets: 0, cidr }));
  const other: PeerActivity = { peer: OTHER_KEY, connections: 0, retransmits: 0, resets: 0 };
  const candidates: PeerActivity[] = [];
  for (const a of byPeer.values()) {
    const block = a.peer === OTHER_KEY ? undefined : blocks.find((b) => cidrContains(b.cidr, a.peer));
    if (block !== undefined) add(block, a);
    else if (a.peer === OTHER_KEY) {
      add(other, a);
    } else candidates.push(a);
  }
  const score = (a: PeerActivity): number => a.connections + a.retransmits + a.resets;
  candidates.sort((a, b) => score(b) - score(a) || (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  const named = candidates.slice(0, options.topPeers);
  for (const a of candidates.slice(options.topPeers)) add(other, a);
  return [...named, ...blocks.map(({ cidr: _cidr, ...b }) => b), other];
}

function add(into: PeerActivity, a: PeerActivity): void {
  into.connections += a.connections;
  into.retransmits += a.retransmits;
  into.resets += a.resets;
}
