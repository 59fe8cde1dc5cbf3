/**
 * What a capture's analysis hands to the diagnosis engine besides its report: the aggregates
 * across connections that the rules of src/diagnose judge (SYNs per service, data and
 * retransmissions per peer, zero-window stalls, ICMP errors). The analysis itself draws no
 * conclusions: a capture's findings come from the same rules, with the same ids, as
 * `tcpdiag diagnose` (src/diagnose/capture-facts.ts builds their facts from these).
 */
import type { IcmpErrorKind } from '../../model/icmp.js';

/** One group of ICMP errors: the same error, from the same sender, about the same destination. */
export interface IcmpInput {
  kind: IcmpErrorKind;
  name: string;
  family: 4 | 6;
  type: number;
  code: number;
  /** The MTU the error reports (-1: none). */
  mtu: number;
  /** Who sent the error (a router, a firewall, the destination host). */
  from: string;
  /** The quoted segments' destination, `address:port` (IPv6 bracketed). */
  server: string;
  /** Some of the hosts whose segments were refused. */
  senders: string[];
  count: number;
  /** Largest MSS in use on the connections concerned (-1: unknown). */
  mss: number;
  /** Capture time of the first of them, ms since the epoch. */
  firstMs: number;
}

export interface CaptureInputs {
  services: Array<{ address: string; port: number; syn: number; completed: number; refused: number; sources: number; sourcePorts: number }>;
  /** Data segments toward each peer and their retransmissions (SYN resends are not data). */
  peers: Array<{ address: string; dataSegments: number; retransmissions: number }>;
  stalls: Array<{ id: number; client: string; server: string; stallMs: number; zeroWindows: number }>;
  peakSynPerSecond: number;
  icmp: Array<IcmpInput & { connectionIds: number[] }>;
}
