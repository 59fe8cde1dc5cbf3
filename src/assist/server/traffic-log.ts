/**
 * What the server reports about the bytes it moves. By default a connection's first read and
 * first write are shown, then counts at most once a second and at close: a benchmark against
 * an echo server that logged (and hex-dumped) every read wrote 987 MB of log in 25 s and
 * measured the logger. --hex-dump shows every read and write, as before.
 */
import type { Peer, ServerEvent } from './server.js';

interface Pending {
  readsIn: number;
  bytesIn: number;
  writesOut: number;
  bytesOut: number;
  shownRead: boolean;
  shownWrite: boolean;
  sinceMs: number;
}

const REPORT_EVERY_MS = 1000;

export class TrafficLog {
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly everyRead: boolean,
    private readonly emit: (event: ServerEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  read(peer: Peer, data: Buffer, totalBytes: number): void {
    const p = this.of(peer);
    if (this.everyRead || !p.shownRead) {
      p.shownRead = true;
      this.emit({ type: 'data', peer, data, totalBytes });
      return;
    }
    p.readsIn++;
    p.bytesIn += data.length;
    this.maybeReport(peer, p);
  }

  wrote(peer: Peer, bytes: number, reason: string): void {
    const p = this.of(peer);
    if (this.everyRead || !p.shownWrite) {
      p.shownWrite = true;
      this.emit({ type: 'sent', peer, bytes, reason });
      return;
    }
    p.writesOut++;
    p.bytesOut += bytes;
    this.maybeReport(peer, p);
  }

  /** Report what is pending and forget the connection (before its close line). */
  closed(peer: Peer): void {
    const p = this.pending.get(peer.id);
    if (p !== undefined) this.report(peer, p);
    this.pending.delete(peer.id);
  }

  private of(peer: Peer): Pending {
    let p = this.pending.get(peer.id);
    if (p === undefined) {
      p = { readsIn: 0, bytesIn: 0, writesOut: 0, bytesOut: 0, shownRead: false, shownWrite: false, sinceMs: this.now() };
      this.pending.set(peer.id, p);
    }
    return p;
  }

  private maybeReport(peer: Peer, p: Pending): void {
    if (this.now() - p.sinceMs >= REPORT_EVERY_MS) this.report(peer, p);
  }

  private report(peer: Peer, p: Pending): void {
    const now = this.now();
    if (p.readsIn + p.writesOut > 0) {
      this.emit({ type: 'traffic', peer, readsIn: p.readsIn, bytesIn: p.bytesIn, writesOut: p.writesOut, bytesOut: p.bytesOut, periodMs: now - p.sinceMs });
    }
    p.readsIn = p.bytesIn = p.writesOut = p.bytesOut = 0;
    p.sinceMs = now;
  }
}
