/**
 * Per-peer series, only with agent.metrics_peer_labels (off by default):
 * - tcpdiag_peer_connections{peer}: sockets with that remote address in the last socket table,
 *   any state but LISTEN;
 * - tcpdiag_peer_retransmits_total{peer}, tcpdiag_peer_resets_total{peer}: retransmissions
 *   that went out and resets (sent and received) with that peer, from the kernel events since
 *   the agent started (absent while the event collector does not run, like the other event series).
 * The peers are the metrics_top_peers busiest (analysis/peer-activity.ts), each block of
 * metrics_peer_prefixes, and "other" for the rest: at most top + blocks + 1 series per metric,
 * however many addresses the host talks to. A peer that enters the named set takes its total
 * out of "other", which rate() over other reads as a counter reset; sum() over every peer stays whole.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Cidr } from '../../model/address.js';
import type { TcpSocket } from '../../model/socket.js';
import type { PeerEventTotals } from '../../analysis/events/peer-totals.js';
import { connectionsByPeer, peerActivity } from '../../analysis/peer-activity.js';

export interface PeerSnapshot {
  /** The last socket table (null before the first). */
  readonly sockets: readonly TcpSocket[] | null;
  /** Event totals per peer; null while the event collector does not run. */
  readonly events: ReadonlyMap<string, Readonly<PeerEventTotals>> | null;
}

export interface PeerMetricsOptions {
  readonly topPeers: number;
  readonly prefixes: readonly Cidr[];
}

export function registerPeerMetrics(registry: Registry, snapshot: () => PeerSnapshot, options: PeerMetricsOptions): void {
  // The agent replaces its socket table (every sample interval, or never while nothing moves)
  // rather than changing it: the count per peer is worked out once per table, not per scrape.
  let counted: { readonly table: readonly TcpSocket[]; readonly byPeer: Map<string, number> } | null = null;
  const connectionsOf = (table: readonly TcpSocket[]): Map<string, number> => {
    if (counted?.table !== table) counted = { table, byPeer: connectionsByPeer(table) };
    return counted.byPeer;
  };
  const retransmits = new Counter({ name: 'tcpdiag_peer_retransmits_total', help: `TCP retransmissions that went out to a peer, from kernel events (the ${options.topPeers} busiest peers, configured blocks, "other")`, labelNames: ['peer'], registers: [] });
  const resets = new Counter({ name: 'tcpdiag_peer_resets_total', help: 'TCP resets sent to or received from a peer, from kernel events (the same peers)', labelNames: ['peer'], registers: [] });
  // One ranking per scrape for all three: the gauge is registered first, and the registry
  // collects metrics in registration order (prom-client 15, lib/registry.js), so its collect()
  // sets the two counters just before they are read.
  new Gauge({
    name: 'tcpdiag_peer_connections',
    help: `TCP sockets by remote address, any state but LISTEN (the ${options.topPeers} busiest peers, configured blocks, "other" for the rest)`,
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      this.reset();
      retransmits.reset();
      resets.reset();
      const s = snapshot();
      if (s.sockets === null && s.events === null) return;
      for (const row of peerActivity(s.sockets === null ? null : connectionsOf(s.sockets), s.events, options)) {
        if (s.sockets !== null) this.set({ peer: row.peer }, row.connections);
        if (s.events !== null) {
          retransmits.inc({ peer: row.peer }, row.retransmits);
          resets.inc({ peer: row.peer }, row.resets);
        }
      }
    },
  });
  registry.registerMetric(retransmits);
  registry.registerMetric(resets);
}
