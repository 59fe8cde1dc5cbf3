/**
 * Delivery to one receiver without ever holding up the evaluation: `push` only enqueues; one
 * worker sends, each attempt under a deadline, retrying a failure with doubling backoff
 * (base, 2 x base, ... capped), then giving up on that item and reporting it. The queue is
 * bounded: when a receiver is down long enough to fill it, the oldest items go first (a stale
 * alert matters less than the newest) and the drop is counted. Timers are unref'd; `close`
 * waits for the queue up to a deadline, so shutdown flushes what it can.
 */
import { spawn } from 'node:child_process';

export interface DeliveryOptions {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly capacity: number;
  /** A delivery that failed for good, or items dropped because the queue was full. */
  readonly onError: (message: string) => void;
}

/** One attempt: resolves when the receiver took it; rejects with a reason otherwise (retryable unless `permanent`). */
export type Send<T> = (item: T, signal: AbortSignal) => Promise<void>;

export class PermanentFailure extends Error {}

const MAX_BACKOFF_MS = 30_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class DeliveryQueue<T> {
  private readonly items: T[] = [];
  private running: Promise<void> | null = null;
  private dropped = 0;
  private closed = false;
  /** Aborts the attempt in flight when close() gives up on it. */
  private readonly abandon = new AbortController();
  delivered = 0;
  failed = 0;

  constructor(
    readonly name: string,
    private readonly send: Send<T>,
    private readonly options: DeliveryOptions,
  ) {}

  private inFlight = false;

  /** Queued, and the one being sent. */
  get pending(): number {
    return this.items.length + (this.inFlight ? 1 : 0);
  }

  /** Enqueue and return at once. */
  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (this.items.length > this.options.capacity) {
      this.items.shift();
      this.dropped += 1;
      this.options.onError(`${this.name}: queue full (${this.options.capacity}): the oldest alert was dropped (${this.dropped} so far)`);
    }
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Stop taking items; wait for the queue to empty, at most `deadlineMs`. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (this.running === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    if (this.pending > 0) this.options.onError(`${this.name}: ${this.pending} alert(s) not delivered before exit`);
    // A receiver that hangs must not keep the process alive after the deadline: end the attempt and the queue.
    this.items.length = 0;
    this.abandon.abort();
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0 && !this.abandon.signal.aborted) {
      const item = this.items.shift()!;
      this.inFlight = true;
      await this.deliver(item);
      this.inFlight = false;
    }
  }

  private async deliver(item: T): Promise<void> {
    let lastError = '';
    for (let attempt = 0; attempt <= this.options.retries && !this.abandon.signal.aborted; attempt++) {
      if (attempt > 0) await delay(Math.min(MAX_BACKOFF_MS, this.options.backoffMs * 2 ** (attempt - 1)));
      try {
        await this.send(item, AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.abandon.signal]));
        this.delivered += 1;
        return;
      } catch (error: unknown) {
        lastError = this.abandon.signal.aborted ? 'given up at exit' : describe(error, this.options.timeoutMs);
        if (error instanceof PermanentFailure) break;
      }
    }
    this.failed += 1;
    this.options.onError(`${this.name}: not delivered: ${lastError}`);
  }
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const code = cause instanceof Error ? ((cause as Error & { code?: string }).code ?? cause.message) : undefined;
    return code === undefined ? error.message : `${error.message} (${code})`;
  }
  return String(error);
}

/** POST a JSON body; 2xx is delivered, 4xx (but 408/429) will not get better by retrying. */
export async function postJson(url: string, body: unknown, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const text = await response.text();
  if (response.ok) return;
  const message = `${url} answered ${response.status}${text === '' ? '' : `: ${text.slice(0, 200).trim()}`}`;
  if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new PermanentFailure(message);
  throw new Error(message);
}

/** Run argv (no shell) with the body on stdin; exit 0 is delivered. The signal kills it. */
export function runHook(argv: readonly string[], body: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1000) stderr += d;
    });
    child.on('error', (error) => reject(error));
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv[0]!} exited ${code ?? sig ?? '?'}${stderr === '' ? '' : `: ${stderr.trim().slice(0, 200)}`}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(body);
  });
}
