/**
 * One page ("sub-buffer") of the kernel's ring buffer as per_cpu/cpuN/trace_pipe_raw returns
 * it (kernel/trace/ring_buffer.c, the layout events/header_page and events/header_event
 * describe):
 *
 *   u64 timestamp            absolute time of the page's first event (the instance's trace_clock)
 *   local_t commit (8 bytes) bytes of event data; bit 31 RB_MISSED_EVENTS, bit 30 RB_MISSED_STORED
 *   data...                  events, each a 32-bit header: type_len:5, time_delta:27
 *   [u64 missed]             when RB_MISSED_STORED: events lost before this page, after the data
 *
 * type_len 1..28: data of type_len*4 bytes follows the header; 0: a u32 length (that counts
 * itself) then data; 29 padding; 30 time extend (delta += array[0] << 27); 31 absolute
 * timestamp. Lost events are how the kernel says the reader fell behind in overwrite mode
 * (ring_buffer_read_page); they are never dropped silently here.
 *
 * Reading binary pages instead of trace_pipe's text spares the kernel formatting every event
 * (%pI6c, __print_symbolic) and us parsing text: the cost that matters at 170k events/s.
 */

export const RB_MISSED_EVENTS = 1 << 31;
export const RB_MISSED_STORED = 1 << 30;
const COMMIT_MASK = ~(RB_MISSED_EVENTS | RB_MISSED_STORED) >>> 0;
/** Width of a record header's time delta; longer gaps take a time-extend record. */
export const TS_SHIFT = 27;
export const TYPE_PADDING = 29;
export const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
export const PAGE_HEADER_BYTES = 16;

export interface PageVisitor {
  /** One event record: its payload is buf[offset, offset + length), starting with common_type. */
  event(buf: Buffer, offset: number, length: number, tsNs: number): void;
  /** The kernel lost events before this page; count is null when it could not store the number. */
  lost(count: number | null, tsNs: number): void;
}

/**
 * Walk one page. Returns the number of events seen. A truncated or inconsistent page ends the
 * walk at the last whole record instead of throwing: the rest of the stream stays usable.
 */
export function parseRingBufferPage(buf: Buffer, pageBytes: number, visitor: PageVisitor): number {
  if (pageBytes < PAGE_HEADER_BYTES) return 0;
  let tsNs = buf.readUInt32LE(0) + buf.readUInt32LE(4) * 4294967296;
  const commitWord = buf.readUInt32LE(8);
  const dataBytes = (commitWord & COMMIT_MASK) >>> 0;
  const end = Math.min(PAGE_HEADER_BYTES + dataBytes, pageBytes);
  if ((commitWord & RB_MISSED_EVENTS) !== 0) {
    let count: number | null = null;
    if ((commitWord & RB_MISSED_STORED) !== 0 && end + 8 <= pageBytes) {
      count = buf.readUInt32LE(end) + buf.readUInt32LE(end + 4) * 4294967296;
    }
    visitor.lost(count, tsNs);
  }
  let pos = PAGE_HEADER_BYTES;
  let events = 0;
  while (pos + 4 <= end) {
    const header = buf.readUInt32LE(pos);
    const typeLen = header & 0x1f;
    const delta = header >>> 5;
    if (typeLen === TYPE_PADDING) {
      // Padding with delta 0 fills the rest of the page; otherwise array[0] is its length.
      if (delta === 0 || pos + 8 > end) break;
      tsNs += delta;
      pos += 4 + buf.readUInt32LE(pos + 4);
      continue;
    }
    if (typeLen === TYPE_TIME_EXTEND) {
      if (pos + 8 > end) break;
      tsNs += delta + buf.readUInt32LE(pos + 4) * 2 ** TS_SHIFT;
      pos += 8;
      continue;
    }
    if (typeLen === TYPE_TIME_STAMP) {
      if (pos + 8 > end) break;
      // Absolute timestamp (only in absolute-timestamp mode, which tcpdiag does not enable);
      // the top bits may hold the page's high bits, which the page timestamp already gives.
      tsNs = delta + buf.readUInt32LE(pos + 4) * 2 ** TS_SHIFT;
      pos += 8;
      continue;
    }
    let dataStart: number;
    let length: number;
    if (typeLen === 0) {
      if (pos + 8 > end) break;
      length = buf.readUInt32LE(pos + 4) - 4;
      dataStart = pos + 8;
      length = (length + 3) & ~3;
    } else {
      length = typeLen * 4;
      dataStart = pos + 4;
    }
    if (length <= 0 || dataStart + length > end) break;
    tsNs += delta;
    visitor.event(buf, dataStart, length, tsNs);
    events++;
    pos = dataStart + length;
  }
  return events;
}
