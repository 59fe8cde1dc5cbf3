/**
 * Where captured packets go: one pcap file, or a ring of N files of a set size for continuous
 * capture (NAME-0001.pcap, NAME-0002.pcap, ...; opening file n deletes file n-N).
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { FileUnwritableError } from '../../errors.js';
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

  /** The first file's path (for a ring, NAME-0001.ext). */
  private firstPath(): string {
    return this.options.ringFiles > 0 ? this.ringPath(1) : this.options.path;
  }

  private ringPath(sequence: number): string {
    const path = this.options.path;
    const ext = extname(path) || '.pcap';
    const stem = basename(path, extname(path));
    return join(dirname(path), `${stem}-${String(sequence).padStart(4, '0')}${ext}`);
  }

  /**
   * Check before capturing that the first file can be created (it is created, empty): an
   * unwritable path fails at once with FileUnwritableError, not after the capture.
   */
  probe(): void {
    const path = this.firstPath();
    try {
      closeSync(openSync(path, 'w', 0o600));
    } catch (error: unknown) {
      throw new FileUnwritableError(path, error);
    }
  }

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
      path = this.ringPath(this.sequence);
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

  /**
   * Write what is buffered: every file of `files` then ends at a whole record on disk, so it can
   * be copied as a valid capture (the agent freezes a ring's last minutes this way).
   */
  flush(): void {
    this.writer?.flush();
  }

  /** The capture never started: remove what probe() and any writes created. */
  discard(): void {
    this.writer?.close();
    this.writer = null;
    for (const f of [...this.files, this.firstPath()]) rmSync(f, { force: true });
    this.files.length = 0;
  }

  /**
   * Flush and close. With nothing written, the (first) file still becomes a valid capture with
   * no packets, as tcpdump -w leaves one: `linkType` is what the capture would have had.
   */
  close(linkType?: number): void {
    if (this.writer === null && linkType !== undefined) this.rotate(linkType);
    this.writer?.close();
  }
}
