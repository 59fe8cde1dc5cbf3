/**
 * One TCP connection (Wireshark's "stream", Zeek's "conn"): the sequence state of both
 * directions, counters, the Zeek history and conn_state, RTT samples.
 *
 * Side A is the sender of the connection's first packet; the client (Zeek's originator) is the
 * sender of the first SYN, or the receiver of a SYN-ACK when the SYN was not captured, or else A.
 */
import { BoundedStats } from './stats.js';
import { ConnSeqState, FlowSeqState } from './seq-analysis.js';
import type { ConnectionReport, EndpointJson } from './report-types.js';

/** Zeek history letters (base/protocols/conn/main.zeek): one bit per letter and side. */
export const H_SYN = 1; // S / s
export const H_SYNACK = 2; // H / h
export const H_ACK = 4; // A / a
export const H_DATA = 8; // D / d
export const H_FIN = 16; // F / f
export const H_RST = 32; // R / r
export const H_RETRANS = 64; // T / t
export const H_ZERO_WINDOW = 128; // W / w
const HISTORY_LETTERS: ReadonlyArray<[number, string]> = [
  [H_SYN, 's'], [H_SYNACK, 'h'], [H_ACK, 'a'], [H_DATA, 'd'], [H_FIN, 'f'], [H_RST, 'r'], [H_RETRANS, 't'], [H_ZERO_WINDOW, 'w'],
];

/** Pending data segments kept per direction for RTT samples (data -> the ACK that covers it). */
const RTT_PENDING_MAX = 32;

export class Side {
  readonly seq = new FlowSeqState();
  packets = 0;
  payloadBytes = 0;
  fins = 0;
  resets = 0;
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  timestamps = false;
  /** Bits of H_* in the order first seen, plus the order string itself. */
  historyBits = 0;
  zeroWindowSinceSec = -1;
  zeroWindowSinceNsec = 0;
  maxZeroWindowNs = 0;
  /**
   * Ring of [endSeq, sec, nsec] for data segments awaiting an ACK (RTT sampling, Karn's rule).
   * A typed array allocated once: no garbage per packet.
   */
  readonly pending = new Float64Array(RTT_PENDING_MAX * 3);
  pendingHead = 0;
  pendingCount = 0;

  /** Remember a segment ending at `endSeq`, sent at sec/nsec (drops the oldest when full). */
  addPending(endSeq: number, sec: number, nsec: number): void {
    if (this.pendingCount === RTT_PENDING_MAX) {
      this.pendingHead = (this.pendingHead + 1) % RTT_PENDING_MAX;
      this.pendingCount--;
    }
    const at = ((this.pendingHead + this.pendingCount) % RTT_PENDING_MAX) * 3;
    this.pending[at] = endSeq;
    this.pending[at + 1] = sec;
    this.pending[at + 2] = nsec;
    this.pendingCount++;
  }

  /**
   * An ACK up to `ack` arrived: drop the segments it covers and return the RTT in ns to the
   * newest of them, or -1 when it covers none.
   */
  ackPending(ack: number, sec: number, nsec: number): number {
    let rttNs = -1;
    while (this.pendingCount > 0) {
      const at = this.pendingHead * 3;
      if (((ack - this.pending[at]!) | 0) < 0) break;
      rttNs = (sec - this.pending[at + 1]!) * 1e9 + (nsec - this.pending[at + 2]!);
      this.pendingHead = (this.pendingHead + 1) % RTT_PENDING_MAX;
      this.pendingCount--;
    }
    return rttNs;
  }

  reset(): void {
    this.seq.reset();
    this.packets = 0;
    this.payloadBytes = 0;
    this.fins = 0;
    this.resets = 0;
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.timestamps = false;
    this.historyBits = 0;
    this.zeroWindowSinceSec = -1;
    this.zeroWindowSinceNsec = 0;
    this.maxZeroWindowNs = 0;
    this.pendingHead = 0;
    this.pendingCount = 0;
  }
}

export class Connection {
  readonly seqState = new ConnSeqState();
  readonly a = new Side();
  readonly b = new Side();
  /** true when side A is the client (originator). Decided by the first SYN / SYN-ACK. */
  aIsClient = true;
  /** Numeric (IPv4) or string (IPv6) key of side A's address and port, to tell directions apart. */
  aKey: number | string = 0;
  bKey: number | string = 0;
  roleDecided = false;
  history = '';
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  synSec = -1;
  synNsec = 0;
  synCount = 0;
  handshakeDone = false;
  handshakeRttNs = -1;
  resetBy: 'a' | 'b' | null = null;
  closed = false;
  /** Already in the analyser's queue of closed connections. */
  queuedClosed = false;
  retransmissions = 0;
  fastRetransmissions = 0;
  spuriousRetransmissions = 0;
  duplicateAcks = 0;
  zeroWindows = 0;
  outOfOrder = 0;
  lostSegments = 0;
  keepAlives = 0;
  readonly rtt = new BoundedStats(64);

  id = 0;
  family: 4 | 6 = 4;
  aAddress = '';
  aPort = 0;
  bAddress = '';
  bPort = 0;

  constructor(id: number, family: 4 | 6, aAddress: string, aPort: number, bAddress: string, bPort: number, sec: number, nsec: number) {
    this.firstSec = this.lastSec = sec;
    this.firstNsec = this.lastNsec = nsec;
    this.init(id, family, aAddress, aPort, bAddress, bPort, sec, nsec);
  }

  /**
   * (Re)initialise, so the analyser can reuse retired connections: on captures with millions of
   * connections this keeps them out of the old generation as garbage, and memory flat.
   */
  init(id: number, family: 4 | 6, aAddress: string, aPort: number, bAddress: string, bPort: number, sec: number, nsec: number): this {
    this.id = id;
    this.family = family;
    this.aAddress = aAddress;
    this.aPort = aPort;
    this.bAddress = bAddress;
    this.bPort = bPort;
    this.seqState.reset();
    this.a.reset();
    this.b.reset();
    this.aIsClient = true;
    this.aKey = 0;
    this.bKey = 0;
    this.roleDecided = false;
    this.history = '';
    this.firstSec = this.lastSec = sec;
    this.firstNsec = this.lastNsec = nsec;
    this.synSec = -1;
    this.synNsec = 0;
    this.synCount = 0;
    this.handshakeDone = false;
    this.handshakeRttNs = -1;
    this.resetBy = null;
    this.closed = false;
    this.queuedClosed = false;
    this.retransmissions = 0;
    this.fastRetransmissions = 0;
    this.spuriousRetransmissions = 0;
    this.duplicateAcks = 0;
    this.zeroWindows = 0;
    this.outOfOrder = 0;
    this.lostSegments = 0;
    this.keepAlives = 0;
    this.rtt.reset();
    return this;
  }

  /** Record a Zeek history letter for side A (upper case when A is the client) or B. */
  mark(fromA: boolean, bit: number): void {
    const side = fromA ? this.a : this.b;
    if ((side.historyBits & bit) !== 0) return;
    side.historyBits |= bit;
    const entry = HISTORY_LETTERS.find(([b]) => b === bit);
    if (entry === undefined) return;
    const fromClient = fromA === this.aIsClient;
    this.history += fromClient ? entry[1].toUpperCase() : entry[1];
  }

  /** Decide who the client is, once: SYN sender, or SYN-ACK receiver. Re-cases the history. */
  decideRole(aIsClient: boolean): void {
    if (this.roleDecided) return;
    this.roleDecided = true;
    if (aIsClient !== this.aIsClient) {
      this.aIsClient = aIsClient;
      this.history = [...this.history].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
    }
  }

  get client(): Side {
    return this.aIsClient ? this.a : this.b;
  }

  get server(): Side {
    return this.aIsClient ? this.b : this.a;
  }

  /** Zeek's conn_state from what each side did (base/protocols/conn/main.zeek, conn_state docs). */
  connState(): string {
    const c = this.client.historyBits;
    const s = this.server.historyBits;
    const clientSyn = (c & H_SYN) !== 0;
    const serverSynAck = (s & H_SYNACK) !== 0;
    const clientRst = this.client.resets > 0;
    const serverRst = this.server.resets > 0;
    const firstRstByClient = this.resetBy !== null && (this.resetBy === 'a') === this.aIsClient;
    const clientFin = this.client.fins > 0;
    const serverFin = this.server.fins > 0;
    if (!clientSyn && !serverSynAck) return 'OTH';
    if (clientSyn && !serverSynAck) {
      if (serverRst) return 'REJ';
      if (clientRst) return 'RSTOS0';
      if (clientFin) return 'SH';
      return 'S0';
    }
    if (!clientSyn && serverSynAck) {
      if (serverRst) return 'RSTRH';
      if (serverFin) return 'SHR';
      return 'OTH';
    }
    // Established (SYN and SYN-ACK seen).
    if (clientRst || serverRst) return firstRstByClient ? 'RSTO' : 'RSTR';
    if (clientFin && serverFin) return 'SF';
    if (clientFin) return 'S2';
    if (serverFin) return 'S3';
    return 'S1';
  }

  toReport(): ConnectionReport {
    const client = this.client;
    const server = this.server;
    const durationNs = (this.lastSec - this.firstSec) * 1e9 + (this.lastNsec - this.firstNsec);
    const clientEp: EndpointJson = this.aIsClient ? { address: this.aAddress, port: this.aPort } : { address: this.bAddress, port: this.bPort };
    const serverEp: EndpointJson = this.aIsClient ? { address: this.bAddress, port: this.bPort } : { address: this.aAddress, port: this.aPort };
    const orNull = (v: number): number | null => (v < 0 ? null : v);
    const resetBy = this.resetBy === null ? null : (this.resetBy === 'a') === this.aIsClient ? 'client' : 'server';
    return {
      id: this.id,
      family: this.family,
      client: clientEp,
      server: serverEp,
      state: this.connState(),
      history: this.history,
      start: isoTime(this.firstSec, this.firstNsec),
      durationMs: round3(durationNs / 1e6),
      packets: { client: client.packets, server: server.packets },
      payloadBytes: { client: client.payloadBytes, server: server.payloadBytes },
      handshakeRttMs: this.handshakeRttNs < 0 ? null : round3(this.handshakeRttNs / 1e6),
      rttMs: this.rtt.summary(3),
      mss: { client: orNull(client.mss), server: orNull(server.mss) },
      windowScale: { client: orNull(client.windowScale), server: orNull(server.windowScale) },
      sackPermitted: client.sackPermitted && server.sackPermitted,
      timestamps: client.timestamps && server.timestamps,
      retransmissions: this.retransmissions,
      fastRetransmissions: this.fastRetransmissions,
      spuriousRetransmissions: this.spuriousRetransmissions,
      duplicateAcks: this.duplicateAcks,
      zeroWindows: this.zeroWindows,
      outOfOrder: this.outOfOrder,
      lostSegments: this.lostSegments,
      keepAlives: this.keepAlives,
      resets: { client: client.resets, server: server.resets },
      fins: { client: client.fins, server: server.fins },
      resetBy,
      zeroWindowStallMs: round3(Math.max(client.maxZeroWindowNs, server.maxZeroWindowNs) / 1e6),
    };
  }
}

export { RTT_PENDING_MAX };

export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** ISO 8601 with microseconds (what a capture's timestamps can carry that people read). */
export function isoTime(secIn: number, nsecIn: number): string {
  // Fractions past a second (a hostile or odd file) roll over into the seconds.
  const carry = Math.floor(nsecIn / 1e9);
  const sec = secIn + carry;
  const nsec = nsecIn - carry * 1e9;
  if (!Number.isFinite(sec) || Math.abs(sec) > 8.64e9) return new Date(0).toISOString();
  const base = new Date(sec * 1000).toISOString(); // 2026-01-01T00:00:00.000Z
  return `${base.slice(0, 19)}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}Z`;
}
