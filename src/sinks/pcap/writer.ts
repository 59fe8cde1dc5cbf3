/**
 * pcap writer (pcap-savefile(5)): little-endian, micro- or nanosecond timestamps, one link type.
 * Buffered writes to a file descriptor; `close()` flushes. Used by `tcpdiag capture` (files
 * Wireshark opens) and to build test fixtures and benchmark captures.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { FileUnwritableError } from '../../errors.js';

export interface PcapWriterOptions {
  readonly linkType: number;
  readonly snaplen?: number;
  readonly nanosecond?: boolean;
  readonly bigEndian?: boolean;
  /** Flush buffer size; 1 MiB by default. */
  readonly bufferBytes?: number;
}

export class PcapWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private used = 0;
  private closed = false;
  /** Bytes written to the file so far (header included), for size limits and rotation. */
  bytesWritten = 0;
  packets = 0;

  constructor(readonly path: string, private readonly options: PcapWriterOptions) {
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch (error: unknown) {
      throw new FileUnwritableError(path, error);
    }
    this.buf = Buffer.allocUnsafe(Math.max(options.bufferBytes ?? 1 << 20, 65_536 + 16));
    const header = Buffer.alloc(24);
    const magic = options.nanosecond === true ? 0xa1b23c4d : 0xa1b2c3d4;
    const be = options.bigEndian === true;
    const w32 = (v: number, at: number): void => void (be ? header.writeUInt32BE(v, at) : header.writeUInt32LE(v, at));
    const w16 = (v: number, at: number): void => void (be ? header.writeUInt16BE(v, at) : header.writeUInt16LE(v, at));
    w32(magic, 0);
    w16(2, 4);
    w16(4, 6);
    w32(0, 8);
    w32(0, 12);
    w32(options.snaplen ?? 262_144, 16);
    w32(options.linkType, 20);
    this.append(header, 0, 24);
  }

  /** Write one record: `data[offset, offset+capLen)` with its on-the-wire length. */
  write(tsSec: number, tsNsec: number, data: Uint8Array, offset = 0, capLen = data.length - offset, origLen = capLen): void {
    const be = this.options.bigEndian === true;
    if (this.used + 16 + capLen > this.buf.length) this.flush();
    const b = this.buf;
    const frac = this.options.nanosecond === true ? tsNsec : Math.floor(tsNsec / 1000);
    if (be) {
      b.writeUInt32BE(tsSec >>> 0, this.used);
      b.writeUInt32BE(frac, this.used + 4);
      b.writeUInt32BE(capLen, this.used + 8);
      b.writeUInt32BE(origLen, this.used + 12);
    } else {
      b.writeUInt32LE(tsSec >>> 0, this.used);
      b.writeUInt32LE(frac, this.used + 4);
      b.writeUInt32LE(capLen, this.used + 8);
      b.writeUInt32LE(origLen, this.used + 12);
    }
    this.used += 16;
    this.bytesWritten += 16;
    this.append(data, offset, capLen);
    this.packets++;
  }

  private append(data: Uint8Array, offset: number, length: number): void {
    if (this.used + length > this.buf.length) this.flush();
    if (length > this.buf.length) {
      writeSync(this.fd, data, offset, length);
    } else {
      this.buf.set(data.subarray(offset, offset + length), this.used);
      this.used += length;
    }
    this.bytesWritten += length;
  }

  flush(): void {
    let done = 0;
    try {
      while (done < this.used) done += writeSync(this.fd, this.buf, done, this.used - done);
    } catch (error: unknown) {
      throw new FileUnwritableError(this.path, error);
    }
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    closeSync(this.fd);
  }
}
