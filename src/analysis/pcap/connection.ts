/**
 * One TCP stream (Wireshark's tcp.stream: the unit of its sequence analysis) and the connection
 * record currently open on it (a Zeek conn.log line: the unit of the listing). Usually one
 * record per stream; Zeek starts a new record where Wireshark does not, after a close or a reset
 * (any new SYN), after its timers dropped the connection, so a stream can hold several in turn.
 *
 * Side A is the sender of the stream's first packet. The record's client is Zeek's originator.
 */
import { encapsulationNames } from '../../model/packet.js';
import { icmpErrorInfo } from '../../model/icmp.js';
import { BoundedStats, RTT_RESERVOIR } from './stats.js';
import { ConnSeqState, FlowSeqState } from './seq-analysis.js';
import { ZeekConn } from './zeek-conn.js';
import type { ConnectionReport, EndpointJson, IcmpErrorJson } from './report-types.js';

/** Pending data segments kept per direction for RTT samples (data -> the ACK that covers it). */
const RTT_PENDING_MAX = 32;
/** Distinct ICMP errors (type, code, MTU) kept per connection. */
const MAX_ICMP_KINDS = 16;

interface IcmpTally {
  family: 4 | 6;
  type: number;
  code: number;
  mtu: number;
  count: number;
}

export class Side {
  /** Stream state: survives a new record on the same stream. */
  readonly seq = new FlowSeqState();
  /**
   * Ring of [endSeq, sec, nsec] for data segments awaiting an ACK (RTT sampling, Karn's rule).
   * A typed array allocated once: no garbage per packet.
   */
  readonly pending = new Float64Array(RTT_PENDING_MAX * 3);
  pendingHead = 0;
  pendingCount = 0;
  // Record state.
  packets = 0;
  payloadBytes = 0;
  fins = 0;
  resets = 0;
  /** Largest payload seen in one segment (what the sender put in a segment, for MTU findings). */
  maxSegment = 0;
  sentSyn = false;
  sentSynAck = false;
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  timestamps = false;
  zeroWindowSinceSec = -1;
  zeroWindowSinceNsec = 0;
  maxZeroWindowNs = 0;

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

  /** Forget the stream too. */
  reset(): void {
    this.seq.reset();
    this.pendingHead = 0;
    this.pendingCount = 0;
    this.resetRecord();
  }

  resetRecord(): void {
    this.packets = 0;
    this.payloadBytes = 0;
    this.fins = 0;
    this.resets = 0;
    this.maxSegment = 0;
    this.sentSyn = false;
    this.sentSynAck = false;
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.timestamps = false;
    this.zeroWindowSinceSec = -1;
    this.zeroWindowSinceNsec = 0;
    this.maxZeroWindowNs = 0;
  }
}

export class Connection {
  readonly seqState = new ConnSeqState();
  readonly a = new Side();
  readonly b = new Side();
  readonly zeek = new ZeekConn();
  /** Numeric (IPv4) or string (IPv6) key of side A's address and port, to tell directions apart. */
  aKey: number | string = 0;
  bKey: number | string = 0;
  /** Wireshark's tcp.stream number. */
  stream = 0;
  family: 4 | 6 = 4;
  aAddress = '';
  aPort = 0;
  bAddress = '';
  bPort = 0;
  /** FIN both ways, or a RST: the stream is forgotten after TIME-WAIT (see the analyser). */
  closed = false;
  /** Already in the analyser's queue of closed connections. */
  queuedClosed = false;
  lastSec: number;
  lastNsec: number;

  // The open record.
  /** A record is open (false between a Zeek expiry and the next packet). */
  recordOpen = false;
  id = 0;
  firstSec: number;
  firstNsec: number;
  synSec = -1;
  synNsec = 0;
  synCount = 0;
  handshakeDone = false;
  handshakeRttNs = -1;
  resetBy: 'a' | 'b' | null = null;
  retransmissions = 0;
  fastRetransmissions = 0;
  spuriousRetransmissions = 0;
  duplicateAcks = 0;
  zeroWindows = 0;
  outOfOrder = 0;
  lostSegments = 0;
  keepAlives = 0;
  encap = 0;
  icmp: IcmpTally[] | null = null;
  readonly rtt = new BoundedStats(RTT_RESERVOIR);

  constructor(stream: number, family: 4 | 6, aAddress: string, aPort: number, bAddress: string, bPort: number, sec: number, nsec: number) {
    this.firstSec = this.lastSec = sec;
    this.firstNsec = this.lastNsec = nsec;
    this.init(stream, family, aAddress, aPort, bAddress, bPort, sec, nsec);
  }

  /**
   * (Re)initialise, so the analyser can reuse retired connections: on captures with millions of
   * connections this keeps them out of the old generation as garbage, and memory flat.
   */
  init(stream: number, family: 4 | 6, aAddress: string, aPort: number, bAddress: string, bPort: number, sec: number, nsec: number): this {
    this.stream = stream;
    this.family = family;
    this.aAddress = aAddress;
    this.aPort = aPort;
    this.bAddress = bAddress;
    this.bPort = bPort;
    this.seqState.reset();
    this.a.reset();
    this.b.reset();
    this.aKey = 0;
    this.bKey = 0;
    this.closed = false;
    this.queuedClosed = false;
    this.lastSec = sec;
    this.lastNsec = nsec;
    this.recordOpen = false;
    return this;
  }

  /**
   * Open a record at this packet: Zeek's originator is side A (`origIsA`) or B, `flipped` when
   * Zeek took the first packet's receiver for it.
   */
  openRecord(id: number, origIsA: boolean, flipped: boolean, sec: number, nsec: number): void {
    this.recordOpen = true;
    this.id = id;
    this.firstSec = sec;
    this.firstNsec = nsec;
    this.a.resetRecord();
    this.b.resetRecord();
    this.zeek.init(origIsA, flipped, sec + nsec / 1e9);
    this.synSec = -1;
    this.synNsec = 0;
    this.synCount = 0;
    this.handshakeDone = false;
    this.handshakeRttNs = -1;
    this.resetBy = null;
    this.retransmissions = 0;
    this.fastRetransmissions = 0;
    this.spuriousRetransmissions = 0;
    this.duplicateAcks = 0;
    this.zeroWindows = 0;
    this.outOfOrder = 0;
    this.lostSegments = 0;
    this.keepAlives = 0;
    this.encap = 0;
    if (this.icmp !== null) this.icmp.length = 0;
    this.rtt.reset();
  }

  /** Zeek's originator is side A. */
  get aIsClient(): boolean {
    return this.zeek.orig === this.zeek.a;
  }

  get client(): Side {
    return this.aIsClient ? this.a : this.b;
  }

  get server(): Side {
    return this.aIsClient ? this.b : this.a;
  }

  /** Count an ICMP error that quotes one of this connection's segments. */
  addIcmpError(family: 4 | 6, type: number, code: number, mtu: number): void {
    const list = (this.icmp ??= []);
    for (const e of list) {
      if (e.type === type && e.code === code && e.mtu === mtu && e.family === family) {
        e.count++;
        return;
      }
    }
    if (list.length < MAX_ICMP_KINDS) list.push({ family, type, code, mtu, count: 1 });
  }

  icmpReport(): IcmpErrorJson[] {
    if (this.icmp === null) return [];
    return this.icmp.map((e) => {
      const out: IcmpErrorJson = { type: e.type, code: e.code, name: icmpErrorInfo(e.family, e.type, e.code).name, count: e.count };
      if (e.mtu >= 0) out.nextHopMtu = e.mtu;
      return out;
    });
  }

  connState(): string {
    return this.zeek.connState();
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
      stream: this.stream,
      family: this.family,
      client: clientEp,
      server: serverEp,
      state: this.connState(),
      history: this.zeek.history,
      encapsulation: encapsulationNames(this.encap),
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
      icmpErrors: this.icmpReport(),
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
