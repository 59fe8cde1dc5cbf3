/**
 * A capture file as an event source: each poll reads one chunk (4 MiB by default) and hands
 * over the packets it completes, so a caller that yields between polls stays responsive (a
 * Ctrl-C or an HTTP request waits for one chunk, not for the whole file). Memory stays at one
 * chunk plus one unfinished record, whatever the file's size.
 *
 * A file loses nothing (`lost` stays 0); a damaged file ends in a MalformedInputError thrown
 * by the poll that meets the damage, after every packet before it has been delivered.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { FileUnreadableError, MalformedInputError } from '../../errors.js';
import type { PcapFileInfo, RawPacket } from '../../model/packet.js';
import type { BackendName, CaptureFileSource, EventSourceSummary, EventVisitor } from '../source.js';
import { PcapParser } from './reader.js';

export interface PcapFileSourceOptions {
  /** Bytes read per poll. */
  readonly chunkBytes?: number;
}

const NOTHING_LOST: EventSourceSummary = { lostReported: 0, kernelLost: 0, perCpu: [] };

export class PcapFileSource implements CaptureFileSource<Buffer> {
  readonly backend: BackendName = 'pcap-file';
  readonly lost = 0;
  private readonly parser: PcapParser;
  private readonly chunk: Buffer;
  private visitor: EventVisitor<RawPacket<Buffer>> | null = null;
  private delivered = 0;
  private fd: number | null;
  private done = false;

  private constructor(private readonly path: string, fd: number, chunkBytes: number) {
    this.fd = fd;
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.parser = new PcapParser((p) => {
      this.delivered++;
      this.visitor?.(p);
    }, path);
  }

  /** Throws FileUnreadableError when the file cannot be opened. */
  static open(path: string, options: PcapFileSourceOptions = {}): PcapFileSource {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error: unknown) {
      throw new FileUnreadableError(path, error);
    }
    return new PcapFileSource(path, fd, options.chunkBytes ?? 4 * 1024 * 1024);
  }

  get ended(): boolean {
    return this.done;
  }

  /** Packets delivered so far. */
  get packets(): number {
    return this.parser.packets;
  }

  /** The file's format and link types once its header has been read; null before (or if it has none). */
  info(): PcapFileInfo | null {
    return this.parser.info();
  }

  /** Read one chunk and hand over the packets it completes. */
  poll(visit: EventVisitor<RawPacket<Buffer>>): number {
    return this.read(visit, 1);
  }

  /** Read the rest of the file. */
  drain(visit: EventVisitor<RawPacket<Buffer>>): number {
    return this.read(visit, Infinity);
  }

  close(): Promise<EventSourceSummary> {
    this.done = true;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    return Promise.resolve(NOTHING_LOST);
  }

  private read(visit: EventVisitor<RawPacket<Buffer>>, maxChunks: number): number {
    const before = this.delivered;
    this.visitor = visit;
    try {
      for (let n = 0; n < maxChunks && !this.done; n++) {
        if (this.fd === null) throw new MalformedInputError(this.path, 'read after close');
        let bytes: number;
        try {
          bytes = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
        } catch (error: unknown) {
          this.done = true;
          throw new FileUnreadableError(this.path, error);
        }
        if (bytes === 0) {
          this.done = true;
          this.parser.end();
          if (this.parser.info() === null) throw new MalformedInputError(this.path, 'no pcap header', 0);
          break;
        }
        // The parser keeps a view of the chunk only for the duration of push(); it copies tails.
        this.parser.push(this.chunk.subarray(0, bytes));
      }
    } catch (error: unknown) {
      this.done = true;
      throw error;
    } finally {
      this.visitor = null;
    }
    return this.delivered - before;
  }
}
