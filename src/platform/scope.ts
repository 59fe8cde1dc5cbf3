/**
 * Lifetimes: a Scope owns what must be undone when a piece of work ends — tracefs instances,
 * nft tables, child processes, timers, child scopes. Closing it runs every cleanup once, newest
 * first, each guarded so one failing does not stop the rest, and aborts `scope.signal` so loops
 * inside it stop. Scopes nest (one per command, capture or trace) and are cheap, so a process that
 * runs for weeks opens and closes as many as it likes: a released or finished entry is forgotten.
 *
 * A scope never touches signals, exit codes or process listeners. Whoever owns the process (the
 * CLI, the agent's entry) creates the root scope, closes it on a signal, an error or a dead
 * stdout, and calls closeSync() from its 'exit' listener as a last resort.
 */
import { StoppedError } from '../errors.js';
import { setLongTimeout } from './long-timer.js';
import type { LongTimer } from './long-timer.js';

export type Cleanup = () => void | Promise<void>;

export interface DeferOptions {
  /**
   * A synchronous way to undo the same thing, for closeSync() (an 'exit' listener cannot wait:
   * e.g. SIGKILL instead of SIGINT-and-wait, spawnSync instead of spawn). Without it, closeSync()
   * calls the cleanup itself and does not wait for a promise it returns.
   */
  readonly sync?: () => void;
}

export interface CleanupFailure {
  readonly scope: string;
  readonly name: string;
  readonly error: unknown;
}

export interface ScopeOptions {
  /** Where failed cleanups are reported; children inherit it. Default: process.emitWarning. */
  readonly onCleanupError?: (failure: CleanupFailure) => void;
}

interface Entry {
  readonly name: string;
  readonly run: Cleanup;
  readonly sync: (() => void) | undefined;
}


export class Scope {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;
  private readonly controller = new AbortController();
  private closing: Promise<void> | null = null;
  private readonly onCleanupError: (failure: CleanupFailure) => void;

  constructor(readonly name: string, options: ScopeOptions = {}) {
    this.onCleanupError = options.onCleanupError ?? defaultReport;
  }

  /** Aborted when the scope starts closing: loops running inside it stop on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** How many cleanups are pending (child scopes count as one each). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Register a cleanup. Returns `release`, which forgets it without running it: call it once the
   * thing has been undone on the normal path. On a scope already closing, the cleanup runs at once
   * and StoppedError is thrown, so the caller stops what it was starting.
   */
  defer(name: string, run: Cleanup, options: DeferOptions = {}): () => void {
    if (this.closing !== null) {
      void this.runGuarded({ name, run, sync: options.sync });
      throw new StoppedError(this.name, name);
    }
    const id = this.nextId++;
    this.entries.set(id, { name, run, sync: options.sync });
    return () => {
      this.entries.delete(id);
    };
  }

  /** A nested scope, closed with this one (first, if it is newer than the rest); closing it alone forgets it here. */
  child(name: string): Scope {
    const child = new Scope(`${this.name}/${name}`, { onCleanupError: this.onCleanupError });
    const release = this.defer(`scope ${child.name}`, () => child.close(), { sync: () => child.closeSync() });
    void child.whenClosing().then(release);
    return child;
  }

  /**
   * A timer owned by the scope: cleared when it closes, forgotten once it fired. Any delay a
   * flag allows works: past Node's 2^31 ms limit it is chained (long-timer.ts).
   */
  timeout(fn: () => void, ms: number): LongTimer {
    let release = (): void => undefined;
    const timer = setLongTimeout(() => {
      release();
      fn();
    }, ms);
    release = this.deferTimer('timeout', () => timer.clear());
    return timer;
  }

  /** setInterval owned by the scope: cleared when it closes. */
  interval(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setInterval(fn, ms);
    this.deferTimer('interval', () => clearInterval(timer));
    return timer;
  }

  /** Run every cleanup once, newest first. Safe to call repeatedly: later calls get the same promise. */
  close(): Promise<void> {
    this.closing ??= this.runAll();
    return this.closing;
  }

  /**
   * The last resort of an 'exit' listener: run what is still pending synchronously (each entry's
   * `sync` variant when it has one). Nothing is awaited.
   */
  closeSync(): void {
    if (this.closing === null) this.closing = Promise.resolve();
    this.abort();
    for (const entry of this.takeAll()) {
      try {
        if (entry.sync !== undefined) entry.sync();
        else void Promise.resolve(entry.run()).catch((error: unknown) => this.report(entry.name, error));
      } catch (error: unknown) {
        this.report(entry.name, error);
      }
    }
  }

  private whenClosing(): Promise<void> {
    if (this.controller.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  private deferTimer(kind: string, clear: () => void): () => void {
    try {
      return this.defer(kind, clear, { sync: clear });
    } catch (error: unknown) {
      clear();
      throw error;
    }
  }

  private async runAll(): Promise<void> {
    this.abort();
    for (const entry of this.takeAll()) await this.runGuarded(entry);
  }

  private abort(): void {
    if (!this.controller.signal.aborted) this.controller.abort(`${this.name} closed`);
  }

  /** Pending entries, newest first, removed from the scope. */
  private takeAll(): Entry[] {
    const entries = [...this.entries.values()].reverse();
    this.entries.clear();
    return entries;
  }

  private async runGuarded(entry: Entry): Promise<void> {
    try {
      await entry.run();
    } catch (error: unknown) {
      this.report(entry.name, error);
    }
  }

  private report(name: string, error: unknown): void {
    try {
      this.onCleanupError({ scope: this.name, name, error });
    } catch {
      // a reporter that fails must not stop the remaining cleanups
    }
  }
}

function defaultReport(failure: CleanupFailure): void {
  const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
  process.emitWarning(`cleanup "${failure.name}" in ${failure.scope} failed: ${message}`);
}
