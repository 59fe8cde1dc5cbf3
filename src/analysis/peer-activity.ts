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

/** Sockets by remote address, any state but LISTEN (a listener has no peer). */
export function connectionsByPeer(sockets: readonly TcpSocket[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of sockets) {
    if (s.state === 'LISTEN') continue;
    const peer = peerAddress(s.remote.address);
    out.set(peer, (out.get(peer) ?? 0) + 1);
  }
  return out;
}

const NO_EVENTS: Readonly<PeerEventTotals> = { retransmits: 0, resets: 0 };

/**
 * The rows to export: at most topPeers named peers (busiest first), then every configured block,
 * then "other" (always, possibly all zeros: series that come and go with the ranking would read
 * as gaps). One pass over the peers with a top-K kept in order (K <= 200, METRICS_TOP_PEERS):
 * measured on 60,000 peers, a full sort and an object per peer cost a scrape ~90 ms.
 */
export function peerActivity(connections: ReadonlyMap<string, number> | null, events: ReadonlyMap<string, Readonly<PeerEventTotals>> | null, options: PeerActivityOptions): PeerActivity[] {
  const blocks = options.prefixes.map((cidr) => ({ row: { peer: cidr.text, connections: 0, retransmits: 0, resets: 0 }, cidr }));
  const other: PeerActivity = { peer: OTHER_KEY, connections: 0, retransmits: 0, resets: 0 };
  const total: PeerActivity = { peer: '', connections: 0, retransmits: 0, resets: 0 };
  const k = options.topPeers;
  // Best first: [score, peer]; a candidate enters when it beats the last.
  const top: { score: number; peer: string }[] = [];
  const better = (score: number, peer: string, than: { score: number; peer: string }): boolean => score > than.score || (score === than.score && peer < than.peer);
  const consider = (peer: string, c: number, e: Readonly<PeerEventTotals>): void => {
    if (peer === OTHER_KEY) {
      add(other, c, e);
      return;
    }
    if (blocks.length > 0) {
      const block = blocks.find((b) => cidrContains(b.cidr, peer));
      if (block !== undefined) {
        add(block.row, c, e);
        return;
      }
    }
    add(total, c, e);
    const score = c + e.retransmits + e.resets;
    if (top.length === k && !better(score, peer, top[k - 1]!)) return;
    let i = top.length === k ? k - 1 : top.length;
    if (top.length === k) top.pop();
    while (i > 0 && better(score, peer, top[i - 1]!)) i--;
    top.splice(i, 0, { score, peer });
  };
  for (const [peer, c] of connections ?? []) consider(peer, c, events?.get(peer) ?? NO_EVENTS);
  for (const [peer, e] of events ?? []) {
    if (connections?.has(peer) !== true) consider(peer, 0, e);
  }
  const named = top.map(({ peer }) => {
    const e = events?.get(peer) ?? NO_EVENTS;
    return { peer, connections: connections?.get(peer) ?? 0, retransmits: e.retransmits, resets: e.resets };
  });
  // Whatever was not named (and not in a block) is "other".
  other.connections += total.connections - named.reduce((n, r) => n + r.connections, 0);
  other.retransmits += total.retransmits - named.reduce((n, r) => n + r.retransmits, 0);
  other.resets += total.resets - named.reduce((n, r) => n + r.resets, 0);
  return [...named, ...blocks.map((b) => b.row), other];
}

function add(into: PeerActivity, connections: number, e: Readonly<PeerEventTotals>): void {
  into.connections += connections;
  into.retransmits += e.retransmits;
  into.resets += e.resets;
}
