/**
 * One direction of a proxied connection: bytes from `source` to `sink` through the toxics of
 * that direction. With no toxic the bytes go straight through (write on arrival, with
 * backpressure), which keeps the proxy's own added latency to one event-loop turn. With
 * toxics, chunks wait in a queue ordered by due time, so latency never reorders bytes.
 */
import type net from 'node:net';
import type { Direction, ToxicSet } from './toxics.js';

/** Pause reading once this much is queued inside the proxy (backpressure on the sender). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface Queued {
  readonly dueAt: number;
  readonly data: Buffer | null; // null: the FIN
  /** After writing this chunk, reset both sides (reset-after reached). */
  readonly resetAfter: boolean;
}

export interface LinkHooks {
  /** reset-after reached, or a timeout toxic expired: tear the connection down. */
  reset(reason: string): void;
  close(reason: string): void;
}

export class Link {
  bytes = 0;
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastDueAt = 0;
  private bandwidthFreeAt = 0;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private waitingForDrain = false;

  constructor(
    readonly direction: Direction,
    private readonly source: net.Socket,
    private readonly sink: net.Socket,
    private readonly toxics: ToxicSet,
    private readonly hooks: LinkHooks,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.queue.length = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const t = this.toxics.forDirection(this.direction);
    if (t.none && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    if (t.timeout !== undefined) {
      // Stop forwarding (the data is swallowed, as by a black-holing middlebox), then close.
      if (this.timeoutTimer === null && (t.timeout.delayMs ?? 0) > 0) {
        this.timeoutTimer = setTimeout(() => this.hooks.close(`timeout toxic: closed after ${t.timeout?.delayMs} ms`), t.timeout.delayMs);
      }
      return;
    }
    let data = chunk;
    let resetAfter = false;
    const limit = t.resetAfter?.bytes;
    if (limit !== undefined) {
      const forwarded = this.bytes + this.queuedBytes;
      if (forwarded + data.length >= limit) {
        data = data.subarray(0, Math.max(0, limit - forwarded));
        resetAfter = true;
      }
    }
    const now = performance.now();
    const rate = t.bandwidth?.bytesPerSecond;
    // Slices of ~50 ms worth of bandwidth, so a big read trickles out instead of bursting.
    const sliceBytes = rate === undefined ? Math.max(data.length, 1) : Math.max(1, Math.floor(rate / 20));
    for (let at = 0; at < data.length || (at === 0 && resetAfter); at += sliceBytes) {
      const slice = data.subarray(at, Math.min(data.length, at + sliceBytes));
      let dueAt = now;
      if (t.latency !== undefined) {
        const jitter = t.latency.jitterMs ?? 0;
        dueAt += Math.max(0, (t.latency.latencyMs ?? 0) + (jitter > 0 ? (Math.random() * 2 - 1) * jitter : 0));
      }
      if (rate !== undefined) {
        this.bandwidthFreeAt = Math.max(this.bandwidthFreeAt, now) + (slice.length / rate) * 1000;
        dueAt = Math.max(dueAt, this.bandwidthFreeAt);
      }
      // Never reorder: a chunk is due no earlier than the one before it.
      dueAt = Math.max(dueAt, this.lastDueAt);
      this.lastDueAt = dueAt;
      const last = at + sliceBytes >= data.length;
      this.enqueue({ dueAt, data: slice, resetAfter: resetAfter && last });
      if (data.length === 0) break;
    }
  }

  private onEnd(): void {
    if (this.stopped) return;
    const t = this.toxics.forDirection(this.direction);
    if (t.timeout !== undefined) return; // a black hole does not pass the FIN either
    const now = performance.now();
    const latency = t.latency?.latencyMs ?? 0;
    const dueAt = Math.max(this.lastDueAt, now + latency) + (t.slowClose?.delayMs ?? 0);
    this.lastDueAt = dueAt;
    this.enqueue({ dueAt, data: null, resetAfter: false });
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    this.queuedBytes += item.data?.length ?? 0;
    if (this.queuedBytes > MAX_QUEUED_BYTES) this.source.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.stopped) return;
    const head = this.queue[0];
    if (head === undefined) return;
    const wait = head.dueAt - performance.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.ceil(wait));
  }

  private flush(): void {
    const now = performance.now();
    while (!this.stopped) {
      const head = this.queue[0];
      if (head === undefined || head.dueAt > now + 0.5) break;
      this.queue.shift();
      this.queuedBytes -= head.data?.length ?? 0;
      if (head.data === null) {
        if (!this.sink.destroyed) this.sink.end();
      } else if (head.data.length > 0) {
        this.write(head.data);
      }
      if (head.resetAfter) {
        this.hooks.reset(`reset-after ${this.direction}: ${this.bytes} bytes forwarded`);
        return;
      }
    }
    if (this.queuedBytes <= MAX_QUEUED_BYTES / 2 && !this.waitingForDrain && this.source.isPaused() && !this.source.destroyed) this.source.resume();
    this.schedule();
  }

  private write(data: Buffer): void {
    if (this.sink.destroyed || !this.sink.writable) return;
    this.bytes += data.length;
    if (!this.sink.write(data) && !this.waitingForDrain) {
      // The receiver is slower than the sender: stop reading until the sink drains.
      this.waitingForDrain = true;
      this.source.pause();
      this.sink.once('drain', () => {
        this.waitingForDrain = false;
        if (!this.source.destroyed && this.queuedBytes <= MAX_QUEUED_BYTES / 2) this.source.resume();
      });
    }
  }
}
