/**
 * A connection as Zeek logs it in conn.log: who the originator is (and when Zeek flips that),
 * the endpoint state machine of its TCP analyzer, the `history` letters and the `conn_state`
 * (scripts/base/protocols/conn/main.zeek; src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc
 * and TCP.cc). Re-derived from Zeek's documented rules and observed behaviour, per packet:
 *
 * - History letters (upper case: originator): S, H, A, D, F, R once per side, S/H/F/R again
 *   when their sequence number changes; I (FIN+RST) and Q (SYN with FIN or RST) once; T
 *   (retransmitted payload), W (zero window) and G (content gap: data acknowledged that was
 *   never seen) logarithmically, at the 1st, 10th, 100th... occurrence; ^ when Zeek flips the
 *   direction. Case follows the role at the time the letter was written (a flip re-cases nothing).
 * - Direction: the SYN sender is the originator. A connection that starts without a SYN (or
 *   with a SYN-ACK) is flipped when its source port is a likely server port and its destination
 *   port is not (both likely: flipped only if not a SYN-ACK and the source port is lower); one
 *   that starts with a SYN-ACK is flipped at the first pure ACK or data after it (history
 *   "H" becomes "^h"); a SYN answering an earlier SYN-ACK flips it too.
 * - Timers, in capture time: an unanswered connection attempt is dropped 5 s after its SYN
 *   (tcp_attempt_delay), a closed one 5 s after the close (tcp_close_delay), a half-closed one by
 *   the 6 s expire timer (tcp_session_timer, tcp_connection_linger), any one after 1 minute of
 *   silence before its handshake completes and 5 minutes after (udp_/tcp_inactivity_timeout);
 *   a later packet starts a new connection. Zeek's per-service inactivity timeouts
 *   (conn/inactivity.zeek, set once a protocol analyzer recognises the service) are not applied.
 * - Checksums are not verified (as `zeek -C`).
 */
import {
  CLOSED, ESTABLISHED, INACTIVE, PARTIAL, RESET, seqDelta, SYN_ACK_SENT, SYN_SENT, ZeekEndpoint,
} from './zeek-endpoint.js';

const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;
const TH_ACK = 0x10;

// Per-side history bits (TCP_Endpoint::HIST_*); the responder's are shifted left by 16.
const HIST_SYN = 0x1;
const HIST_FIN = 0x2;
const HIST_RST = 0x4;
const HIST_FIN_RST = 0x8;
const HIST_DATA = 0x10;
const HIST_ACK = 0x20;
const HIST_MULTI_FLAG = 0x40;

/** Zeek's TOO_LARGE_SEQ_DELTA (TCP.h): a SYN or RST this far off is not believed. */
const TOO_LARGE_SEQ_DELTA = 1_048_576;

// Timers (scripts/base/init-bare.zeek), in seconds.
const TCP_ATTEMPT_DELAY = 5;
const TCP_CLOSE_DELAY = 5;
const TCP_SESSION_TIMER = 6;
const TCP_CONNECTION_LINGER = 5;
const TCP_INACTIVITY_TIMEOUT = 300;
/** TCP connections start with the UDP inactivity timeout until the handshake completes (TCP.cc MakeSessionAdapter). */
const INITIAL_INACTIVITY_TIMEOUT = 60;

const FIRST_ORIG = 1;
const FIRST_RESP = 2;

/**
 * Zeek's likely_server_ports for TCP as its default scripts fill them (every port an analyzer
 * in scripts/base/protocols registers, Zeek 8). A site's own redefinitions are not known here.
 */
const LIKELY_SERVER_PORTS: ReadonlySet<number> = new Set([
  21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587, 614, 631, 636, 989, 990,
  992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669,
  8000, 8080, 8888, 20000,
]);

export function isLikelyServerPort(port: number): boolean {
  return LIKELY_SERVER_PORTS.has(port);
}

/**
 * Whether Zeek makes the destination the originator of a connection whose first packet goes
 * srcPort -> dstPort with these flags (TCPAnalyzer::WantConnection).
 */
export function flipsOnFirstPacket(flags: number, srcPort: number, dstPort: number): boolean {
  if ((flags & TH_SYN) !== 0 && (flags & TH_ACK) === 0) return false;
  if (!isLikelyServerPort(srcPort)) return false;
  if (isLikelyServerPort(dstPort)) return (flags & TH_SYN) === 0 && srcPort < dstPort;
  return true;
}

export class ZeekConn {
  readonly a = new ZeekEndpoint();
  readonly b = new ZeekEndpoint();
  /** The originator's endpoint (a or b). */
  orig: ZeekEndpoint = this.a;
  history = '';
  private histSeen = 0;
  private isPartial = false;
  private firstPacketSeen = 0;
  private isActive = true;
  private closeDeferred = false;
  private deferredGenEvent = false;
  /** Time of the last packet while not both sides closed (Conn::LastTime), seconds. */
  lastTime = 0;
  private inactivityS = INITIAL_INACTIVITY_TIMEOUT;
  private attemptAt = -1;
  private deleteAt = -1;
  private expireAt = -1;
  /** The earliest moment a timer could drop the connection: one comparison per packet. */
  deadline = 0;
  /** What the state machine decided for the packet in hand (kept here: no tuple per packet). */
  private doClose = false;
  private genEvent = false;

  constructor() {
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  get resp(): ZeekEndpoint {
    return this.orig === this.a ? this.b : this.a;
  }

  /**
   * Start a connection at time `t` whose originator is side A (`origIsA`) or B; `flipped` when
   * Zeek chose the first packet's receiver as originator (the history starts with ^).
   */
  init(origIsA: boolean, flipped: boolean, t: number): void {
    this.a.reset(origIsA);
    this.b.reset(!origIsA);
    this.orig = origIsA ? this.a : this.b;
    this.history = flipped ? '^' : '';
    this.histSeen = 0;
    this.isPartial = false;
    this.firstPacketSeen = 0;
    this.isActive = true;
    this.closeDeferred = false;
    this.deferredGenEvent = false;
    this.lastTime = t;
    this.inactivityS = INITIAL_INACTIVITY_TIMEOUT;
    this.attemptAt = -1;
    this.deleteAt = -1;
    this.expireAt = -1;
    this.updateDeadline();
  }

  private updateDeadline(): void {
    let d = this.lastTime + this.inactivityS;
    if (this.deleteAt >= 0 && this.deleteAt < d) d = this.deleteAt;
    if (this.attemptAt >= 0 && this.attemptAt < d) d = this.attemptAt;
    if (this.expireAt >= 0 && this.expireAt < d) d = this.expireAt;
    this.deadline = d;
  }

  /**
   * Whether Zeek's timers removed the connection before a packet at time `t` (then that packet
   * starts a new one). Timers that fired without removing it are consumed.
   */
  expiredBy(t: number): boolean {
    if (t < this.deadline) return false;
    if (this.deleteAt >= 0 && t >= this.deleteAt) return true;
    if (t >= this.lastTime + this.inactivityS) return true;
    if (this.attemptAt >= 0 && t >= this.attemptAt) {
      const o = this.orig.state;
      if (this.isActive && (o === SYN_SENT || o === SYN_ACK_SENT) && this.resp.state === INACTIVE) return true;
      this.attemptAt = -1;
    }
    while (this.expireAt >= 0 && t >= this.expireAt) {
      if (!this.isActive) {
        this.expireAt = -1;
        break;
      }
      if (this.lastTime + TCP_CONNECTION_LINGER < this.expireAt) {
        const o = this.orig;
        const r = this.resp;
        if ((o.didClose || r.didClose) && ((o.didClose && r.didClose) || o.state === RESET || r.state === RESET || o.state === INACTIVE || r.state === INACTIVE)) return true;
        if (r.state === INACTIVE && o.state === INACTIVE) return true;
        // Nothing changes until the next packet: the timer would go on rescheduling itself.
        this.expireAt = -1;
        break;
      }
      this.expireAt += TCP_SESSION_TIMER;
    }
    this.updateDeadline();
    return false;
  }

  /**
   * Whether a SYN (or SYN-ACK) at time-of-arrival starts a new connection on this 4-tuple
   * (TCPSessionAdapter::IsReuse): any SYN once a side has closed; otherwise a SYN whose sequence
   * number is not the originator's initial one.
   */
  isReuse(flags: number, seq: number): boolean {
    if ((flags & TH_SYN) === 0) return false;
    let connOrig = this.orig;
    if ((flags & TH_ACK) !== 0) {
      if (this.orig.state !== INACTIVE) return false;
      connOrig = this.resp;
    }
    if (this.a.didClose || this.b.didClose) return true;
    if (seq === connOrig.startSeq) return false;
    if ((flags & TH_ACK) === 0 && connOrig.state === SYN_ACK_SENT && this.resp.state === INACTIVE && seq === this.resp.startSeq) return false;
    return true;
  }

  /** One TCP segment from side A (`fromA`) or B; `len` payload bytes by the IP length, `captured` of them present. */
  process(fromA: boolean, flags: number, seq: number, ack: number, len: number, captured: number, window: number, t: number): void {
    const endpoint = fromA ? this.a : this.b;
    const peer = endpoint.peer;
    const syn = (flags & TH_SYN) !== 0;
    const fin = (flags & TH_FIN) !== 0;
    const rst = (flags & TH_RST) !== 0;
    const ackFlag = (flags & TH_ACK) !== 0;
    // The role as the packet arrived: a flip while it is processed does not change what the
    // state machine is told about it (Zeek passes is_orig down unchanged).
    const isOrig = endpoint.isOrig;
    if (this.firstPacketSeen !== (FIRST_ORIG | FIRST_RESP)) this.setPartialStatus(syn, ackFlag, isOrig);
    let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst) segLen -= len;
    const onePast = (seq + segLen) >>> 0;
    // Only a side's first packet or a SYN changes its numbering.
    if (syn || endpoint.state === INACTIVE) initEndpoint(endpoint, syn, seq, onePast);

    const relSeq = relativeSeq(endpoint, seq, endpoint.lastSeq, endpoint.seqWraps);
    const seqUnderflow = underflow;
    this.updateHistory(endpoint, syn, fin, rst, ackFlag, relSeq, len);
    // Zero window: not with or after a RST, nor once the peer has closed (update_window).
    if (window === 0 && !rst && peer.state !== CLOSED && endpoint.state !== RESET) this.scaled(endpoint, 'W');
    if (!this.a.didClose || !this.b.didClose) this.lastTime = t;

    if (fin) {
      endpoint.finCount++;
      endpoint.finSeq = relSeq + segLen;
    }
    if (rst) endpoint.rstCount++;

    let relAck = 0;
    if (ackFlag) {
      if (peer.state === INACTIVE) {
        relAck = 1;
        // Number the peer as if its SYN had been seen (init_peer).
        peer.startSeq = (ack - 1) >>> 0;
        peer.ackSeq = peer.startSeq;
        peer.lastSeq = peer.startSeq;
      } else {
        relAck = relativeSeq(peer, ack, peer.ackSeq, peer.ackWraps);
        if (underflow) relAck = 0;
        else if (!rst) updateAckSeq(peer, ack);
      }
    }

    this.updateLastSeq(endpoint, onePast, syn, fin, rst, len);
    this.doClose = false;
    this.genEvent = false;
    // Without SYN, FIN or RST only a side's first packet moves the state machine.
    if (syn || fin || rst || endpoint.state === INACTIVE) switch (endpoint.state) {
      case INACTIVE:
        this.inactiveState(endpoint, peer, seq, len, syn, fin, rst, ackFlag, isOrig, t);
        break;
      case SYN_SENT:
      case SYN_ACK_SENT:
        this.synSentState(endpoint, fin, rst);
        break;
      case ESTABLISHED:
      case PARTIAL:
        this.establishedState(endpoint, peer, syn, fin, rst, ackFlag);
        break;
      case CLOSED:
        // A RST after this side's FIN changes nothing once the peer has closed too: the FIN
        // exchange already ended the connection (UpdateClosedState).
        if (rst && peer.state !== CLOSED) {
          endpoint.setStateIn(RESET, this);
          if (!endpoint.didClose) this.doClose = true;
        }
        break;
      default:
        break;
    }

    if (ackFlag) {
      // The peer's data up to relAck is acknowledged: what of it was never seen is a gap.
      let upTo = relAck;
      if (peer.finCount > 0 && upTo >= peer.finSeq) upTo = peer.finSeq - 1;
      if (upTo > peer.trimSeq) {
        peer.trim(upTo, this.onGap, this.isPartial);
        this.checkEof(peer);
      }
    }

    this.firstPacketSeen |= isOrig ? FIRST_ORIG : FIRST_RESP;
    const relDataSeq = syn ? relSeq + 1 : relSeq;
    if (len > 0 && !rst && !seqUnderflow && captured >= len) endpoint.dataSent(relDataSeq, len);
    if (endpoint.finCount > 0 || endpoint.state === CLOSED || endpoint.state === RESET) this.checkEof(endpoint);
    if (this.doClose) this.connectionClosed(endpoint, peer, this.genEvent);
    this.updateDeadline();
  }

  private readonly onGap = (endpoint: ZeekEndpoint): void => {
    // Only in cleanly established or closing connections: elsewhere (resets, partial
    // connections) missing sequence space is not evidence of lost data (TCP_Reassembler::Gap).
    if (isClean(endpoint) && isClean(endpoint.peer)) this.scaled(endpoint, 'G');
  };

  private setPartialStatus(syn: boolean, ackFlag: boolean, isOrig: boolean): void {
    if (isOrig) {
      if ((this.firstPacketSeen & FIRST_ORIG) === 0) this.isPartial = !syn || ackFlag;
    } else if ((this.firstPacketSeen & FIRST_RESP) === 0 && !this.isPartial) {
      this.isPartial = !syn;
    }
  }

  private flipRoles(): void {
    this.orig = this.resp;
    this.a.isOrig = !this.a.isOrig;
    this.b.isOrig = !this.b.isOrig;
    const seen = this.firstPacketSeen;
    this.firstPacketSeen = ((seen & FIRST_ORIG) !== 0 ? FIRST_RESP : 0) | ((seen & FIRST_RESP) !== 0 ? FIRST_ORIG : 0);
    this.isPartial = false;
    this.history += '^';
  }

  /** Add a letter once per side (Session::CheckHistory); true when it was already there. */
  private checkHistory(endpoint: ZeekEndpoint, mask: number, code: string): boolean {
    if ((code === 'A' || code === 'D') && this.history === 'H') {
      // A connection that began with a SYN-ACK now shows productive traffic: it was no stealth
      // scan, so the SYN-ACK's receiver is the originator after all (TCP_Endpoint::CheckHistory).
      this.flipRoles();
      this.history = '^h';
      this.firstPacketSeen |= FIRST_ORIG;
    }
    const bit = endpoint.isOrig ? mask : mask << 16;
    if ((this.histSeen & bit) !== 0) return true;
    this.histSeen |= bit;
    this.history += endpoint.isOrig ? code : code.toLowerCase();
    return false;
  }

  private addHistory(endpoint: ZeekEndpoint, code: string): void {
    this.history += endpoint.isOrig ? code : code.toLowerCase();
  }

  /** A scaled letter: written at the 1st, 10th, 100th... event (Session::ScaledHistoryEntry). */
  private scaled(endpoint: ZeekEndpoint, code: 'T' | 'W' | 'G'): void {
    const letter = endpoint.isOrig ? code : code.toLowerCase();
    if (code === 'T') {
      if (++endpoint.rxmtCount === endpoint.rxmtThresh) {
        this.history += letter;
        endpoint.rxmtThresh *= 10;
      }
    } else if (code === 'W') {
      if (++endpoint.win0Count === endpoint.win0Thresh) {
        this.history += letter;
        endpoint.win0Thresh *= 10;
      }
    } else if (++endpoint.gapCount === endpoint.gapThresh) {
      this.history += letter;
      endpoint.gapThresh *= 10;
    }
  }

  private updateHistory(endpoint: ZeekEndpoint, syn: boolean, fin: boolean, rst: boolean, ackFlag: boolean, relSeq: number, len: number): void {
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) this.checkHistory(endpoint, HIST_FIN_RST, 'I');
      else this.checkHistory(endpoint, HIST_MULTI_FLAG, 'Q');
    } else if (bits === 1) {
      if (syn) {
        const code = ackFlag ? 'H' : 'S';
        if (this.checkHistory(endpoint, HIST_SYN, code) && relSeq !== endpoint.histLastSyn) this.addHistory(endpoint, code);
        endpoint.histLastSyn = relSeq;
      }
      if (fin) {
        // A FIN's sequence number is the one after its data.
        if (this.checkHistory(endpoint, HIST_FIN, 'F') && relSeq + len !== endpoint.histLastFin) this.addHistory(endpoint, 'F');
        endpoint.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.checkHistory(endpoint, HIST_RST, 'R') && relSeq !== endpoint.histLastRst) this.addHistory(endpoint, 'R');
        endpoint.histLastRst = relSeq;
      }
    } else if (len > 0) {
      this.checkHistory(endpoint, HIST_DATA, 'D');
    } else if (ackFlag) {
      this.checkHistory(endpoint, HIST_ACK, 'A');
    }
  }

  /** The highest sequence number seen from this side; payload that does not pass it is a retransmission (update_last_seq). */
  private updateLastSeq(endpoint: ZeekEndpoint, lastSeq: number, syn: boolean, fin: boolean, rst: boolean, len: number): void {
    const deltaLast = seqDelta(lastSeq, endpoint.lastSeq);
    if ((syn || rst) && (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)) {
      // not believed
    } else if (fin && endpoint.lastSeq === ((endpoint.startSeq + 1) >>> 0)) {
      endpoint.updateLastSeq(lastSeq);
    } else if (endpoint.state === RESET) {
      // nothing after a RST is trusted
    } else if (deltaLast > 0) {
      endpoint.updateLastSeq(lastSeq);
    } else if (len > 0) {
      this.scaled(endpoint, 'T');
    }
  }

  private inactiveState(
    endpoint: ZeekEndpoint, peer: ZeekEndpoint, seq: number, len: number,
    syn: boolean, fin: boolean, rst: boolean, ackFlag: boolean, isOrig: boolean, t: number,
  ): void {
    if (syn) {
      if (isOrig) {
        endpoint.setStateIn(ackFlag ? SYN_ACK_SENT : SYN_SENT, this);
        this.attemptAt = t + TCP_ATTEMPT_DELAY;
      } else {
        if (!ackFlag && peer.state === SYN_ACK_SENT && seq === endpoint.startSeq) {
          // The SYN after its own SYN-ACK (two interfaces read out of order): flip and establish.
          this.isPartial = false;
          this.flipRoles();
          peer.setStateIn(ESTABLISHED, this);
          this.firstPacketSeen |= FIRST_ORIG;
        }
        if (peer.state === SYN_SENT) peer.setStateIn(ESTABLISHED, this);
        endpoint.setStateIn(ESTABLISHED, this);
      }
    }
    if (fin) {
      endpoint.setStateIn(CLOSED, this);
      this.doClose = this.genEvent = true;
    }
    if (rst) {
      endpoint.setStateIn(RESET, this);
      let isReject = false;
      if (isOrig) {
        // A SYN-ACK seen but no SYN: the originator's RST answers a reverse scan.
        if (peer.state === ESTABLISHED) isReject = true;
      } else if (peer.state === SYN_SENT || peer.state === SYN_ACK_SENT) {
        isReject = true;
      }
      this.doClose = true;
      this.genEvent = !isReject;
    }
    if (endpoint.state === INACTIVE) {
      if (!isOrig && len === 0 && this.orig.state === SYN_SENT) {
        // An ACK of the SYN before the SYN-ACK (some stacks do this): not a partial connection.
      } else if (ackFlag && peer.state === ESTABLISHED) {
        // SYN-ACK seen, SYN missed, now the pure ACK: established, not partial.
        endpoint.setStateIn(ESTABLISHED, this);
        this.isPartial = false;
        this.firstPacketSeen |= endpoint.isOrig ? FIRST_ORIG : FIRST_RESP;
      } else {
        endpoint.setStateIn(PARTIAL, this);
      }
    }
  }

  private synSentState(endpoint: ZeekEndpoint, fin: boolean, rst: boolean): void {
    if (fin) {
      endpoint.setStateIn(CLOSED, this);
      this.doClose = this.genEvent = true;
    }
    if (rst) {
      endpoint.setStateIn(RESET, this);
      this.isActive = false; // ConnectionReset
      this.doClose = true;
    }
  }

  private establishedState(endpoint: ZeekEndpoint, peer: ZeekEndpoint, syn: boolean, fin: boolean, rst: boolean, ackFlag: boolean): void {
    if (syn && endpoint.state === PARTIAL && peer.state === INACTIVE && !ackFlag) endpoint.setStateIn(SYN_SENT, this);
    if (fin && !rst) {
      endpoint.setStateIn(CLOSED, this);
      // The peer sent FIN then RST: that was a normal close after all.
      if (peer.state === RESET && peer.prevState === CLOSED) peer.setStateIn(CLOSED, this);
      this.doClose = this.genEvent = true;
    }
    if (rst) {
      endpoint.setStateIn(RESET, this);
      this.doClose = true;
      if (peer.state !== RESET || peer.prevState !== ESTABLISHED) this.isActive = false;
    }
  }

  private checkEof(endpoint: ZeekEndpoint): void {
    if (!endpoint.didEof && (endpoint.finCount > 0 || endpoint.state === CLOSED || endpoint.state === RESET) && !endpoint.dataPending()) {
      endpoint.didEof = true;
      if (this.closeDeferred) {
        this.closeDeferred = false;
        this.connectionClosed(endpoint, endpoint.peer, this.deferredGenEvent);
      }
    }
  }

  private connectionClosed(endpoint: ZeekEndpoint, peer: ZeekEndpoint, genEvent: boolean): void {
    if (endpoint.dataPending()) {
      // Data still to deliver: the close waits for it (TCPSessionAdapter::ConnectionClosed).
      this.closeDeferred = true;
      if (!this.deferredGenEvent) this.deferredGenEvent = genEvent;
      return;
    }
    this.closeDeferred = false;
    if (endpoint.didClose) return;
    endpoint.didClose = true;
    const complete = endpoint.state === RESET || peer.didClose || peer.state === INACTIVE;
    if (complete) {
      if (endpoint.prevState !== INACTIVE || peer.state !== INACTIVE) {
        if (this.deferredGenEvent) {
          genEvent = true;
          this.deferredGenEvent = false;
        }
        if (genEvent) this.isActive = false; // ConnectionFinished
      }
      this.attemptAt = -1;
      this.expireAt = -1;
      this.deleteAt = this.lastTime + TCP_CLOSE_DELAY;
    } else if (endpoint.prevState !== INACTIVE) {
      this.expireAt = this.lastTime + TCP_SESSION_TIMER;
    }
  }

  /** The handshake finished: from now on the TCP inactivity timeout applies (TCP_Endpoint::SetState). */
  handshakeDone(): void {
    this.inactivityS = TCP_INACTIVITY_TIMEOUT;
  }

  /** conn_state as base/protocols/conn/main.zeek derives it from both endpoints and the history. */
  connState(): string {
    const os = this.orig.state;
    const rs = this.resp.state;
    const oInactive = os === INACTIVE || os === PARTIAL;
    const rInactive = rs === INACTIVE || rs === PARTIAL;
    if (rs === RESET) {
      if (os === SYN_SENT || os === SYN_ACK_SENT || (os === RESET && this.orig.size() === 0 && this.resp.size() === 0)) return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === RESET) {
      if (rInactive) return /^\^?S[^HAFGIQ]*R.*$/.test(this.history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === CLOSED && os === CLOSED) return 'SF';
    if (os === CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === SYN_SENT && rs === INACTIVE) return 'S0';
    if (os === ESTABLISHED && rs === ESTABLISHED) return 'S1';
    return 'OTH';
  }
}

function isClean(e: ZeekEndpoint): boolean {
  return e.state === ESTABLISHED || (e.state === CLOSED && e.prevState === ESTABLISHED);
}

/** Set by relativeSeq: the number lies before the side's initial sequence number. */
let underflow = false;

/** A 32-bit sequence number in the side's relative 64-bit space (get_relative_seq). */
function relativeSeq(endpoint: ZeekEndpoint, cur: number, last: number, wrapsIn: number): number {
  let wraps = wrapsIn;
  underflow = false;
  const delta = seqDelta(cur, last);
  if (delta < 0) {
    if (wraps > 0 && cur > last) wraps--;
  } else if (delta > 0) {
    if (cur < last) wraps++;
  }
  if (wraps === 0) {
    const d = seqDelta(cur, endpoint.startSeq);
    if (d < 0) underflow = true;
    return d;
  }
  return endpoint.relative(cur, wraps);
}

function updateAckSeq(endpoint: ZeekEndpoint, ack: number): void {
  const deltaAck = seqDelta(ack, endpoint.ackSeq);
  // An ACK of 0 far ahead is more likely broken than a wrap (update_ack_seq).
  if (ack === 0 && deltaAck > TOO_LARGE_SEQ_DELTA) return;
  if (deltaAck > 0) endpoint.updateAckSeq(ack);
}

/** First packet of a side, or a SYN that restarts it (init_endpoint). */
function initEndpoint(endpoint: ZeekEndpoint, syn: boolean, seq: number, lastSeq: number): void {
  switch (endpoint.state) {
    case INACTIVE:
      if (syn) {
        endpoint.ackSeq = seq;
        endpoint.startSeq = seq;
        endpoint.lastSeq = lastSeq;
      } else {
        // A partial connection: numbered as if its SYN had been seen.
        endpoint.ackSeq = (seq - 1) >>> 0;
        endpoint.startSeq = (seq - 1) >>> 0;
        endpoint.lastSeq = seq;
      }
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
    case ESTABLISHED:
    case PARTIAL:
      if (syn && (seq !== endpoint.startSeq || endpoint.state === ESTABLISHED || endpoint.state === PARTIAL)) {
        endpoint.startSeq = seq;
        endpoint.ackSeq = seq;
        endpoint.lastSeq = lastSeq;
      }
      break;
    case RESET:
      // A SYN after a RST that was this side's first packet: the RST's numbers were not to be trusted.
      if (syn && endpoint.prevState === INACTIVE) {
        endpoint.startSeq = seq;
        endpoint.ackSeq = seq;
        endpoint.lastSeq = lastSeq;
      }
      break;
    default:
      break;
  }
}

