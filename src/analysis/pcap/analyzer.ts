/**
 * Offline (and live) TCP analysis of a packet stream: streams keyed like Wireshark's
 * conversations with per-packet verdicts from seq-analysis.ts, connection records with Zeek's
 * conn_state and history (zeek-conn.ts), ICMP errors attributed to the connection they quote,
 * a per-second timeline, top talkers, and the aggregates the diagnosis rules judge (no findings of
 * its own: src/diagnose draws them). Feed it packets with `add()`, then `finish()`.
 *
 * Memory is bounded by live streams: closed streams idle for CLOSED_EXPIRY_S and any stream
 * idle for IDLE_EXPIRY_S (capture time) are folded into the totals and dropped; the report lists
 * at most `maxConnections` connections (the most troubled first).
 */
import { formatIpv6 } from '../../model/address.js';
import { decodeFrame, newDecodedTcp, TH_ACK, TH_FIN, TH_RST, TH_SYN } from './decode.js';
import type { DecodedTcp } from './decode.js';
import type { RawPacket } from '../../model/packet.js';
import { Connection, isoTime, round3 } from './connection.js';
import type { Side } from './connection.js';
import { ConnTable } from './conn-table.js';
import { CaptureAggregates } from './aggregates.js';
import type { CaptureInputs } from './capture-inputs.js';
import type { AnalysisReport, AnalysisSummary, ConnectionReport, FailedHandshake, TimelineBucket } from './report-types.js';
import {
  A_ANY_RETRANSMISSION, A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_LOST_PACKET, A_OUT_OF_ORDER,
  A_SPURIOUS_RETRANSMISSION, A_ZERO_WINDOW, analyzeSegment, noteHandshakeTiming,
} from './seq-analysis.js';
import { BoundedStats, RTT_RESERVOIR } from './stats.js';
import { flipsOnFirstPacket } from './zeek-conn.js';

/**
 * A closed stream (FIN both ways, or RST) is forgotten after TIME-WAIT's 60 s of capture time
 * (TCP_TIMEWAIT_LEN, include/net/tcp.h): later packets on its ports are a new stream then.
 */
const CLOSED_EXPIRY_S = 60;
/**
 * At most this many closed streams wait out their 60 s; beyond it the oldest are folded in
 * early, so memory stays bounded on captures with very high connection rates. (Wireshark keeps
 * every conversation; a stray retransmission after this point would start a new stream.)
 */
const MAX_CLOSED_RETAINED = 4096;
/** Any stream silent for 15 minutes of capture time is forgotten. */
const IDLE_EXPIRY_S = 900;
/** Sweep for expired streams every this many packets. */
const SWEEP_EVERY_PACKETS = 65_536;
const MAX_FAILED_LISTED = 200;

export interface AnalyzerOptions {
  /** How many connections the report lists (the most interesting ones). */
  readonly maxConnections?: number;
  readonly topTalkers?: number;
  /**
   * Called for every packet with its analysis flags (A_*), e.g. to print a line. `tcp` is the
   * decoded segment, or for an ICMP error (`icmp` true) the segment it quotes; null otherwise.
   */
  readonly onVerdict?: (packet: RawPacket<Buffer>, tcp: DecodedTcp | null, flags: number, icmp: boolean) => void;
}

export class TcpAnalyzer {
  private readonly tcp = newDecodedTcp();
  private readonly conns = new ConnTable();
  private nextStream = 0;
  private nextConnection = 0;
  packets = 0;
  tcpPackets = 0;
  bytes = 0;
  private firstSec = -1;
  private firstNsec = 0;
  private lastSec = 0;
  private lastNsec = 0;
  private sinceSweep = 0;
  private readonly summary: AnalysisSummary = {
    connections: 0, streams: 0, syn: 0, synAck: 0, fin: 0, rst: 0, retransmissions: 0, fastRetransmissions: 0,
    spuriousRetransmissions: 0, duplicateAcks: 0, zeroWindows: 0, outOfOrder: 0, lostSegments: 0, keepAlives: 0,
    handshakesCompleted: 0, handshakesFailed: 0, payloadBytes: 0, icmpErrors: 0,
  };
  private readonly connStates: Record<string, number> = {};
  private readonly agg = new CaptureAggregates();
  private readonly listed: ConnectionReport[] = [];
  private readonly failed: FailedHandshake[] = [];
  private readonly handshakeRtt = new BoundedStats(RTT_RESERVOIR);
  private readonly dataRtt = new BoundedStats(RTT_RESERVOIR);
  /** The aggregates the diagnosis rules judge, once finish() ran (src/diagnose/capture-facts.ts). */
  captureInputs: CaptureInputs | null = null;
  private readonly maxConnections: number;
  /** Closed streams in the order they closed (a queue; head index below). */
  private closedQueue: Connection[] = [];
  private closedHead = 0;
  /** Retired streams kept for reuse (see Connection.init). */
  private readonly pool: Connection[] = [];
  /** Interest of the least interesting listed connection once the listing is full. */
  private listedFloor = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: AnalyzerOptions = {}) {
    this.maxConnections = options.maxConnections ?? 1000;
  }

  /** Analyse one captured frame. */
  add(p: RawPacket<Buffer>): void {
    this.packets++;
    this.bytes += p.origLen;
    const sec = p.tsSec;
    const nsec = p.tsNsec;
    if (this.firstSec < 0) {
      this.firstSec = sec;
      this.firstNsec = nsec;
    }
    this.lastSec = sec;
    this.lastNsec = nsec;
    const bucket = this.agg.bucket(sec);
    if (bucket !== null) {
      bucket.packets++;
      bucket.bytes += p.origLen;
    }
    const t = this.tcp;
    const kind = decodeFrame(p.linkType, p.buf, p.offset, p.capLen, p.origLen, t);
    if (kind === 'icmp') {
      this.onIcmpError(t, sec, nsec, bucket);
      this.options.onVerdict?.(p, t, 0, true);
      return;
    }
    if (kind !== 'tcp') {
      this.options.onVerdict?.(p, null, 0, false);
      return;
    }
    this.tcpPackets++;
    const flags = t.flags;
    const srcKey = t.family === 4 ? t.src4 * 65536 + t.srcPort : `${t.src6}.${t.srcPort}`;
    const dstKey = t.family === 4 ? t.dst4 * 65536 + t.dstPort : `${t.dst6}.${t.dstPort}`;
    let conn = this.conns.get(srcKey, dstKey);
    let fromA = true;
    // A header shorter than 20 bytes, longer than the segment or not all captured: Zeek drops
    // the packet; what tshark does with each is in onSegment.
    const usable = !t.shortHeader && !t.headerCut && t.headerLen >= 20;
    if (conn !== undefined) {
      fromA = conn.aKey === srcKey;
      const fwd = fromA ? conn.a : conn.b;
      // A SYN with a new ISN on a known 4-tuple is a new stream (port reuse), as Wireshark does.
      // (tshark decides this before it looks at the header length.)
      if ((flags & (TH_SYN | TH_ACK)) === TH_SYN && fwd.seq.baseSeqSet && t.seq !== fwd.seq.baseSeq) {
        this.retire(conn);
        this.conns.delete(conn);
        conn = undefined;
      }
    }
    if (conn === undefined) {
      conn = this.newStream(t, srcKey, dstKey, sec, nsec);
      fromA = true;
    }
    const now = sec + nsec / 1e9;
    if (conn.recordOpen && usable && (conn.zeek.expiredBy(now) || ((flags & TH_SYN) !== 0 && conn.zeek.isReuse(flags, t.seq)))) this.retire(conn);
    if (!conn.recordOpen) {
      const flipped = flipsOnFirstPacket(flags, t.srcPort, t.dstPort);
      conn.openRecord(this.nextConnection++, fromA !== flipped, flipped, sec, nsec);
    }
    conn.encap |= t.encap;
    this.onSegment(conn, fromA, t, p, sec, nsec, now, bucket, usable);
    if (conn.closed && !conn.queuedClosed) {
      conn.queuedClosed = true;
      this.closedQueue.push(conn);
      if (this.closedQueue.length - this.closedHead > MAX_CLOSED_RETAINED) this.expireClosed(sec);
    }
    if (++this.sinceSweep >= SWEEP_EVERY_PACKETS) this.sweep();
  }

  private newStream(t: DecodedTcp, srcKey: number | string, dstKey: number | string, sec: number, nsec: number): Connection {
    const srcText = formatAddress(t, true);
    const dstText = formatAddress(t, false);
    const reused = this.pool.pop();
    const conn = reused === undefined
      ? new Connection(this.nextStream++, t.family, srcText, t.srcPort, dstText, t.dstPort, sec, nsec)
      : reused.init(this.nextStream++, t.family, srcText, t.srcPort, dstText, t.dstPort, sec, nsec);
    conn.aKey = srcKey;
    conn.bKey = dstKey;
    this.conns.add(conn);
    return conn;
  }

  /** An ICMP error quoting a TCP segment: counted apart and attributed to its connection. */
  private onIcmpError(t: DecodedTcp, sec: number, nsec: number, bucket: TimelineBucket | null): void {
    this.summary.icmpErrors++;
    if (bucket !== null) bucket.icmpErrors++;
    const srcKey = t.family === 4 ? t.src4 * 65536 + t.srcPort : `${t.src6}.${t.srcPort}`;
    const dstKey = t.family === 4 ? t.dst4 * 65536 + t.dstPort : `${t.dst6}.${t.dstPort}`;
    const conn = this.conns.get(srcKey, dstKey);
    let mss = -1;
    let id = -1;
    if (conn !== undefined && conn.recordOpen) {
      conn.addIcmpError(t.icmpFamily, t.icmpType, t.icmpCode, t.icmpMtu);
      conn.lastSec = sec;
      conn.lastNsec = nsec;
      id = conn.id;
      // What the quoted segment's sender may put in one segment: the MSS its peer advertised,
      // or the largest segment it was seen sending.
      const senderIsA = conn.aKey === srcKey;
      const sender = senderIsA ? conn.a : conn.b;
      const receiver = senderIsA ? conn.b : conn.a;
      mss = receiver.mss >= 0 ? receiver.mss : sender.maxSegment > 0 ? sender.maxSegment : -1;
    }
    const from = t.icmpFamily === 4 ? formatV4(t.icmpFrom4) : formatIpv6(Buffer.from(t.icmpFrom6, 'hex'));
    const server = `${bracket(formatAddress(t, false))}:${t.dstPort}`;
    const sender = formatAddress(t, true);
    this.agg.addIcmp(t.icmpFamily, t.icmpType, t.icmpCode, t.icmpMtu, from, sender, server, id, mss, sec * 1000 + Math.floor(nsec / 1e6));
  }

  private onSegment(conn: Connection, fromA: boolean, t: DecodedTcp, p: RawPacket<Buffer>, sec: number, nsec: number, now: number, bucket: TimelineBucket | null, usable: boolean): void {
    const fwd: Side = fromA ? conn.a : conn.b;
    const rev: Side = fromA ? conn.b : conn.a;
    const flags = t.flags;
    conn.lastSec = sec;
    conn.lastNsec = nsec;
    fwd.packets++;
    if (t.shortHeader) {
      // tshark shows a short segment's flags but runs no sequence analysis on it.
      this.countFlags(conn, fromA, fwd, flags, bucket);
      this.options.onVerdict?.(p, t, 0, false);
      return;
    }
    const analysed = analyzeSegment(conn.seqState, fwd.seq, rev.seq, t.seq, t.ack, t.seglen, flags, t.window, sec, nsec);
    if (t.headerLen < 20) {
      // A bogus header length: Wireshark's analysis has already updated the sequence state, but
      // the dissector gives up before it shows flags or verdicts, so neither is counted here.
      this.options.onVerdict?.(p, t, 0, false);
      return;
    }
    // A header cut by the snaplen, or options the dissector throws on: the flags are shown, the
    // verdicts are not (the exception comes after the analysis).
    const ta = t.headerCut || t.optionsThrow ? 0 : analysed;
    noteHandshakeTiming(conn.seqState, flags, sec, nsec);
    fwd.payloadBytes += t.seglen;
    if (t.seglen > fwd.maxSegment) fwd.maxSegment = t.seglen;
    this.summary.payloadBytes += t.seglen;
    if (usable && !t.ipOverclaim && t.tcpOffset + t.headerLen <= p.offset + p.capLen) {
      // Zeek skips a segment whose header is not all captured (TCPAnalyzer::ExtractTCP_Header)
      // or whose IP length exceeds the frame (IP analyzer, truncated_IP_len); it takes the
      // payload length from the IP header even where a shorter encapsulation cut the packet.
      const zeekLen = t.tcpClaimed - t.headerLen;
      conn.zeek.process(fromA, flags, t.seq, t.ack, zeekLen, zeekLen === t.seglen ? t.payloadCaptured : Math.min(t.payloadCaptured, zeekLen), t.window, now);
    }

    const syn = (flags & TH_SYN) !== 0;
    const ack = (flags & TH_ACK) !== 0;
    if (syn) {
      if (t.mss >= 0) fwd.mss = t.mss;
      if (t.windowScale >= 0) fwd.windowScale = t.windowScale;
      if (t.sackPermitted) fwd.sackPermitted = true;
      if (t.timestamps) fwd.timestamps = true;
      if (!ack) {
        fwd.sentSyn = true;
        conn.synCount++;
        // The handshake RTT runs from the most recent SYN (a retransmitted one included), as
        // Wireshark's tcp.analysis.initial_rtt does (ts_mru_syn).
        if (!conn.handshakeDone) {
          conn.synSec = sec;
          conn.synNsec = nsec;
        }
      } else {
        fwd.sentSynAck = true;
      }
    } else if (ack && !conn.handshakeDone && fwd.sentSyn && rev.sentSynAck) {
      conn.handshakeDone = true;
      if (conn.synSec >= 0) {
        conn.handshakeRttNs = (sec - conn.synSec) * 1e9 + (nsec - conn.synNsec);
        this.handshakeRtt.add(conn.handshakeRttNs / 1e6);
      }
    }
    this.countFlags(conn, fromA, fwd, flags, bucket);

    // Zero-window stalls: how long a side kept its window shut.
    if (t.window === 0 && (flags & (TH_SYN | TH_FIN | TH_RST)) === 0) {
      if (fwd.zeroWindowSinceSec < 0) {
        fwd.zeroWindowSinceSec = sec;
        fwd.zeroWindowSinceNsec = nsec;
      }
      const stall = (sec - fwd.zeroWindowSinceSec) * 1e9 + (nsec - fwd.zeroWindowSinceNsec);
      if (stall > fwd.maxZeroWindowNs) fwd.maxZeroWindowNs = stall;
    } else if (t.window !== 0) {
      fwd.zeroWindowSinceSec = -1;
    }

    if (ta !== 0) this.count(conn, fromA, ta, bucket, t.seglen > 0);
    this.sampleRtt(conn, fwd, rev, t, ta, sec, nsec);
    this.options.onVerdict?.(p, t, ta, false);
  }

  /** SYN, SYN-ACK, FIN and RST counts, as tshark counts the flags of every segment it shows. */
  private countFlags(conn: Connection, fromA: boolean, fwd: Side, flags: number, bucket: TimelineBucket | null): void {
    const s = this.summary;
    if ((flags & TH_SYN) !== 0) {
      if ((flags & TH_ACK) === 0) {
        s.syn++;
        if (bucket !== null) bucket.syn++;
      } else {
        s.synAck++;
        if (bucket !== null) bucket.synAck++;
      }
    }
    if ((flags & TH_FIN) !== 0) {
      fwd.fins++;
      s.fin++;
      if (bucket !== null) bucket.fin++;
      if (conn.a.fins > 0 && conn.b.fins > 0) conn.closed = true;
    }
    if ((flags & TH_RST) !== 0) {
      fwd.resets++;
      s.rst++;
      if (bucket !== null) bucket.rst++;
      conn.resetBy ??= fromA ? 'a' : 'b';
      conn.closed = true;
    }
  }

  private count(conn: Connection, fromA: boolean, ta: number, bucket: TimelineBucket | null, data: boolean): void {
    const s = this.summary;
    if ((ta & A_ANY_RETRANSMISSION) !== 0) {
      conn.retransmissions++;
      s.retransmissions++;
      if (bucket !== null) bucket.retransmissions++;
      if ((ta & A_FAST_RETRANSMISSION) !== 0) {
        conn.fastRetransmissions++;
        s.fastRetransmissions++;
      }
      if ((ta & A_SPURIOUS_RETRANSMISSION) !== 0) {
        conn.spuriousRetransmissions++;
        s.spuriousRetransmissions++;
      }
      // Per peer, only data is judged against data segments: SYNs resent to a server that never
      // answers are no loss on an established path (they are syn-sent-unanswered's evidence).
      if (data) this.agg.peer(fromA ? conn.bAddress : conn.aAddress).retransmissions++;
    }
    if ((ta & A_DUPLICATE_ACK) !== 0) {
      conn.duplicateAcks++;
      s.duplicateAcks++;
    }
    if ((ta & A_ZERO_WINDOW) !== 0) {
      conn.zeroWindows++;
      s.zeroWindows++;
    }
    if ((ta & A_OUT_OF_ORDER) !== 0) {
      conn.outOfOrder++;
      s.outOfOrder++;
    }
    if ((ta & A_LOST_PACKET) !== 0) {
      conn.lostSegments++;
      s.lostSegments++;
    }
    if ((ta & A_KEEP_ALIVE) !== 0) {
      conn.keepAlives++;
      s.keepAlives++;
    }
  }

  /** RTT from a data segment to the first ACK that covers it; retransmitted data is not sampled (Karn). */
  private sampleRtt(conn: Connection, fwd: Side, rev: Side, t: DecodedTcp, ta: number, sec: number, nsec: number): void {
    if (t.seglen > 0) {
      if ((ta & A_ANY_RETRANSMISSION) !== 0 || (ta & A_OUT_OF_ORDER) !== 0) {
        fwd.pendingCount = 0; // ambiguous from here on (Karn)
      } else {
        fwd.addPending((t.seq + t.seglen) >>> 0, sec, nsec);
      }
      this.agg.peer(fwd === conn.a ? conn.bAddress : conn.aAddress).dataSegments++;
    }
    if ((t.flags & TH_ACK) !== 0 && rev.pendingCount > 0) {
      const rttNs = rev.ackPending(t.ack, sec, nsec);
      if (rttNs >= 0) {
        conn.rtt.add(rttNs / 1e6);
        this.dataRtt.add(rttNs / 1e6);
      }
    }
  }

  private release(conn: Connection): void {
    if (this.pool.length < 1024) this.pool.push(conn);
  }

  /** Retire closed streams past TIME-WAIT, and the oldest beyond MAX_CLOSED_RETAINED. */
  private expireClosed(nowSec: number): void {
    const q = this.closedQueue;
    while (this.closedHead < q.length) {
      const head = q[this.closedHead]!;
      const over = q.length - this.closedHead > MAX_CLOSED_RETAINED;
      if (!over && nowSec - head.lastSec <= CLOSED_EXPIRY_S) break;
      this.closedHead++;
      // Only if it is still in the table (a new SYN may have replaced it, a sweep retired it).
      if (this.conns.has(head)) {
        this.retire(head);
        this.conns.delete(head);
        this.release(head);
      }
    }
    if (this.closedHead > 1024 && this.closedHead * 2 > q.length) {
      this.closedQueue = q.slice(this.closedHead);
      this.closedHead = 0;
    }
  }

  /** Fold expired streams into the totals so memory follows the live ones. */
  private sweep(): void {
    this.sinceSweep = 0;
    this.expireClosed(this.lastSec);
    const expired: Connection[] = [];
    for (const conn of this.conns.values()) {
      const idleS = this.lastSec - conn.lastSec;
      if ((conn.closed && idleS > CLOSED_EXPIRY_S) || idleS > IDLE_EXPIRY_S) expired.push(conn);
    }
    for (const conn of expired) {
      this.retire(conn);
      this.conns.delete(conn);
      // Not pooled: the closed queue may still hold it (expireClosed checks the table first).
    }
  }

  /** The open record of a stream is done: account it and keep its report if it is among the most interesting. */
  private retire(conn: Connection): void {
    if (!conn.recordOpen) return;
    conn.recordOpen = false;
    // Built from the connection's own fields: a full report object is made only for the
    // connections the listing keeps (fewer short-lived objects on captures with many connections).
    const state = conn.connState();
    const client = conn.client;
    const server = conn.server;
    const clientAddress = conn.aIsClient ? conn.aAddress : conn.bAddress;
    const clientPort = conn.aIsClient ? conn.aPort : conn.bPort;
    const serverAddress = conn.aIsClient ? conn.bAddress : conn.aAddress;
    const serverPort = conn.aIsClient ? conn.bPort : conn.aPort;
    this.summary.connections++;
    this.connStates[state] = (this.connStates[state] ?? 0) + 1;
    const clientSyn = client.sentSyn;
    if (conn.handshakeDone) this.summary.handshakesCompleted++;
    else if (clientSyn) {
      this.summary.handshakesFailed++;
      if (this.failed.length < MAX_FAILED_LISTED) {
        this.failed.push({ id: conn.id, client: { address: clientAddress, port: clientPort }, server: { address: serverAddress, port: serverPort }, state, history: conn.zeek.history, synCount: conn.synCount, start: isoTime(conn.firstSec, conn.firstNsec) });
      }
    }
    if (clientSyn) this.agg.addAttempt(serverAddress, serverPort, clientAddress, conn.synCount, conn.handshakeDone, state === 'REJ');
    const stallNs = Math.max(client.maxZeroWindowNs, server.maxZeroWindowNs);
    if (stallNs > 0) {
      this.agg.addStall({ id: conn.id, client: `${clientAddress}:${clientPort}`, server: `${serverAddress}:${serverPort}`, stallMs: round3(stallNs / 1e6), zeroWindows: conn.zeroWindows });
    }
    this.agg.addTalker(clientAddress, client.packets, client.payloadBytes);
    this.agg.addTalker(serverAddress, server.packets, server.payloadBytes);
    const score = connectionInterest(conn, state);
    if (this.listed.length >= this.maxConnections && score < this.listedFloor) return;
    this.listed.push(conn.toReport());
    if (this.listed.length >= this.maxConnections * 2) this.trimListed();
  }

  private trimListed(): void {
    this.listed.sort((x, y) => interest(y) - interest(x) || x.id - y.id);
    this.listed.length = Math.min(this.listed.length, this.maxConnections);
    const last = this.listed.at(-1);
    if (this.listed.length >= this.maxConnections && last !== undefined) this.listedFloor = interest(last);
  }

  /** Close every live connection and build the report. */
  finish(meta: { file: string | null; format: string | null; linkTypes: string[] }): AnalysisReport {
    for (const conn of this.conns.values()) this.retire(conn);
    this.conns.clear();
    this.closedQueue = [];
    this.closedHead = 0;
    this.summary.streams = this.nextStream;
    if (this.listed.length > this.maxConnections) this.trimListed();
    const connections = [...this.listed].sort((x, y) => x.id - y.id);
    const durationS = this.firstSec < 0 ? 0 : round3(((this.lastSec - this.firstSec) * 1e9 + (this.lastNsec - this.firstNsec)) / 1e9);
    this.captureInputs = this.agg.captureInputs();
    return {
      file: meta.file,
      format: meta.format,
      linkTypes: meta.linkTypes,
      packets: this.packets,
      tcpPackets: this.tcpPackets,
      bytes: this.bytes,
      firstPacket: this.firstSec < 0 ? null : isoTime(this.firstSec, this.firstNsec),
      lastPacket: this.firstSec < 0 ? null : isoTime(this.lastSec, this.lastNsec),
      durationS,
      summary: { ...this.summary },
      connStates: { ...this.connStates },
      connectionsListed: connections.length,
      connections,
      rtt: { handshakeMs: this.handshakeRtt.summary(3), dataMs: this.dataRtt.summary(3) },
      timeline: this.agg.timelineSorted(),
      topTalkers: this.agg.topTalkers(this.options.topTalkers ?? 10),
      failedHandshakes: this.failed,
      // The diagnosis engine's, filled in by the session (sessions/capture-file.ts).
      findings: [],
      error: null,
    };
  }

  /** Streams currently tracked (for tests of the memory bound). */
  get liveConnections(): number {
    return this.conns.size;
  }
}

function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatAddress(t: DecodedTcp, src: boolean): string {
  if (t.family === 4) return formatV4(src ? t.src4 : t.dst4);
  return formatIpv6(Buffer.from(src ? t.src6 : t.dst6, 'hex'));
}

function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** How much a connection deserves a place in a truncated listing: trouble first, then size. */
function interestScore(trouble: number, state: string, payloadBytes: number): number {
  const failed = state === 'S0' || state === 'REJ' || state.startsWith('RST') ? 1 : 0;
  return trouble * 1000 + failed * 500 + Math.log2(1 + payloadBytes);
}

function interest(c: ConnectionReport): number {
  const icmp = c.icmpErrors.reduce((n, e) => n + e.count, 0);
  const trouble = c.retransmissions + c.duplicateAcks + c.zeroWindows + c.outOfOrder + c.lostSegments + c.resets.client + c.resets.server + icmp;
  return interestScore(trouble, c.state, c.payloadBytes.client + c.payloadBytes.server);
}

function connectionInterest(c: Connection, state: string): number {
  let icmp = 0;
  if (c.icmp !== null) for (const e of c.icmp) icmp += e.count;
  const trouble = c.retransmissions + c.duplicateAcks + c.zeroWindows + c.outOfOrder + c.lostSegments + c.a.resets + c.b.resets + icmp;
  return interestScore(trouble, state, c.a.payloadBytes + c.b.payloadBytes);
}
