/**
 * Retransmissions and resets per peer (remote address) since the agent started, for /metrics'
 * per-peer counters. Bounded: at most `capacity` addresses are kept by name; events of any
 * address beyond them are added to "other" at once, so a scan from a million forged sources
 * costs one entry, not a million.
 */
import { OTHER_KEY } from '../../model/agent-event.js';

export interface PeerEventTotals {
  retransmits: number;
  resets: number;
}

export type PeerEventField = keyof PeerEventTotals;

export class PeerTotals {
  private readonly byPeer = new Map<string, PeerEventTotals>();

  constructor(private readonly capacity = 10_000) {}

  add(peer: string, field: PeerEventField, n = 1): void {
    let t = this.byPeer.get(peer);
    if (t === undefined) {
      const key = this.byPeer.size >= this.capacity ? OTHER_KEY : peer;
      t = this.byPeer.get(key);
      if (t === undefined) {
        t = { retransmits: 0, resets: 0 };
        this.byPeer.set(key, t);
      }
    }
    t[field] += n;
  }

  /** Every kept address (and "other" when the capacity overflowed), as they stand. */
  get entries(): ReadonlyMap<string, Readonly<PeerEventTotals>> {
    return this.byPeer;
  }
}
