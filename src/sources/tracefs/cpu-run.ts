import type { PageVisitor } from './ring-buffer.js';
import { parseRingBufferPage } from './ring-buffer.js';

/**
 * One CPU's events from one poll, kept as raw pages plus a compact index (time, page, offset)
 * instead of decoded objects: events are decoded one at a time, in merged time order, just
 * before use, so at 10^5 events a poll the heap holds a few thousand page buffers rather than
 * 10^5 live objects (which made the garbage collector the largest cost of tracing).
 */
export class CpuRun implements PageVisitor {
  readonly pages: Buffer[] = [];
  ts = new Float64Array(4096);
  page = new Int32Array(4096);
  /** Byte offset of the record in its page, or -1 for a lost-events marker. */
  offset = new Int32Array(4096);
  /** Lost count for markers (-1 when the kernel could not say). */
  lostCount = new Float64Array(4096);
  length = 0;
  cursor = 0;
  /** Events the kernel said it lost on this CPU, over every poll (lost markers with a count). */
  lostReported = 0;
  /** The page being parsed (its index in `pages`). */
  private pageIndex = 0;

  constructor(readonly cpu: number) {}

  /** Empty the run for the next poll, keeping its arrays (they grew to the burst's size once). */
  reset(): void {
    this.pages.length = 0;
    this.length = 0;
    this.cursor = 0;
  }

  /** Index the records of one ring-buffer page holding `bytes` bytes; the run keeps the page. */
  addPage(page: Buffer, bytes: number): void {
    this.pages.push(page);
    this.pageIndex = this.pages.length - 1;
    parseRingBufferPage(page, bytes, this);
  }

  event(_buf: Buffer, offset: number, _length: number, tsNs: number): void {
    this.push(tsNs, this.pageIndex, offset, 0);
  }

  lost(count: number | null, tsNs: number): void {
    this.lostReported += count ?? 0;
    this.push(tsNs, this.pageIndex, -1, count ?? -1);
  }

  push(tsNs: number, pageIndex: number, offset: number, lost: number): void {
    if (this.length === this.ts.length) this.grow();
    const i = this.length++;
    this.ts[i] = tsNs;
    this.page[i] = pageIndex;
    this.offset[i] = offset;
    this.lostCount[i] = lost;
  }

  get done(): boolean {
    return this.cursor >= this.length;
  }

  peekTs(): number {
    return this.ts[this.cursor]!;
  }

  private grow(): void {
    const size = this.ts.length * 2;
    const ts = new Float64Array(size);
    ts.set(this.ts);
    this.ts = ts;
    const page = new Int32Array(size);
    page.set(this.page);
    this.page = page;
    const offset = new Int32Array(size);
    offset.set(this.offset);
    this.offset = offset;
    const lostCount = new Float64Array(size);
    lostCount.set(this.lostCount);
    this.lostCount = lostCount;
  }
}
