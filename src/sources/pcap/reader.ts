/**
 * Streaming reader for pcap (micro- and nanosecond, both byte orders) and pcapng (several
 * sections and interfaces, EPB/SPB/obsolete PB, if_tsresol, if_tsoffset). Push bytes in any
 * chunking (a file a chunk at a time, file-source.ts, or tcpdump's stdout) and it calls
 * `onPacket` for each whole record; only the unfinished tail of a chunk is kept, so memory does
 * not grow with the file.
 *
 * Formats: https://www.tcpdump.org/manpages/pcap-savefile.5.txt and
 * https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html. Hostile input ends in a
 * MalformedInputError that names the byte offset and the packet number; packets before the
 * damage have already been delivered.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { FileUnreadableError, MalformedInputError } from '../../errors.js';
import type { FileFormat, PcapFileInfo, RawPacket } from '../../model/packet.js';

/** Larger records are refused as Wireshark does (WTAP_MAX_PACKET_SIZE_STANDARD, wiretap/wtap.h). */
export const MAX_RECORD_BYTES = 262_144;
/** A pcapng block may carry options around the packet; anything past this is hostile. */
const MAX_BLOCK_BYTES = MAX_RECORD_BYTES + 65_536;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

interface NgInterface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second: 10^k or 2^k (if_tsresol, default 10^6). */
  unitsPerSecond: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offsetSec: number;
}

export type PacketHandler = (packet: RawPacket<Buffer>) => void;

function isCaptureMagic(b: Buffer): boolean {
  const le = b.readUInt32LE(0);
  const be = b.readUInt32BE(0);
  return le === PCAPNG_SHB || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS;
}

export class PcapParser {
  private pending: Buffer | null = null;
  /** Offset in the whole input of `pending[0]` (or of the next chunk when nothing is pending). */
  private base = 0;
  private format: FileFormat | null = null;
  private littleEndian = true;
  private nanosecond = false;
  private pcapLinkType = 0;
  private pcapSnaplen = 0;
  private interfaces: NgInterface[] = [];
  private linkTypesSeen: number[] = [];
  private packetCount = 0;
  private readonly packet: RawPacket<Buffer> = {
    index: 0,
    fileOffset: 0,
    linkType: 0,
    tsSec: 0,
    tsNsec: 0,
    capLen: 0,
    origLen: 0,
    buf: Buffer.alloc(0),
    offset: 0,
    interfaceId: 0,
  };

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly source = 'capture',
  ) {}

  /** Packets delivered so far. */
  get packets(): number {
    return this.packetCount;
  }

  /** Bytes consumed so far (complete records). */
  get bytesConsumed(): number {
    return this.base;
  }

  info(): PcapFileInfo | null {
    if (this.format === null) return null;
    return {
      format: this.format,
      nanosecond: this.nanosecond,
      bigEndian: !this.littleEndian,
      linkTypes: [...this.linkTypesSeen],
      snaplen: this.format === 'pcap' ? this.pcapSnaplen : (this.interfaces[0]?.snaplen ?? 0),
    };
  }

  push(chunk: Buffer): void {
    let rest = chunk;
    if (this.pending !== null) {
      // Finish the record cut by the previous chunk with just enough of this one (never copy
      // whole chunks: that would allocate a chunk-sized buffer per read and bloat RSS).
      const take = Math.min(rest.length, MAX_BLOCK_BYTES + 64);
      const held = this.pending.length;
      const buf = Buffer.concat([this.pending, rest.subarray(0, take)]);
      const used = this.parseAny(buf);
      this.base += used;
      if (used <= held) {
        // Still unfinished: keep what we have (take covers any valid record, so rest is done).
        this.pending = Buffer.from(buf.subarray(used));
        if (take === rest.length) return;
        rest = rest.subarray(take);
        this.pending = Buffer.concat([this.pending, rest]);
        return;
      }
      this.pending = null;
      rest = rest.subarray(used - held);
    }
    const used = this.parseAny(rest);
    this.base += used;
    // Copy the unfinished tail so the (large, reused) chunk it came from can be freed.
    this.pending = used >= rest.length ? null : Buffer.from(rest.subarray(used));
  }

  private parseAny(buf: Buffer): number {
    const ng = this.format === 'pcapng' || (this.format === null && buf.length >= 4 && buf.readUInt32LE(0) === PCAPNG_SHB);
    return ng ? this.parseNg(buf) : this.parsePcap(buf);
  }

  /** The input ended: anything left over is a truncated record. */
  end(): void {
    const left = this.pending?.length ?? 0;
    if (this.format === null) {
      const head = this.pending;
      if (head !== null && head.length >= 4 && !isCaptureMagic(head)) {
        throw new MalformedInputError(this.source, `not a pcap or pcapng file (magic 0x${head.readUInt32BE(0).toString(16).padStart(8, '0')})`, 0,
          'is this a capture file? tcpdiag reads pcap and pcapng (tcpdump -w, Wireshark, tshark, editcap)');
      }
      throw new MalformedInputError(this.source, left === 0 ? 'empty input: no pcap or pcapng header' : `only ${left} bytes: too short for a pcap or pcapng header`, 0,
        'is this a capture file? tcpdiag reads pcap and pcapng (tcpdump -w, Wireshark, tshark, editcap)');
    }
    if (left > 0) {
      throw new MalformedInputError(this.source, `truncated: the record after packet ${this.packetCount} is cut short (${left} bytes of it present)`, this.base,
        'the file was cut off (a capture still running, a copy interrupted); the packets before this point were analysed');
    }
  }

  private fail(message: string, offset: number): never {
    throw new MalformedInputError(this.source, `${message} (after packet ${this.packetCount})`, offset,
      'the file is damaged at this point; the packets before it were analysed');
  }

  // ---- classic pcap -------------------------------------------------------------------------

  private parsePcap(buf: Buffer): number {
    let pos = 0;
    if (this.format === null) {
      if (buf.length < 24) return 0;
      const magicLe = buf.readUInt32LE(0);
      const magicBe = buf.readUInt32BE(0);
      if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) this.littleEndian = true;
      else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) this.littleEndian = false;
      else {
        throw new MalformedInputError(this.source, `not a pcap or pcapng file (magic 0x${magicBe.toString(16).padStart(8, '0')})`, this.base,
          'is this a capture file? tcpdiag reads pcap and pcapng (tcpdump -w, Wireshark, tshark, editcap)');
      }
      this.nanosecond = (this.littleEndian ? magicLe : magicBe) === PCAP_MAGIC_NS;
      this.pcapSnaplen = this.u32(buf, 16);
      // The upper bits of the link type may carry FCS length (pcap-savefile(5), LT_LINKTYPE).
      const network = this.u32(buf, 20);
      // Bits 16-25 are reserved and must be zero (pcap-savefile(5)); Wireshark refuses the file otherwise.
      if ((network & 0x03ff0000) !== 0) this.fail(`the link type field has reserved bits set (0x${network.toString(16).padStart(8, '0')})`, this.base + 20);
      this.pcapLinkType = network & 0x03ffffff;
      this.linkTypesSeen.push(this.pcapLinkType);
      this.format = 'pcap';
      pos = 24;
    }
    const p = this.packet;
    const nsMult = this.nanosecond ? 1 : 1000; // fraction units -> ns
    const le = this.littleEndian;
    while (buf.length - pos >= 16) {
      const tsSec = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      const tsFrac = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      const capLen = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
      const origLen = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
      if (capLen > MAX_RECORD_BYTES) {
        this.fail(`packet ${this.packetCount + 1} claims ${capLen} captured bytes, more than the ${MAX_RECORD_BYTES} any capture holds`, this.base + pos);
      }
      // A fraction past one second is taken as it is (Wireshark's libpcap reader does the same):
      // time deltas stay right, only the shown instant rolls over.
      if (buf.length - pos - 16 < capLen) break;
      p.index = ++this.packetCount;
      p.fileOffset = this.base + pos;
      p.linkType = this.pcapLinkType;
      p.tsSec = tsSec;
      // Wireshark keeps nanoseconds in a signed 32-bit int computed from the unsigned 32-bit
      // field (wiretap/libpcap.c): out-of-range fractions wrap the same way here, so time
      // deltas in a damaged file match tshark's. Valid files are unaffected.
      p.tsNsec = nsMult === 1 ? tsFrac | 0 : ((tsFrac * 1000) % 4294967296) | 0;
      p.capLen = capLen;
      p.origLen = origLen < capLen ? capLen : origLen;
      p.buf = buf;
      p.offset = pos + 16;
      p.interfaceId = 0;
      pos += 16 + capLen;
      this.onPacket(p);
    }
    return pos;
  }

  private u32(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
  }

  private u16(buf: Buffer, at: number): number {
    return this.littleEndian ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
  }

  // ---- pcapng -------------------------------------------------------------------------------

  private parseNg(buf: Buffer): number {
    let pos = 0;
    this.format ??= 'pcapng';
    while (buf.length - pos >= 12) {
      const at = this.base + pos;
      const typeLe = buf.readUInt32LE(pos);
      if (typeLe === PCAPNG_SHB) {
        // A new section: its byte-order magic decides how everything up to the next SHB reads.
        const bom = buf.readUInt32LE(pos + 8);
        if (bom === PCAPNG_BOM) this.littleEndian = true;
        else if (buf.readUInt32BE(pos + 8) === PCAPNG_BOM) this.littleEndian = false;
        else this.fail('pcapng section header with an unknown byte-order magic', at + 8);
      }
      const type = this.u32(buf, pos);
      const total = this.u32(buf, pos + 4);
      if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK_BYTES) {
        this.fail(`pcapng block of type 0x${type.toString(16)} has an impossible length ${total}`, at + 4);
      }
      if (buf.length - pos < total) break;
      if (this.u32(buf, pos + total - 4) !== total) {
        this.fail(`pcapng block of type 0x${type.toString(16)}: trailing length differs from leading length ${total}`, at + total - 4);
      }
      const body = pos + 8;
      const bodyEnd = pos + total - 4;
      switch (type) {
        case PCAPNG_SHB:
          if (total < 28) this.fail('pcapng section header block too short', at);
          // Only version 1.x exists; Wireshark refuses any other major version, and 1.0 only.
          if (this.u16(buf, body + 4) !== 1 || this.u16(buf, body + 6) !== 0) {
            this.fail(`pcapng section header of unknown version ${this.u16(buf, body + 4)}.${this.u16(buf, body + 6)}`, at + 12);
          }
          this.checkOptions(buf, body + 16, bodyEnd);
          this.interfaces = [];
          break;
        case 1:
          this.readInterface(buf, body, bodyEnd, at);
          break;
        case 6:
          this.readEnhanced(buf, body, bodyEnd, at);
          break;
        case 3:
          this.readSimple(buf, body, bodyEnd, at);
          break;
        case 2:
          this.readObsolete(buf, body, bodyEnd, at);
          break;
        case 4:
          this.checkNameResolution(buf, body, bodyEnd, at);
          break;
        case 5:
          // Interface statistics: interface id, timestamp, options.
          if (bodyEnd - body < 12) this.fail('pcapng interface statistics block too short', at);
          this.checkOptions(buf, body + 12, bodyEnd);
          break;
        default:
          // Journal, decryption secrets, custom blocks: nothing for TCP analysis.
          break;
      }
      pos += total;
    }
    return pos;
  }

  private readInterface(buf: Buffer, body: number, end: number, at: number): void {
    if (end - body < 8) this.fail('pcapng interface description block too short', at);
    const iface: NgInterface = {
      linkType: this.u16(buf, body),
      snaplen: this.u32(buf, body + 4),
      unitsPerSecond: 1_000_000,
      offsetSec: 0,
    };
    let opt = body + 8;
    while (end - opt >= 4) {
      const code = this.u16(buf, opt);
      const len = this.u16(buf, opt + 2);
      if (opt + 4 + len > end) this.fail('pcapng interface option runs past its block', this.base + opt);
      if (code === 0) break;
      if (code === 9 && len >= 1) {
        const v = buf[opt + 4] ?? 6;
        const exp = v & 0x7f;
        if ((v & 0x80) === 0 ? exp > 15 : exp > 60) this.fail(`pcapng if_tsresol ${v} is out of range`, this.base + opt + 4);
        iface.unitsPerSecond = (v & 0x80) === 0 ? 10 ** exp : 2 ** exp;
      } else if (code === 14 && len >= 8) {
        const hi = this.u32(buf, opt + 4 + (this.littleEndian ? 4 : 0));
        const lo = this.u32(buf, opt + 4 + (this.littleEndian ? 0 : 4));
        iface.offsetSec = (hi | 0) * 4294967296 + lo;
      }
      opt += 4 + ((len + 3) & ~3);
    }
    // A section names interfaces by a 32-bit id; far more than any host has means a hostile file.
    if (this.interfaces.length >= 65_536) this.fail('more than 65536 interfaces in one pcapng section', at);
    this.interfaces.push(iface);
    if (!this.linkTypesSeen.includes(iface.linkType)) this.linkTypesSeen.push(iface.linkType);
    if (this.interfaces.length === 1) this.nanosecond = iface.unitsPerSecond > 1_000_000;
  }

  private iface(id: number, at: number): NgInterface {
    const iface = this.interfaces[id];
    if (iface === undefined) this.fail(`packet ${this.packetCount + 1} names interface ${id}, but the section describes ${this.interfaces.length}`, at);
    return iface;
  }

  private deliver(buf: Buffer, data: number, capLen: number, origLen: number, iface: NgInterface, ifaceId: number, tsHigh: number, tsLow: number, at: number): void {
    const p = this.packet;
    p.index = ++this.packetCount;
    p.fileOffset = at;
    p.linkType = iface.linkType;
    setTimestamp(p, tsHigh, tsLow, iface.unitsPerSecond);
    p.tsSec += iface.offsetSec;
    p.capLen = capLen;
    p.origLen = origLen < capLen ? capLen : origLen;
    p.buf = buf;
    p.offset = data;
    p.interfaceId = ifaceId;
    this.onPacket(p);
  }

  private readEnhanced(buf: Buffer, body: number, end: number, at: number): void {
    if (end - body < 20) this.fail('pcapng enhanced packet block too short', at);
    const ifaceId = this.u32(buf, body);
    const iface = this.iface(ifaceId, at);
    const capLen = this.u32(buf, body + 12);
    const origLen = this.u32(buf, body + 16);
    if (capLen > end - body - 20) this.fail(`packet ${this.packetCount + 1} claims ${capLen} captured bytes, more than its block holds`, at + 20);
    this.checkOptions(buf, body + 20 + ((capLen + 3) & ~3), end);
    this.deliver(buf, body + 20, capLen, origLen, iface, ifaceId, this.u32(buf, body + 4), this.u32(buf, body + 8), at);
  }

  /**
   * A name resolution block is nothing for TCP analysis, but Wireshark validates its records
   * (an IPv4 record holds at least 4 bytes, an IPv6 one 16) and options, and stops at a bad one.
   */
  private checkNameResolution(buf: Buffer, body: number, end: number, at: number): void {
    let rec = body;
    for (let n = 0; end - rec >= 4; n++) {
      const type = this.u16(buf, rec);
      const len = this.u16(buf, rec + 2);
      if (rec + 4 + len > end) this.fail(`pcapng name resolution record of length ${len} runs past its block`, this.base + rec);
      if (type === 0) {
        this.checkOptions(buf, rec + 4 + ((len + 3) & ~3), end);
        return;
      }
      if (type === 1 && len < 4) this.fail(`pcapng name resolution record ${n} (IPv4) of length ${len}, under 4`, at);
      if (type === 2 && len < 16) this.fail(`pcapng name resolution record ${n} (IPv6) of length ${len}, under 16`, at);
      rec += 4 + ((len + 3) & ~3);
    }
  }

  /**
   * Options of a block (code, length, value padded to 4 bytes, up to opt_endofopt): Wireshark
   * refuses a block whose option runs past its end, the end-of-options marker included.
   */
  private checkOptions(buf: Buffer, opt: number, end: number): void {
    while (end - opt >= 4) {
      const code = this.u16(buf, opt);
      const len = this.u16(buf, opt + 2);
      if (opt + 4 + len > end) this.fail(`pcapng option of length ${len} runs past its block`, this.base + opt);
      if (code === 0) return;
      opt += 4 + ((len + 3) & ~3);
    }
  }

  private readObsolete(buf: Buffer, body: number, end: number, at: number): void {
    if (end - body < 20) this.fail('pcapng packet block too short', at);
    const ifaceId = this.u16(buf, body);
    const iface = this.iface(ifaceId, at);
    const capLen = this.u32(buf, body + 12);
    const origLen = this.u32(buf, body + 16);
    if (capLen > end - body - 20) this.fail(`packet ${this.packetCount + 1} claims ${capLen} captured bytes, more than its block holds`, at + 20);
    this.checkOptions(buf, body + 20 + ((capLen + 3) & ~3), end);
    this.deliver(buf, body + 20, capLen, origLen, iface, ifaceId, this.u32(buf, body + 4), this.u32(buf, body + 8), at);
  }

  private readSimple(buf: Buffer, body: number, end: number, at: number): void {
    if (end - body < 4) this.fail('pcapng simple packet block too short', at);
    const iface = this.iface(0, at);
    const origLen = this.u32(buf, body);
    // SPB has no captured length: it is the original length cut to the snaplen, and the block
    // must hold that much (Wireshark's pcapng reader refuses a block too small for it).
    let capLen = origLen;
    if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
    if (capLen > end - body - 4) this.fail(`simple packet block of ${end - body + 12} bytes is too small for its ${capLen} bytes of packet data`, at);
    // An SPB has no options: Wireshark reads its trailing length right after the padded data,
    // so a block longer than its packet ends in a length mismatch there.
    const trailer = body + 4 + ((capLen + 3) & ~3);
    if (trailer + 4 <= end + 4 && this.u32(buf, trailer) !== end - body + 12) {
      this.fail(`simple packet block: trailing length ${this.u32(buf, trailer)} after its ${capLen} bytes of data differs from leading length ${end - body + 12}`, this.base + trailer);
    }
    const p = this.packet;
    p.index = ++this.packetCount;
    p.fileOffset = at;
    p.linkType = iface.linkType;
    // SPBs carry no timestamp; Wireshark shows 0 as well.
    p.tsSec = 0;
    p.tsNsec = 0;
    p.capLen = capLen;
    p.origLen = origLen < capLen ? capLen : origLen;
    p.buf = buf;
    p.offset = body + 4;
    p.interfaceId = 0;
    this.onPacket(p);
  }
}

/**
 * Split a 64-bit pcapng timestamp (units of 1/unitsPerSecond) into exact seconds and
 * nanoseconds. A double holds integers exactly only up to 2^53, which nanosecond timestamps
 * of this century exceed, hence BigInt for the fine resolutions.
 */
function setTimestamp(p: RawPacket<Buffer>, high: number, low: number, unitsPerSecond: number): void {
  const units = high * 4294967296 + low;
  if (units <= Number.MAX_SAFE_INTEGER) {
    const sec = Math.floor(units / unitsPerSecond);
    p.tsSec = sec;
    p.tsNsec = Math.floor(((units - sec * unitsPerSecond) * 1e9) / unitsPerSecond);
    return;
  }
  const big = (BigInt(high) << 32n) | BigInt(low);
  const per = BigInt(unitsPerSecond);
  const sec = big / per;
  p.tsSec = Number(sec);
  p.tsNsec = Number(((big - sec * per) * 1_000_000_000n) / per);
}

export interface ReadFileOptions {
  readonly chunkBytes?: number;
  readonly signal?: AbortSignal;
  /**
   * Called once reading stops, also when it stops at damage: what the header said (null when
   * there was no header), so a report of a damaged file still names its format.
   */
  readonly onFileInfo?: (info: PcapFileInfo | null) => void;
}

/**
 * Read a capture file from disk in fixed chunks, calling `onPacket` per packet. Memory stays at
 * one chunk plus one unfinished record. Throws FileUnreadableError or MalformedInputError
 * (after delivering every readable packet).
 */
export function readPcapFile(path: string, onPacket: PacketHandler, options: ReadFileOptions = {}): PcapFileInfo {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error: unknown) {
    throw new FileUnreadableError(path, error);
  }
  const parser = new PcapParser(onPacket, path);
  const chunk = Buffer.allocUnsafe(options.chunkBytes ?? 4 * 1024 * 1024);
  try {
    for (;;) {
      if (options.signal?.aborted === true) break;
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error: unknown) {
        throw new FileUnreadableError(path, error);
      }
      if (n === 0) break;
      // The parser may keep a view of the chunk only for the duration of push(); it copies tails.
      parser.push(chunk.subarray(0, n));
    }
    if (options.signal?.aborted !== true) parser.end();
  } finally {
    closeSync(fd);
    options.onFileInfo?.(parser.info());
  }
  const info = parser.info();
  if (info === null) throw new MalformedInputError(path, 'no pcap header', 0);
  return info;
}
