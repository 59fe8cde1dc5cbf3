/**
 * Snapshot collection in a worker thread, for processes that serve while they collect (the
 * agent's HTTP API). A full dump of 60,000 sockets with tcp_info and owners is a few hundred ms
 * of synchronous work (the netlink dump, then readlink of every fd under /proc): on the main
 * thread nothing else runs meanwhile. Here the worker does it and the main thread only receives
 * the table, a batch per message (bench/stall.ts measures the longest stall both ways).
 *
 * One worker per process, started on first use (~30 ms) and kept: ref'd while a collection is
 * in flight, unref'd when idle, so it never keeps a process alive by itself. The one-shot CLI
 * does not use it: its start-up would cost more than the stall it saves.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';
import type { ErrorCode } from '../errors.js';
import { TcpdiagError } from '../errors.js';
import { abortReason } from '../platform/abortable-sleep.js';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import type { TcpSocket } from '../model/socket.js';
import type { Snapshot } from './source.js';
import { finishSocketDumps } from './sockets.js';
import type { SocketDumps } from './sockets.js';
import { decodeInetDiagSlice } from './sockdiag/inet-diag.js';

/**
 * Sockets decoded per turn of the event loop: decoding one with its tcp_info takes a few
 * microseconds, so a slice is a few milliseconds of the main thread.
 */
const DECODE_SLICE = 1000;

export type OffThreadKind = 'sockets' | 'listeners' | 'host' | 'owners';

export interface OffThreadRequest {
  readonly id: number;
  readonly kind: OffThreadKind;
  readonly query: unknown;
  readonly choice: unknown;
}

/** A sockdiag table as bytes (sockets.ts SocketDumps, the buffers as moved ArrayBuffers). */
export type TransferredDumps = Omit<SocketDumps, 'dumps'> & { readonly dumps: readonly ArrayBuffer[] };

export type OffThreadReply =
  | { readonly id: number; readonly batch: readonly unknown[] }
  | { readonly id: number; readonly dumps: TransferredDumps }
  | { readonly id: number; readonly done: Snapshot<unknown> }
  | { readonly id: number; readonly aborted: true }
  | { readonly id: number; readonly error: { readonly code: ErrorCode | null; readonly message: string; readonly hint: string | null } };

interface Pending {
  readonly kind: OffThreadKind;
  readonly sockets: unknown[];
  readonly resolve: (snapshot: Snapshot<unknown>) => void;
  readonly reject: (error: Error) => void;
}

/** The compiled worker beside this file; from a start-up bundle (dist/fast/*.cjs), the ES module build's. */
function workerFile(): string {
  // import.meta is empty in the CommonJS bundles (esbuild), where __filename is this bundle;
  // in the ES modules __filename may still exist as a global (`node -e` defines "[eval]").
  const url = (import.meta as { url?: string }).url;
  const here = url !== undefined ? fileURLToPath(url) : __filename;
  const dir = dirname(here);
  return basename(dir) === 'fast' ? join(dir, '..', 'src', 'sources', 'socket-worker.js') : join(dir, 'socket-worker.js');
}

class OffThreadCollector {
  private worker: Worker | null = null;
  private readonly cancel = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  collect(kind: OffThreadKind, query: unknown, choice: unknown, signal: AbortSignal): Promise<Snapshot<unknown>> {
    signal.throwIfAborted();
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        // The worker notices between its steps and drops the rest; the caller is free now.
        Atomics.store(this.cancel, 0, id);
        this.settle(id);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        kind,
        sockets: [],
        resolve: (snapshot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(snapshot);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      worker.ref();
      worker.postMessage({ id, kind, query, choice } satisfies OffThreadRequest);
    });
  }

  warm(): void {
    this.start();
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(workerFile(), { workerData: { cancel: this.cancel.buffer } });
    worker.unref();
    worker.on('message', (reply: OffThreadReply) => this.onReply(reply));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      this.worker = null;
      this.failAll(new TcpdiagError('TCPDIAG_SOURCE_FAILED', `the collection worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private onReply(reply: OffThreadReply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return; // given up on (aborted)
    if ('batch' in reply) {
      for (const s of reply.batch) p.sockets.push(s);
      // The next batch after a turn of the event loop: what waits (I/O, timers) runs between.
      setImmediate(() => this.worker?.postMessage({ id: reply.id, next: true }));
      return;
    }
    if ('dumps' in reply) {
      this.decode(reply.id, p, reply.dumps).catch((error: unknown) => {
        this.settle(reply.id);
        p.reject(error instanceof Error ? error : new Error(String(error)));
      });
      return;
    }
    this.settle(reply.id);
    if ('done' in reply) {
      const snapshot = reply.done;
      if (p.kind === 'sockets') p.resolve({ ...snapshot, data: p.sockets });
      else if (p.kind === 'host') {
        const data = snapshot.data as { sockets: unknown[] | null };
        p.resolve({ ...snapshot, data: { ...data, sockets: data.sockets === null ? null : p.sockets } });
      } else p.resolve(snapshot);
    } else if ('error' in reply) {
      const { code, message, hint } = reply.error;
      p.reject(code === null ? new Error(message) : new TcpdiagError(code, message, hint === null ? {} : { hint }));
    }
  }

  /**
   * Decode a moved dump DECODE_SLICE sockets per turn of the event loop, so what waits (HTTP
   * requests, timers) runs between slices; dropped when the caller gave up (aborted).
   */
  private async decode(id: number, p: Pending, read: TransferredDumps): Promise<void> {
    const sockets: TcpSocket[] = [];
    for (const bytes of read.dumps) {
      const buf = Buffer.from(bytes);
      for (let at = 0; at !== -1; ) {
        at = decodeInetDiagSlice(buf, at, DECODE_SLICE, sockets);
        if (at !== -1) await yieldTurn();
        if (this.pending.get(id) !== p) return;
      }
    }
    const data = finishSocketDumps(sockets, read);
    this.settle(id);
    p.resolve({ data, issues: read.issues, takenAtMs: read.takenAtMs });
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  private failAll(error: Error): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(error);
    }
  }
}

let shared: OffThreadCollector | null = null;

/**
 * Start the collection worker now (its thread and modules take tens of ms to come up), so that
 * a collection wanted later, at a moment that counts, does not wait for them.
 */
export function warmOffThread(): void {
  shared ??= new OffThreadCollector();
  shared.warm();
}

/** Run one collection of `kind` in the process's collection worker. */
export function collectOffThread(kind: OffThreadKind, query: unknown, choice: unknown, signal: AbortSignal): Promise<Snapshot<unknown>> {
  shared ??= new OffThreadCollector();
  return shared.collect(kind, query, choice, signal);
}
