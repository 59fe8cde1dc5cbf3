/**
 * The send side every exporter shares: drains a DiskBacklog oldest first, one request per
 * batch of stored entries, and keeps going through a receiver outage with exponential backoff
 * (doubling from `minBackoffMs` to `maxBackoffMs`, with ±20% jitter so a fleet of agents that
 * lost the same receiver does not come back in lockstep). What the receiver refuses for good
 * (a 4xx other than 408/429: it will refuse it again) is dropped and counted as rejected; the
 * outage itself loses nothing until the backlog's cap is reached.
 */
import { abortableSleep } from '../../platform/abortable-sleep.js';
import type { BacklogEntry, DiskBacklog } from '../../store/backlog.js';

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly reason: string };

export interface ShipperOptions {
  readonly name: string;
  readonly backlog: DiskBacklog;
  /** Items (samples, rows) per request at most. */
  readonly maxItemsPerSend: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly send: (payloads: readonly Buffer[], items: number, signal: AbortSignal) => Promise<SendResult>;
  readonly signal: AbortSignal;
  readonly note: (text: string) => void;
}

export interface ShipperStatus {
  readonly sentItems: number;
  readonly sentRequests: number;
  readonly failedRequests: number;
  readonly lastError: string | null;
  readonly lastSentAtMs: number | null;
}

/** An HTTP status that will not change on a retry (remote-write spec: retry 5xx and 429 only). */
export function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export class Shipper {
  private wake: (() => void) | null = null;
  private pending = false;
  private state = { sentItems: 0, sentRequests: 0, failedRequests: 0, lastError: null as string | null, lastSentAtMs: null as number | null };
  private outage = false;
  private droppedNotedAtMs = -Infinity;

  constructor(private readonly o: ShipperOptions) {}

  /** Queue a batch in the backlog and send it now unless backing off; says (at most once a minute) what the cap dropped. */
  queue(payload: Uint8Array, items: number): void {
    const dropped = this.o.backlog.append(payload, items);
    if (dropped > 0 && performance.now() - this.droppedNotedAtMs >= 60_000) {
      this.droppedNotedAtMs = performance.now();
      const s = this.o.backlog.status();
      this.o.note(`${this.o.name}: backlog full (${Math.round(s.maxBytes / 1024)} KiB): the oldest data was dropped, ${s.dropped.overflow} items so far; raise fleet.backlog_mb to hold a longer outage`);
    }
    this.kick();
  }

  /** New entries are in the backlog: send now unless backing off. */
  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  status(): ShipperStatus {
    return { ...this.state };
  }

  /** Runs until the signal aborts; what is unsent stays in the backlog for the next run. */
  async run(): Promise<void> {
    const { signal, backlog } = this.o;
    let backoffMs = this.o.minBackoffMs;
    while (!signal.aborted) {
      const batch = backlog.oldest(this.o.maxItemsPerSend);
      if (batch.length === 0) {
        await this.idle();
        continue;
      }
      const result = await this.sendBatch(batch);
      if (result.ok) {
        backlog.remove(batch);
        backoffMs = this.o.minBackoffMs;
        if (this.outage) this.o.note(`${this.o.name}: receiver answers again; backlog ${backlog.status().pendingItems} items`);
        this.outage = false;
        continue;
      }
      this.state.failedRequests++;
      this.state.lastError = result.reason;
      if (!result.retry) {
        backlog.remove(batch, true);
        this.o.note(`${this.o.name}: receiver refused ${batch.reduce((n, e) => n + e.items, 0)} items for good (${result.reason}); dropped`);
        continue;
      }
      if (!this.outage) this.o.note(`${this.o.name}: ${result.reason}; keeping data in the backlog and retrying with backoff`);
      this.outage = true;
      const jitter = 0.8 + Math.random() * 0.4;
      await abortableSleep(backoffMs * jitter, signal);
      backoffMs = Math.min(backoffMs * 2, this.o.maxBackoffMs);
    }
  }

  private async sendBatch(batch: readonly BacklogEntry[]): Promise<SendResult> {
    const items = batch.reduce((n, e) => n + e.items, 0);
    let payloads: Buffer[];
    try {
      payloads = batch.map((e) => this.o.backlog.read(e));
    } catch (error: unknown) {
      // A file removed behind our back: nothing to send for it.
      return { ok: false, retry: false, reason: `unreadable backlog entry: ${error instanceof Error ? error.message : String(error)}` };
    }
    try {
      const result = await this.o.send(payloads, items, this.o.signal);
      if (result.ok) {
        this.state.sentItems += items;
        this.state.sentRequests++;
        this.state.lastSentAtMs = Date.now();
      }
      return result;
    } catch (error: unknown) {
      return { ok: false, retry: true, reason: error instanceof Error ? describeFetchError(error) : String(error) };
    }
  }

  private idle(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = null;
        this.o.signal.removeEventListener('abort', done);
        this.pending = false;
        resolve();
      };
      this.wake = done;
      this.o.signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** fetch() hides the socket error in `cause`: "fetch failed" alone says nothing. */
export function describeFetchError(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message}: ${typeof code === 'string' ? `${code} ` : ''}${cause.message}`;
  }
  return error.message;
}
