/**
 * Wireshark's TCP sequence analysis, re-derived from its documented rules (Wireshark User's
 * Guide, "TCP Analysis", and the behaviour of epan/dissectors/packet-tcp.c,
 * tcp_analyze_sequence_number()), so that each packet gets the same verdict tshark gives:
 * retransmission, fast and spurious retransmission, out-of-order, previous segment lost,
 * duplicate ACK, zero window, keep-alive, window update, zero-window probe.
 *
 * Like Wireshark, the analysis works on absolute sequence numbers and the raw 16-bit window
 * field, uses 0 as "not seen yet" for nextseq/lastack, and measures time in nanoseconds with
 * unsigned comparisons (a timestamp that goes backwards never counts as "soon").
 */
import { seqDelta } from './seq-math.js';

export const A_RETRANSMISSION = 0x0001;
export const A_LOST_PACKET = 0x0002;
export const A_ACK_LOST_PACKET = 0x0004;
export const A_KEEP_ALIVE = 0x0008;
export const A_DUPLICATE_ACK = 0x0010;
export const A_ZERO_WINDOW = 0x0020;
export const A_ZERO_WINDOW_PROBE = 0x0040;
export const A_ZERO_WINDOW_PROBE_ACK = 0x0080;
export const A_KEEP_ALIVE_ACK = 0x0100;
export const A_OUT_OF_ORDER = 0x0200;
export const A_FAST_RETRANSMISSION = 0x0400;
export const A_WINDOW_UPDATE = 0x0800;
export const A_WINDOW_FULL = 0x1000;
export const A_SPURIOUS_RETRANSMISSION = 0x4000;

/** Every flag tshark shows as `tcp.analysis.retransmission` (fast and spurious ones add it). */
export const A_ANY_RETRANSMISSION = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION;

const TH_FIN = 0x01;
const TH_SYN = 0x02;
const TH_RST = 0x04;
const TH_ACK = 0x10;

/** Fast retransmission: within 20 ms of the last duplicate ACK (packet-tcp.c). */
const FAST_RETRANS_WINDOW_NS = 20_000_000;
/** Out-of-order threshold when the handshake RTT is unknown: 3 ms (packet-tcp.c). */
const DEFAULT_OOO_THRESHOLD_NS = 3_000_000;

/** One direction of a connection: what its sender has sent and acknowledged so far. */
export class FlowSeqState {
  baseSeq = 0;
  baseSeqSet = false;
  nextseq = 0;
  nextseqSec = 0;
  nextseqNsec = 0;
  maxseqtobeacked = 0;
  lastack = 0;
  lastackSec = 0;
  lastackNsec = 0;
  /** Starts at the largest value so the first segment is never "the same window". */
  window = 0xffffffff;
  dupacknum = 0;
  lastsegmentflags = 0;

  reset(): void {
    this.baseSeq = 0;
    this.baseSeqSet = false;
    this.nextseq = 0;
    this.nextseqSec = 0;
    this.nextseqNsec = 0;
    this.maxseqtobeacked = 0;
    this.lastack = 0;
    this.lastackSec = 0;
    this.lastackNsec = 0;
    this.window = 0xffffffff;
    this.dupacknum = 0;
    this.lastsegmentflags = 0;
  }
}

/** Per-connection state the rules share between directions. */
export class ConnSeqState {
  /** Handshake RTT in ns (SYN -> first ACK without SYN); 0 while unknown. */
  firstRttNs = 0;
  mruSynSec = 0;
  mruSynNsec = 0;
  mruSynSet = false;

  reset(): void {
    this.firstRttNs = 0;
    this.mruSynSec = 0;
    this.mruSynNsec = 0;
    this.mruSynSet = false;
  }
}

/* Wireshark's GT_SEQ/LT_SEQ/LE_SEQ, with the distance taken in the order the macros take it. */
function gtSeq(x: number, y: number): boolean {
  return seqDelta(y, x) < 0;
}
function ltSeq(x: number, y: number): boolean {
  return seqDelta(x, y) < 0;
}
function leSeq(x: number, y: number): boolean {
  return seqDelta(x, y) <= 0;
}

/** Wireshark subtracts timestamps into an unsigned 64-bit value: negative means "very long ago". */
function elapsedNs(sec: number, nsec: number, sinceSec: number, sinceNsec: number): number {
  const t = (sec - sinceSec) * 1e9 + (nsec - sinceNsec);
  return t < 0 ? Number.POSITIVE_INFINITY : t;
}

/**
 * Analyse one segment of `fwd`'s direction (`rev` is the other one). Returns the analysis flags
 * (A_*). Updates both directions' state as Wireshark does on its first pass.
 */
export function analyzeSegment(
  conn: ConnSeqState,
  fwd: FlowSeqState,
  rev: FlowSeqState,
  seq: number,
  ack: number,
  seglen: number,
  flags: number,
  window: number,
  sec: number,
  nsec: number,
): number {
  let ta = 0;

  // Base sequence numbers: the SYN's, or one before the first segment seen; the reverse
  // direction's from the first ACK (relative numbering only, but it feeds port-reuse checks).
  if (!fwd.baseSeqSet) {
    fwd.baseSeq = (flags & TH_SYN) !== 0 ? seq : (seq - 1) >>> 0;
    fwd.baseSeqSet = true;
  }
  if (!rev.baseSeqSet && (flags & TH_ACK) !== 0) {
    rev.baseSeq = (ack - 1) >>> 0;
    rev.baseSeqSet = true;
  }

  finishedFwd: {
    // Zero-window probe: exactly one byte at the next expected sequence while the peer's window is 0.
    if (seglen === 1 && seq === fwd.nextseq && rev.window === 0) {
      ta |= A_ZERO_WINDOW_PROBE;
      break finishedFwd;
    }
    // Zero window: window 0 on a segment that is not SYN/FIN/RST.
    if (window === 0 && (flags & (TH_RST | TH_FIN | TH_SYN)) === 0) ta |= A_ZERO_WINDOW;
    // Lost segment: this segment starts beyond what we have seen of this direction (not RSTs).
    if (fwd.nextseq !== 0 && gtSeq(seq, fwd.nextseq) && (flags & TH_RST) === 0) ta |= A_LOST_PACKET;
    // Keep-alive: 0 or 1 byte starting one byte before the next expected sequence number.
    if ((seglen === 0 || seglen === 1) && seq === ((fwd.nextseq - 1) >>> 0) && (flags & (TH_SYN | TH_FIN | TH_RST)) === 0) {
      ta |= A_KEEP_ALIVE;
    }
    const pureSame = seglen === 0 && seq === fwd.nextseq && ack === fwd.lastack && (flags & (TH_SYN | TH_FIN | TH_RST)) === 0;
    // Window update: no data, same seq/ack as before, a new non-zero window.
    if (pureSame && window !== 0 && window !== fwd.window) ta |= A_WINDOW_UPDATE;
    // Keep-alive ACK: repeats the previous ACK right after a keep-alive from the other side.
    if (pureSame && window !== 0 && window === fwd.window && (rev.lastsegmentflags & A_KEEP_ALIVE) !== 0) {
      ta |= A_KEEP_ALIVE_ACK;
      break finishedFwd;
    }
    // Zero-window probe ACK: repeats a zero window right after a probe.
    if (pureSame && window === 0 && window === fwd.window && (rev.lastsegmentflags & A_ZERO_WINDOW_PROBE) !== 0) {
      ta |= A_ZERO_WINDOW_PROBE_ACK;
      break finishedFwd;
    }
    // Duplicate ACK: no data, same seq, ack and (non-zero) window as the previous segment.
    if (pureSame && window !== 0 && window === fwd.window) {
      fwd.dupacknum = fwd.dupacknum === -1 ? 1 : fwd.dupacknum + 1;
      ta |= A_DUPLICATE_ACK;
    }
  }

  // A new acknowledgment number resets the duplicate-ACK run.
  if (ack !== fwd.lastack) fwd.dupacknum = 0;

  // ACKed unseen segment: this acknowledges data of the other direction we never saw. The first
  // time, the other direction's "max seq to be acked" jumps to its nextseq; after that one
  // message per run of ACKs, and the other direction's duplicate-ACK count becomes the -1 mark
  // whatever it was (unsigned, that mark counts as "at least 2 duplicate ACKs" for the
  // fast-retransmission test below; tshark 4.0 flags a fast retransmission after it).
  if (rev.maxseqtobeacked !== 0 && gtSeq(ack, rev.maxseqtobeacked) && (flags & TH_ACK) !== 0) {
    if (rev.maxseqtobeacked !== rev.nextseq) {
      rev.maxseqtobeacked = rev.nextseq;
      ta |= A_ACK_LOST_PACKET;
    } else {
      if (rev.dupacknum === 0) ta |= A_ACK_LOST_PACKET;
      rev.dupacknum = -1;
    }
  }

  // Retransmission, fast retransmission, spurious retransmission, out-of-order: a segment with
  // data (or SYN/FIN) that does not advance the sequence number.
  checks: if (seglen > 0 || (flags & (TH_SYN | TH_FIN)) !== 0) {
    let seqNotAdvanced = fwd.nextseq !== 0 && ltSeq(seq, fwd.nextseq);
    if ((ta & A_KEEP_ALIVE) !== 0) break checks;
    // More than one byte starting one before nextseq adds new data (after a zero-window probe).
    if (seglen > 1 && ((fwd.nextseq - 1) >>> 0) === seq) seqNotAdvanced = false;

    // Spurious: everything in it was already acknowledged by the other side.
    if (seglen > 0 && rev.lastack !== 0 && leSeq((seq + seglen) >>> 0, rev.lastack)) {
      ta |= A_SPURIOUS_RETRANSMISSION;
      break checks;
    }
    // Fast retransmission: >= 2 duplicate ACKs asked for exactly this sequence, within 20 ms.
    if (
      seqNotAdvanced &&
      // dupacknum is unsigned in Wireshark: the -1 mark above compares as a huge count.
      rev.dupacknum >>> 0 >= 2 &&
      rev.lastack === seq &&
      elapsedNs(sec, nsec, rev.lastackSec, rev.lastackNsec) < FAST_RETRANS_WINDOW_NS
    ) {
      ta |= A_FAST_RETRANSMISSION;
      break checks;
    }
    // Out-of-order: arrives soon (within the handshake RTT) after the highest segment so far.
    // A negative handshake RTT (time going backwards) wraps to a huge unsigned threshold.
    const oooThresholdNs = conn.firstRttNs === 0 ? DEFAULT_OOO_THRESHOLD_NS : conn.firstRttNs < 0 ? Number.POSITIVE_INFINITY : conn.firstRttNs;
    const end = (seq + seglen + ((flags & (TH_SYN | TH_FIN)) !== 0 ? 1 : 0)) >>> 0;
    if (seqNotAdvanced && elapsedNs(sec, nsec, fwd.nextseqSec, fwd.nextseqNsec) < oooThresholdNs && fwd.nextseq !== end) {
      ta |= A_OUT_OF_ORDER;
      break checks;
    }
    if (seqNotAdvanced) ta |= A_RETRANSMISSION;
  }

  let nextseq = (seq + seglen) >>> 0;
  if ((flags & (TH_SYN | TH_FIN)) !== 0) nextseq = (nextseq + 1) >>> 0;
  // The highest sequence seen so far; zero-window probes do not advance it.
  if ((gtSeq(nextseq, fwd.nextseq) || fwd.nextseq === 0) && (ta & A_ZERO_WINDOW_PROBE) === 0) {
    fwd.nextseq = nextseq;
    fwd.nextseqSec = sec;
    fwd.nextseqNsec = nsec;
  }
  // The highest contiguous sequence, to notice ACKs of segments we never saw.
  if ((seq === fwd.maxseqtobeacked || fwd.maxseqtobeacked === 0) && (ta & A_ZERO_WINDOW_PROBE) === 0) {
    fwd.maxseqtobeacked = fwd.nextseq;
  }

  fwd.window = window;
  fwd.lastack = ack;
  fwd.lastackSec = sec;
  fwd.lastackNsec = nsec;
  fwd.lastsegmentflags = ta;
  return ta;
}

/**
 * Bookkeeping Wireshark does around the sequence analysis, after it: the most recent SYN's time
 * and the handshake RTT (from that SYN to the first segment with ACK and without SYN).
 */
export function noteHandshakeTiming(conn: ConnSeqState, flags: number, sec: number, nsec: number): void {
  if ((flags & (TH_SYN | TH_ACK)) === TH_SYN) {
    conn.mruSynSec = sec;
    conn.mruSynNsec = nsec;
    conn.mruSynSet = true;
  } else if ((flags & (TH_SYN | TH_ACK)) === TH_ACK && conn.mruSynSet && conn.firstRttNs === 0) {
    // A zero delta stays "unknown", as nstime_is_zero() reads it in Wireshark; a negative one
    // (time going backwards) is kept and read as unsigned where it is compared.
    conn.firstRttNs = (sec - conn.mruSynSec) * 1e9 + (nsec - conn.mruSynNsec);
  }
}
