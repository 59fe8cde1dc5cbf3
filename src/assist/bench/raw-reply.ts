/**
 * When a raw TCP reply is complete: after a fixed number of bytes (an echo server returns as
 * many as were sent) or at the first occurrence of a delimiter ("\n" for line protocols,
 * "\r\n" for Redis/memcached-style ones). The delimiter may straddle two reads.
 */
import { NEED_MORE } from './http-response.js';

export type ReplyRule = { readonly kind: 'length'; readonly bytes: number } | { readonly kind: 'delimiter'; readonly delimiter: Buffer };

export class RawReplyMatcher {
  /** Reply bytes seen so far. */
  received = 0;
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly rule: ReplyRule) {
    if (rule.kind === 'delimiter' && rule.delimiter.length === 0) throw new RangeError('the reply delimiter must not be empty');
  }

  reset(): void {
    this.received = 0;
    this.tail = Buffer.alloc(0);
  }

  /** Feed buf[start, end); NEED_MORE, or the offset just past the end of the reply. */
  feed(buf: Buffer, start = 0, end = buf.length): number {
    if (this.rule.kind === 'length') {
      const take = Math.min(this.rule.bytes - this.received, end - start);
      this.received += take;
      return this.received >= this.rule.bytes ? start + take : NEED_MORE;
    }
    const delimiter = this.rule.delimiter;
    if (this.tail.length > 0) {
      // Only the last (delimiter.length - 1) bytes of earlier reads can start a straddling match.
      const window = Buffer.concat([this.tail, buf.subarray(start, Math.min(end, start + delimiter.length - 1))]);
      const idx = window.indexOf(delimiter);
      if (idx !== -1) {
        const consumed = idx + delimiter.length - this.tail.length;
        this.received += consumed;
        this.tail = Buffer.alloc(0);
        return start + consumed;
      }
    }
    const idx = buf.subarray(start, end).indexOf(delimiter);
    if (idx !== -1) {
      this.received += idx + delimiter.length;
      this.tail = Buffer.alloc(0);
      return start + idx + delimiter.length;
    }
    this.received += end - start;
    if (delimiter.length > 1) {
      const keep = delimiter.length - 1;
      const joined = Buffer.concat([this.tail, buf.subarray(start, end)]);
      this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - keep)));
    }
    return NEED_MORE;
  }
}
