/**
 * One side of a connection as Zeek's TCP analyzer tracks it (TCP_Endpoint and its
 * TCP_Reassembler in src/analyzer/protocol/tcp/, re-derived from their behaviour, not copied):
 * the endpoint state, sequence bookkeeping in Zeek's relative 64-bit space, the counters behind
 * the logarithmic history letters, and the reassembly state that reveals content gaps (an ACK
 * for bytes this side never showed us).
 *
 * Relative sequence numbers are doubles (exact to 2^53): connections past 8 PB are not a concern.
 */

export const INACTIVE = 0;
export const SYN_SENT = 1;
export const SYN_ACK_SENT = 2;
export const PARTIAL = 3;
export const ESTABLISHED = 4;
export const CLOSED = 5;
export const RESET = 6;

const TWO32 = 4294967296;

/** Zeek's tcp_max_initial_window and tcp_max_above_hole_without_any_acks (init-bare.zeek): 16 KiB. */
const MAX_INITIAL_WINDOW = 16384;
const MAX_ABOVE_HOLE_WITHOUT_ACKS = 16384;
/** tcp_excessive_data_without_further_acks: 10 MiB buffered and unacknowledged. */
const EXCESSIVE_DATA_WITHOUT_ACKS = 10 * 1024 * 1024;
/** Out-of-order blocks kept per side; past it the oldest hole is given up (hostile input only). */
const MAX_BLOCKS = 64;

export function isHandshake(state: number): boolean {
  return state === INACTIVE || state === SYN_SENT || state === SYN_ACK_SENT;
}

/** Signed 32-bit distance a - b, Zeek's seq_delta(). */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

export class ZeekEndpoint {
  state = INACTIVE;
  prevState = INACTIVE;
  /** This side's current role (it changes when Zeek flips the connection). */
  isOrig = true;
  startSeq = 0;
  lastSeq = 0;
  ackSeq = 0;
  seqWraps = 0;
  ackWraps = 0;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  finCount = 0;
  rstCount = 0;
  finSeq = 0;
  didClose = false;
  /** Counters and thresholds of the scaled letters T, W and G (1, 10, 100, ...). */
  rxmtCount = 0;
  rxmtThresh = 1;
  win0Count = 0;
  win0Thresh = 1;
  gapCount = 0;
  gapThresh = 1;
  // Reassembly: delivered up to lastReassem, acknowledged up to trimSeq (both relative, from 1).
  lastReassem = 1;
  trimSeq = 1;
  /** Undelivered blocks above a hole, as [seq, upper) pairs in order. Allocated on the first hole. */
  blocks: number[] | null = null;
  skipDeliveries = false;
  didEof = false;
  peer!: ZeekEndpoint;

  reset(isOrig: boolean): void {
    this.state = INACTIVE;
    this.prevState = INACTIVE;
    this.isOrig = isOrig;
    this.startSeq = 0;
    this.lastSeq = 0;
    this.ackSeq = 0;
    this.seqWraps = 0;
    this.ackWraps = 0;
    this.histLastSyn = 0;
    this.histLastFin = 0;
    this.histLastRst = 0;
    this.finCount = 0;
    this.rstCount = 0;
    this.finSeq = 0;
    this.didClose = false;
    this.rxmtCount = 0;
    this.rxmtThresh = 1;
    this.win0Count = 0;
    this.win0Thresh = 1;
    this.gapCount = 0;
    this.gapThresh = 1;
    this.lastReassem = 1;
    this.trimSeq = 1;
    if (this.blocks !== null) this.blocks.length = 0;
    this.skipDeliveries = false;
    this.didEof = false;
  }

  /**
   * Change state; leaving the handshake while the peer is still in it switches the connection
   * to the TCP inactivity timeout (TCP_Endpoint::SetState).
   */
  setStateIn(next: number, conn: { handshakeDone(): void }): void {
    if (next === this.state) return;
    if (!isHandshake(next) && isHandshake(this.state) && isHandshake(this.peer.state)) conn.handshakeDone();
    this.prevState = this.state;
    this.state = next;
  }

  /** A sequence number in this side's relative 64-bit space, given its wrap count. */
  relative(seq: number, wraps: number): number {
    return wraps * TWO32 + seq - this.startSeq;
  }

  updateLastSeq(seq: number): void {
    if (seq < this.lastSeq) this.seqWraps++;
    this.lastSeq = seq;
  }

  updateAckSeq(seq: number): void {
    if (seq < this.ackSeq) this.ackWraps++;
    this.ackSeq = seq;
  }

  /** None of this side's data acknowledged yet (one octet allowed: the SYN's). */
  noDataAcked(): boolean {
    const ack = this.ackWraps * TWO32 + this.ackSeq;
    return ack === this.startSeq || ack === this.startSeq + 1;
  }

  /** Payload bytes by sequence numbers (Zeek's orig_bytes / resp_bytes): SYN and FIN octets excluded. */
  size(): number {
    if (this.prevState === SYN_SENT && this.state === RESET && this.peer.state === INACTIVE && !this.noDataAcked()) return 0;
    const last = this.seqWraps * TWO32 + this.lastSeq;
    const ack = this.ackWraps * TWO32 + this.ackSeq;
    let size = (last > ack ? last : ack) - this.startSeq;
    if (size < 0) size += 2 ** 64; // unsigned in Zeek; only garbage sequence numbers get here
    if (size !== 0) size--;
    if (this.finCount > 0 && size !== 0) size--;
    return size;
  }

  /** Buffered blocks exist (delivered but unacknowledged, or above a hole). */
  hasBlocks(): boolean {
    return this.lastReassem > this.trimSeq || (this.blocks !== null && this.blocks.length > 0);
  }

  private undeliveredBytes(): number {
    const b = this.blocks;
    if (b === null || b.length === 0) return 0;
    return b[b.length - 1]! - this.lastReassem;
  }

  private bufferedBytes(): number {
    let n = this.lastReassem - this.trimSeq;
    const b = this.blocks;
    if (b !== null) for (let i = 0; i < b.length; i += 2) n += b[i + 1]! - b[i]!;
    return n;
  }

  /**
   * Data at relative [seq, seq + len) was sent and fully captured (TCP_Reassembler::DataSent):
   * delivered if it continues the stream, kept above the hole otherwise.
   */
  dataSent(seq: number, len: number): void {
    if (this.skipDeliveries) return;
    const ack = this.relative(this.ackSeq, this.ackWraps);
    const upper = seq + len;
    if (seq < ack) {
      if (upper <= ack) return; // delivered and acknowledged already
      seq = ack;
    }
    if (upper <= this.trimSeq) return;
    if (seq < this.trimSeq) seq = this.trimSeq;
    if (seq <= this.lastReassem) {
      if (upper > this.lastReassem) {
        this.lastReassem = upper;
        this.deliverFollowing();
        // Nothing of this side acknowledged after a whole initial window: Zeek stops holding
        // the delivered data (it presumes it cannot see the peer's ACKs).
        if (this.noDataAcked() && this.size() > MAX_INITIAL_WINDOW) this.trim(this.lastReassem);
      }
    } else {
      this.insertBlock(seq, upper);
    }
    if (this.noDataAcked() && this.undeliveredBytes() > MAX_ABOVE_HOLE_WITHOUT_ACKS) this.stopDelivering();
    else if (this.bufferedBytes() > EXCESSIVE_DATA_WITHOUT_ACKS) this.stopDelivering();
  }

  private stopDelivering(): void {
    if (this.blocks !== null) this.blocks.length = 0;
    this.skipDeliveries = true;
  }

  private insertBlock(seq: number, upper: number): void {
    const b = (this.blocks ??= []);
    // Merge into the sorted, disjoint list.
    let i = 0;
    while (i < b.length && b[i + 1]! < seq) i += 2;
    let j = i;
    while (j < b.length && b[j]! <= upper) {
      if (b[j]! < seq) seq = b[j]!;
      if (b[j + 1]! > upper) upper = b[j + 1]!;
      j += 2;
    }
    b.splice(i, j - i, seq, upper);
    if (b.length > MAX_BLOCKS * 2) b.splice(0, 2);
  }

  /** Deliver stored blocks that now continue the stream. */
  private deliverFollowing(): void {
    const b = this.blocks;
    if (b === null) return;
    let n = 0;
    while (n < b.length && b[n]! <= this.lastReassem) {
      if (b[n + 1]! > this.lastReassem) this.lastReassem = b[n + 1]!;
      n += 2;
    }
    if (n > 0) b.splice(0, n);
  }

  /**
   * The peer acknowledged up to `seq` (DataBlockList::Trim): what was never delivered below it
   * is a content gap, reported through `onGap` (TCP_Reassembler::Undelivered).
   */
  trim(seq: number, onGap?: (endpoint: ZeekEndpoint) => void, partial = false): void {
    if (seq > this.lastReassem) this.undelivered(seq, onGap, partial);
    const b = this.blocks;
    if (b !== null) {
      let n = 0;
      while (n < b.length && b[n + 1]! <= seq) n += 2;
      if (n > 0) b.splice(0, n);
      if (b.length > 0 && b[0]! === this.lastReassem) this.deliverFollowing();
    }
    this.trimSeq = seq;
  }

  private undelivered(upTo: number, onGap: ((endpoint: ZeekEndpoint) => void) | undefined, partial: boolean): void {
    // A partial connection's made-up first sequence number: missing byte 1 (or 2 after a
    // keep-alive) is not a gap (TCP_Reassembler::Undelivered).
    if (upTo <= 2 && partial) return;
    if (!this.skipDeliveries) {
      const b = this.blocks;
      while (b !== null && b.length > 0 && b[0]! < upTo) {
        if (b[0]! > this.lastReassem) {
          onGap?.(this);
          this.lastReassem = b[0]!;
        }
        this.deliverFollowing();
      }
      if (upTo > this.lastReassem) onGap?.(this);
    }
    if (upTo > this.lastReassem) this.lastReassem = upTo;
  }

  /** All of this side's data delivered (TCP_Reassembler::DataPending is false). */
  dataPending(): boolean {
    if (this.skipDeliveries) return false;
    const delivered = this.startSeq + this.lastReassem;
    const last = this.seqWraps * TWO32 + this.lastSeq;
    if (last < delivered) return false;
    if (delivered !== last - 1 && delivered !== last) return true;
    return this.state !== RESET && this.peer.hasBlocks();
  }
}
