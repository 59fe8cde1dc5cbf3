/**
 * The worker thread behind off-thread collection (off-thread.ts): it runs the synchronous reads
 * (the netlink dump with tcp_info, the /proc owner scan) so the main thread's event loop keeps
 * serving while they run. A sockdiag table goes over as the dump's bytes (moved, not copied),
 * which the main thread decodes a slice at a time; other tables go over in batches, each its own message, so
 * the main thread deserializes a batch at a time between other work instead of 60,000 sockets
 * in one go. Batches go one at a time, each after the main thread asks for the next: a
 * MessagePort delivers every message already queued in one turn of the receiving loop, so
 * batches posted back to back would arrive as one long stall again.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TcpdiagError } from '../errors.js';
import { readListeners, readOwnerColumns, readSocketDumps, readSockets } from './sockets.js';
import type { BackendChoice, ListenerQuery, SocketQuery } from './sockets.js';
import { readHost } from './host.js';
import type { HostQuery } from './host.js';
import type { Snapshot } from './source.js';
import type { OffThreadReply, OffThreadRequest } from './off-thread.js';

/** Sockets per message: 1,000 sockets with tcp_info clone in ~5 ms here (structuredClone), so 500 cost ~1-2 ms to receive. */
const BATCH = 500;

const port = parentPort!;
/** [0] holds the id of the request the main thread gave up on (it aborted). */
const cancelled = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);

/**
 * The reads check their signal between steps (between processes in the /proc scan). A real
 * AbortSignal cannot be aborted while this thread is busy in them, so this one reads the flag
 * the main thread sets in shared memory; it has just what the reads call.
 */
function cancellation(id: number): AbortSignal {
  const isCancelled = (): boolean => Atomics.load(cancelled, 0) === id;
  const signal = {
    get aborted() {
      return isCancelled();
    },
    reason: new DOMException('collection cancelled', 'AbortError'),
    throwIfAborted() {
      if (isCancelled()) throw signal.reason;
    },
  };
  return signal as unknown as AbortSignal;
}

function send(reply: OffThreadReply): void {
  port.postMessage(reply);
}

/** What is left to send of the current collection: its batches, then its final message. */
let outgoing: { readonly id: number; readonly sockets: readonly unknown[]; next: number; readonly last: OffThreadReply } | null = null;

function sendNext(): void {
  const o = outgoing;
  if (o === null) return;
  if (o.next < o.sockets.length) {
    send({ id: o.id, batch: o.sockets.slice(o.next, o.next + BATCH) });
    o.next += BATCH;
  } else {
    outgoing = null;
    send(o.last);
  }
}

function sendBatches(id: number, sockets: readonly unknown[], last: OffThreadReply): void {
  outgoing = { id, sockets, next: 0, last };
  sendNext();
}

port.on('message', (message: OffThreadRequest | { readonly id: number; readonly next: true }) => {
  if ('next' in message) {
    // Asked for by the main thread, or by a collection it gave up on: then drop the rest.
    if (outgoing?.id === message.id && Atomics.load(cancelled, 0) !== message.id) sendNext();
    else if (outgoing?.id === message.id) outgoing = null;
    return;
  }
  const request = message;
  const { id, choice } = request;
  const signal = cancellation(id);
  try {
    if (request.kind === 'sockets') {
      const raw = readSocketDumps(request.query as SocketQuery, choice as BackendChoice, signal);
      if (raw !== null) {
        // The bytes move to the main thread, which decodes them a slice at a time.
        const transfer: ArrayBuffer[] = [];
        const dumps = raw.dumps.map((buf) => {
          const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer;
          if (whole) transfer.push(buf.buffer);
          return whole ? buf.buffer : Uint8Array.prototype.slice.call(buf).buffer;
        });
        if (raw.owners !== null) transfer.push(raw.owners.inodes.buffer as ArrayBuffer, raw.owners.pids.buffer as ArrayBuffer, raw.owners.fds.buffer as ArrayBuffer);
        port.postMessage({ id, dumps: { ...raw, dumps } } satisfies OffThreadReply, transfer);
        return;
      }
      const s = readSockets(request.query as SocketQuery, choice as BackendChoice, signal);
      sendBatches(id, s.data, { id, done: { ...s, data: null } });
    } else if (request.kind === 'owners') {
      send({ id, done: readOwnerColumns(signal) });
    } else if (request.kind === 'listeners') {
      send({ id, done: readListeners(request.query as ListenerQuery, choice as BackendChoice, signal) });
    } else {
      const s = readHost(request.query as HostQuery, choice as BackendChoice, signal);
      const done: Snapshot<unknown> = { ...s, data: { ...s.data, sockets: s.data.sockets === null ? null : [] } };
      sendBatches(id, s.data.sockets ?? [], { id, done });
    }
  } catch (error: unknown) {
    if (signal.aborted) send({ id, aborted: true });
    else if (error instanceof TcpdiagError) send({ id, error: { code: error.code, message: error.message, hint: error.hint ?? null } });
    else send({ id, error: { code: null, message: error instanceof Error ? error.stack ?? error.message : String(error), hint: null } });
  }
});
