/**
 * Where captured packets go: one pcap file, or a ring of N files of a set size for continuous
 * capture (NAME-0001.pcap, NAME-0002.pcap, ...; opening file n deletes file n-N).
 */
import { rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { PcapWriter } from './writer.js';

export interface FileRingOptions {
  readonly path: string;
  /** 0: a single file, no rotation. */
  readonly ringFiles: number;
  readonly ringFileBytes: number;
  readonly snaplen: number;
}

export class FileRing {
  private writer: PcapWriter | null = null;
  private sequence = 0;
  private readonly open: string[] = [];
  /** Every file written (deleted ring files excluded). */
  readonly files: string[] = [];
  bytesWritten = 0;

  constructor(private readonly options: FileRingOptions) {}

  write(linkType: number, tsSec: number, tsNsec: number, data: Buffer, offset: number, capLen: number, origLen: number): void {
    if (this.writer === null || (this.options.ringFiles > 0 && this.writer.bytesWritten + 16 + capLen > this.options.ringFileBytes && this.writer.packets > 0)) {
      this.rotate(linkType);
    }
    const w = this.writer!;
    const before = w.bytesWritten;
    w.write(tsSec, tsNsec, data, offset, capLen, origLen);
    this.bytesWritten += w.bytesWritten - before;
  }

  private rotate(linkType: number): void {
    this.writer?.close();
    let path = this.options.path;
    if (this.options.ringFiles > 0) {
      this.sequence++;
      const ext = extname(path) || '.pcap';
      const stem = basename(path, extname(path));
      path = join(dirname(path), `${stem}-${String(this.sequence).padStart(4, '0')}${ext}`);
      this.open.push(path);
      while (this.open.length > this.options.ringFiles) {
        const old = this.open.shift()!;
        rmSync(old, { force: true });
        const i = this.files.indexOf(old);
        if (i >= 0) this.files.splice(i, 1);
      }
    }
    // Nanosecond timestamps: tcpdump's stream is microsecond, but analysis keeps ns internally.
    this.writer = new PcapWriter(path, { linkType, snaplen: this.options.snaplen, nanosecond: true });
    this.bytesWritten += this.writer.bytesWritten;
    this.files.push(path);
  }

  close(): void {
    this.writer?.close();
  }
}
