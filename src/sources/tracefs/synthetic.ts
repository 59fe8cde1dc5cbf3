/**
 * Ring-buffer pages of made-up sock:inet_sock_set_state records, laid out by the running
 * kernel's own format (offsets, event id) exactly as trace_pipe_raw hands them over. They let
 * the decode -> track -> print path run before tracing starts (TracefsTcpSource.warmUp). The
 * connections are between documentation addresses (192.0.2.0/24, RFC 5737; 2001:db8::/32,
 * RFC 3849), and the events go to a pipeline whose output is discarded.
 */
import type { EventFormat } from './format.js';
import { requireField } from './format.js';
import { PAGE_HEADER_BYTES, TS_SHIFT, TYPE_PADDING, TYPE_TIME_EXTEND } from './ring-buffer.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateToKernel } from '../../model/tcp-state.js';

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
/** include/linux/trace_events.h TRACE_FLAG_SOFTIRQ */
const SOFTIRQ = 0x10;
/** type_len 1..28 gives a record's length in words; longer records would need a length word. */
const MAX_SHORT_RECORD_BYTES = 28 * 4;

export interface SyntheticPage {
  readonly cpu: number;
  readonly page: Buffer;
  /** Bytes of the page in use, as a read() of trace_pipe_raw returns. */
  readonly bytes: number;
}

interface Transition {
  readonly client: boolean;
  readonly oldState: TcpState;
  readonly newState: TcpState;
  readonly softirq: boolean;
}

/**
 * The ten transitions of a loopback connection, client closing first, in the order and context
 * this kernel reports them (captured from a real burst): connect() is CLOSE->SYN_SENT before a
 * local port is chosen, and the handshake completes in the connecting task; the server's child
 * is cloned from the listener (LISTEN->SYN_RECV) in softirq.
 */
const CONNECTION: readonly Transition[] = [
  { client: true, oldState: 'CLOSE', newState: 'SYN_SENT', softirq: false },
  { client: true, oldState: 'SYN_SENT', newState: 'ESTABLISHED', softirq: false },
  { client: false, oldState: 'LISTEN', newState: 'SYN_RECV', softirq: true },
  { client: false, oldState: 'SYN_RECV', newState: 'ESTABLISHED', softirq: true },
  { client: true, oldState: 'ESTABLISHED', newState: 'FIN_WAIT1', softirq: false },
  { client: false, oldState: 'ESTABLISHED', newState: 'CLOSE_WAIT', softirq: true },
  { client: false, oldState: 'CLOSE_WAIT', newState: 'LAST_ACK', softirq: false },
  { client: true, oldState: 'FIN_WAIT1', newState: 'FIN_WAIT2', softirq: true },
  { client: true, oldState: 'FIN_WAIT2', newState: 'CLOSE', softirq: true },
  { client: false, oldState: 'LAST_ACK', newState: 'CLOSE', softirq: false },
];

export interface SyntheticTraffic {
  readonly connections: number;
  /** The listener's port (the trace's port filter, so the events pass it). */
  readonly serverPort: number;
  /** The task the process-context events fired in (common_pid). */
  readonly tid: number;
  /** Monotonic time of the first event. */
  readonly startNs: number;
}

/**
 * A listener, connections to it and the listener's close, alternately on two CPUs (so the
 * merge by time sees two runs), with a pause of 200 ms after the listener opens (a time-extend
 * record, as the kernel writes for gaps over 2^27 ns) and now and then a discarded record (an
 * event the kernel filter rejected, left as padding).
 * Like real traffic, not everything repeats: every eighth connection is IPv6, client addresses
 * change every few dozen connections, other listeners come and go, some states last under a
 * microsecond. So the branches a real burst takes have run before it comes.
 */
export function syntheticStatePages(format: EventFormat, pageBytes: number, traffic: SyntheticTraffic): SyntheticPage[] {
  const { connections, serverPort, tid } = traffic;
  const fields = fieldWriter(format);
  const writers = [new PageWriter(0, pageBytes, fields.recordBytes), new PageWriter(1, pageBytes, fields.recordBytes)];
  const record = Buffer.alloc(fields.recordBytes);
  let tsNs = traffic.startNs;
  // Listener events carry no task, so no owner is learnt for the port from made-up events.
  const listener = (oldState: TcpState, newState: TcpState, n: number) => {
    tsNs += 1000;
    fields.write(record, {
      softirq: false, tid: 0, skaddr: 0xffff888000000000n + BigInt(n) * 0x1000n, oldState, newState, v6: false,
      local: { host: 1, port: serverPort }, remote: { host: 0, port: 0 },
    });
    writers[0]!.append(record, tsNs);
  };
  listener('CLOSE', 'LISTEN', 0);
  tsNs += 200e6;
  for (let c = 0; c < connections; c++) {
    // Listeners come and go too (another one opens and closes now and then).
    if (c % 500 === 250) {
      listener('CLOSE', 'LISTEN', c);
      listener('LISTEN', 'CLOSE', c);
    }
    const v6 = c % 8 === 7;
    const clientHost = 2 + (Math.floor(c / 50) % 250);
    const clientPort = 32768 + (c % 28000);
    // Kernel-like struct sock addresses (0xffff8881...), distinct per socket.
    const clientSk = 0xffff888100001000n + BigInt(c) * 0x1000n;
    for (const [i, t] of CONNECTION.entries()) {
      // Some states last less than the 1 us that durations are rounded to, as on loopback.
      tsNs += (c + i) % 3 === 0 ? 200 : 2500;
      const client = { host: clientHost, port: t.oldState === 'CLOSE' ? 0 : clientPort };
      const server = { host: 1, port: serverPort };
      fields.write(record, {
        softirq: t.softirq,
        tid,
        skaddr: t.client ? clientSk : clientSk + 0x800n,
        oldState: t.oldState,
        newState: t.newState,
        v6,
        local: t.client ? client : server,
        remote: t.client ? server : client,
      });
      writers[c % 2]!.append(record, tsNs);
    }
  }
  listener('LISTEN', 'CLOSE', 0);
  return writers.flatMap((w) => w.finish());
}

interface RecordFields {
  readonly softirq: boolean;
  /** The task the event fired in (common_pid). */
  readonly tid: number;
  readonly skaddr: bigint;
  readonly oldState: TcpState;
  readonly newState: TcpState;
  readonly v6: boolean;
  readonly local: { readonly host: number; readonly port: number };
  readonly remote: { readonly host: number; readonly port: number };
}

function fieldWriter(format: EventFormat): { recordBytes: number; write(record: Buffer, f: RecordFields): void } {
  const at = (name: string) => requireField(format, name).offset;
  const type = at('common_type');
  const flags = at('common_flags');
  const pid = at('common_pid');
  const skaddr = at('skaddr');
  const oldstate = at('oldstate');
  const newstate = at('newstate');
  const sport = at('sport');
  const dport = at('dport');
  const family = at('family');
  const protocol = at('protocol');
  const saddr = at('saddr');
  const daddr = at('daddr');
  const saddr6 = at('saddr_v6');
  const daddr6 = at('daddr_v6');
  let end = 0;
  for (const f of format.fields.values()) end = Math.max(end, f.offset + f.size);
  return {
    recordBytes: (end + 3) & ~3,
    write(record, f) {
      record.fill(0);
      record.writeUInt16LE(format.id, type);
      record[flags] = f.softirq ? SOFTIRQ : 0;
      record.writeInt32LE(f.tid, pid);
      record.writeBigUInt64LE(f.skaddr, skaddr);
      record.writeInt32LE(tcpStateToKernel(f.oldState), oldstate);
      record.writeInt32LE(tcpStateToKernel(f.newState), newstate);
      record.writeUInt16LE(f.v6 ? AF_INET6 : AF_INET, family);
      record.writeUInt16LE(IPPROTO_TCP, protocol);
      // sport/dport are host order in this tracepoint (it applies ntohs); addresses are bytes.
      record.writeUInt16LE(f.local.port, sport);
      record.writeUInt16LE(f.remote.port, dport);
      if (f.v6) {
        documentationV6(record, saddr6, f.local.host);
        documentationV6(record, daddr6, f.remote.host);
      } else {
        documentationV4(record, saddr, f.local.host);
        documentationV4(record, daddr, f.remote.host);
      }
    },
  };
}

/** 192.0.2.HOST (RFC 5737 TEST-NET-1). */
function documentationV4(record: Buffer, at: number, host: number): void {
  record[at] = 192;
  record[at + 1] = 0;
  record[at + 2] = 2;
  record[at + 3] = host;
}

/** 2001:db8::HOST (RFC 3849). */
function documentationV6(record: Buffer, at: number, host: number): void {
  record[at] = 0x20;
  record[at + 1] = 0x01;
  record[at + 2] = 0x0d;
  record[at + 3] = 0xb8;
  record[at + 15] = host;
}

/** Fills pages as the kernel's ring buffer does: a page header, then records with time deltas. */
class PageWriter {
  private readonly pages: SyntheticPage[] = [];
  private page: Buffer | null = null;
  private pos = 0;
  private lastTsNs = 0;
  private records = 0;

  constructor(private readonly cpu: number, private readonly pageBytes: number, private readonly recordBytes: number) {
    if (recordBytes > MAX_SHORT_RECORD_BYTES) throw new RangeError(`a synthetic record is at most ${MAX_SHORT_RECORD_BYTES} bytes (got ${recordBytes})`);
  }

  append(record: Buffer, tsNs: number): void {
    // Room for a time extend, a discarded record and this one.
    if (this.page === null || this.pos + 8 + 2 * (4 + this.recordBytes) > this.pageBytes) this.newPage(tsNs);
    const page = this.page!;
    let delta = tsNs - this.lastTsNs;
    if (delta >= 2 ** TS_SHIFT) {
      // Time extend: the low 27 bits of the delta in the header, the rest in the next word.
      page.writeUInt32LE((((delta % 2 ** TS_SHIFT) << 5) | TYPE_TIME_EXTEND) >>> 0, this.pos);
      page.writeUInt32LE(Math.floor(delta / 2 ** TS_SHIFT), this.pos + 4);
      this.pos += 8;
      delta = 0;
    }
    if (++this.records % 97 === 0 && delta > 0) {
      // A discarded event: padding with a time delta and its length in the next word.
      page.writeUInt32LE(((1 << 5) | TYPE_PADDING) >>> 0, this.pos);
      page.writeUInt32LE(this.recordBytes, this.pos + 4);
      this.pos += 4 + this.recordBytes;
      delta -= 1;
    }
    // The record header: type_len (length in 4-byte words) in the low 5 bits, the time delta above.
    page.writeUInt32LE(((delta << 5) | (this.recordBytes / 4)) >>> 0, this.pos);
    record.copy(page, this.pos + 4, 0, this.recordBytes);
    this.pos += 4 + this.recordBytes;
    this.lastTsNs = tsNs;
  }

  finish(): SyntheticPage[] {
    this.closePage();
    return this.pages;
  }

  private newPage(tsNs: number): void {
    this.closePage();
    this.page = Buffer.alloc(this.pageBytes);
    this.page.writeBigUInt64LE(BigInt(tsNs), 0);
    this.pos = PAGE_HEADER_BYTES;
    this.lastTsNs = tsNs;
  }

  private closePage(): void {
    if (this.page === null) return;
    this.page.writeUInt32LE(this.pos - PAGE_HEADER_BYTES, 8); // commit: bytes of event data
    this.pages.push({ cpu: this.cpu, page: this.page, bytes: this.pos });
    this.page = null;
  }
}
