/**
 * The load loop of one event loop: C connection slots that each carry one request at a time
 * (no pipelining, like wrk). Closed loop: a slot sends its next request as soon as the previous
 * reply arrives. Open loop (--rate): requests are due at fixed intended times; a due request
 * waits for a free slot and its latency counts from its intended time, not from when it was
 * finally written, so a stalled server shows in the percentiles instead of silently slowing
 * the sender (coordinated omission, corrected as wrk2 does).
 *
 * Engines in several worker threads share one control block (SharedArrayBuffer) so a request
 * limit holds exactly across them, a stop reaches all, and progress can be read from outside.
 */
import type { Histogram } from 'hdr-histogram-js';
import { TimeoutError, systemError } from '../../errors.js';
import { connectWithMss } from '../socket-options.js';
import { adoptSocket, dialerFor, tlsDialer, wrapTls } from './transport.js';
import type { Conn, ConnEvents, Dialer, TlsSettings, TransportKind } from './transport.js';
import { loadNative } from '../../native/index.js';
import { HttpResponseParser, NEED_MORE } from './http-response.js';
import { RawReplyMatcher } from './raw-reply.js';
import type { ReplyRule } from './raw-reply.js';
import { classifyError } from './error-class.js';
import type { ErrorClass } from './error-class.js';
import { encodeHistogram, newHistogram, recordMs } from './histogram.js';

/** Int32 slots of the shared control block. */
export const CTL_ISSUED = 0;
export const CTL_COMPLETED = 1;
export const CTL_FAILED = 2;
export const CTL_STOP = 3;
/** Worker threads count themselves ready here, then wait for CTL_GO so they all start together. */
export const CTL_READY = 4;
export const CTL_GO = 5;
export const CTL_SLOTS = 6;

export function newControlBlock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CTL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
}

export interface EngineConfig {
  /** Numeric address (resolved once by the caller). */
  readonly address: string;
  readonly port: number;
  readonly protocol: 'http' | 'tcp';
  /** The bytes of one request, written as is each time. */
  readonly request: Uint8Array;
  /** HTTP HEAD: the response has no body whatever its headers say. */
  readonly headRequest: boolean;
  /** Raw TCP: when a reply is complete (required in raw mode). */
  readonly reply: ReplyRule | null;
  readonly connections: number;
  /** Open a connection per request instead of keeping connections alive. */
  readonly newConnection: boolean;
  /** Open loop at this many requests per second (this engine's share); null = closed loop. */
  readonly ratePerSecond: number | null;
  readonly durationMs: number | null;
  /** Total requests across all engines sharing `control`; null = until the duration ends. */
  readonly requestLimit: number | null;
  /** Per connect and per request (from its write to the end of its reply). */
  readonly timeoutMs: number;
  /** TCP_MAXSEG before the SYN (connectWithMss); null = the kernel's default. */
  readonly mss: number | null;
  /** How connections are opened (transport.ts); `handle` falls back to `net` when unusable. */
  readonly transport: TransportKind;
  /** https: TLS over each connection (then the transport is `tls`). */
  readonly tls: TlsSettings | null;
  readonly control: Int32Array;
}

/** What an engine counts, and what results merged from several engines or runs add up (report.ts). */
export interface RunCounters {
  /** Requests that ended, either way: successes + sum(errors). */
  readonly requests: number;
  readonly successes: number;
  readonly errors: Partial<Record<ErrorClass, number>>;
  /** One message per error class, the first seen, for the report. */
  readonly errorSamples: Partial<Record<ErrorClass, string>>;
  readonly statusCodes: Record<string, number>;
  readonly connects: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** tcp_info total_retrans summed over the sockets sampled at close. */
  readonly retransmits: number;
  /** Sockets whose tcp_info was read at close (those closed by an error are gone before). */
  readonly socketsSampled: number;
  /** Open loop: requests that were due but never sent before the run ended. */
  readonly unsent: number;
  readonly elapsedMs: number;
}

export interface EngineResult extends RunCounters {
  /** The transport actually used (after any fallback). */
  readonly transport: TransportKind;
  readonly connectHistogram: string;
  readonly latencyHistogram: string;
}

interface Slot {
  conn: Conn | null;
  connected: boolean;
  busy: boolean;
  /** When the current request was due (open loop) or written (closed loop). */
  intendedMs: number;
  /** When the current phase (connect or request) started, for the timeout sweep. */
  phaseStartMs: number;
  /** Connects that failed in a row (refused, unreachable, timed out): the backoff grows with it. */
  connectFailures: number;
  /** Waiting out a backoff before its next attempt: no request is handed to it meanwhile. */
  resting: NodeJS.Timeout | null;
  readonly readBuffer: Buffer;
  readonly http: HttpResponseParser | null;
  readonly raw: RawReplyMatcher | null;
}

const READ_BUFFER_BYTES = 64 * 1024;
const SWEEP_INTERVAL_MS = 25;
/**
 * After a failed connect a connection waits 10 ms, doubling per failure in a row up to 1 s,
 * before it tries again: a refused port fails within microseconds, and without a pause 10
 * connections made ~23k connects a second for the whole run.
 */
const BACKOFF_FIRST_MS = 10;
const BACKOFF_MAX_MS = 1000;

export function backoffMs(failuresInARow: number): number {
  return failuresInARow <= 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failuresInARow - 1, 20));
}

export function runEngine(config: EngineConfig): Promise<EngineResult> {
  return new Engine(config).run();
}

class Engine {
  private readonly request: Buffer;
  private readonly slots: Slot[] = [];
  private readonly connectHist: Histogram = newHistogram();
  private readonly latencyHist: Histogram = newHistogram();
  private readonly errors: Partial<Record<ErrorClass, number>> = {};
  private readonly errorSamples: Partial<Record<ErrorClass, string>> = {};
  /** Counts by status code 0-999 (the parser accepts three digits). */
  private readonly statusCounts = new Float64Array(1000);
  /**
   * Open loop: requests come due at startMs + i * interval. Only counts are kept (issued: due
   * so far; taken: handed to a connection), so a rate the connections cannot serve grows a
   * number, not an array (an array of due times took 1.1 GB at -R 1e8).
   */
  private dueIssued = 0;
  private dueTaken = 0;
  private intervalMs = 0;
  private readonly addon = loadNative().addon;
  private readonly dial: Dialer;
  readonly transport: TransportKind;
  private requests = 0;
  private successes = 0;
  private connects = 0;
  private bytesSent = 0;
  private bytesReceived = 0;
  private retransmits = 0;
  private socketsSampled = 0;
  private startMs = 0;
  private endMs = 0;
  private stopping = false;
  private generatorDone = false;
  private finished = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private scheduleTimer: NodeJS.Timeout | undefined;
  private resolve: ((result: EngineResult) => void) | undefined;

  constructor(private readonly config: EngineConfig) {
    this.request = Buffer.from(config.request.buffer, config.request.byteOffset, config.request.byteLength);
    const { dial, kind } = config.tls === null ? dialerFor(config.transport) : { dial: tlsDialer(config.tls), kind: 'tls' as const };
    this.dial = dial;
    this.transport = kind;
  }

  run(): Promise<EngineResult> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.startMs = performance.now();
      this.intervalMs = 1000 / (this.config.ratePerSecond ?? 1);
      const { config } = this;
      for (let i = 0; i < config.connections; i++) {
        this.slots.push({
          conn: null,
          connected: false,
          busy: false,
          intendedMs: 0,
          phaseStartMs: 0,
          connectFailures: 0,
          resting: null,
          readBuffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
          http: config.protocol === 'http' ? new HttpResponseParser() : null,
          raw: config.protocol === 'tcp' && config.reply !== null ? new RawReplyMatcher(config.reply) : null,
        });
      }
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      if (config.ratePerSecond === null) {
        for (const slot of this.slots) this.next(slot);
      } else {
        this.schedule();
      }
      this.checkDone();
    });
  }

  // ---- admission -------------------------------------------------------------------------

  /**
   * Take one request from the shared budget. At the limit, no new requests are generated but
   * those already due still go out (the count stays exact); at the deadline or an outside stop
   * nothing more starts.
   */
  private claim(now: number): boolean {
    if (this.generatorDone) return false;
    const { durationMs, requestLimit, control } = this.config;
    if ((durationMs !== null && now - this.startMs >= durationMs) || Atomics.load(control, CTL_STOP) !== 0) {
      this.stopping = true;
      this.generatorDone = true;
      return false;
    }
    if (requestLimit !== null && Atomics.add(control, CTL_ISSUED, 1) >= requestLimit) {
      this.generatorDone = true;
      return false;
    }
    return true;
  }

  /** Open loop: move every request whose intended time has come into the due queue. */
  private schedule(): void {
    this.scheduleTimer = undefined;
    if (this.finished) return;
    const now = performance.now();
    while (!this.generatorDone && this.dueAt(this.dueIssued) <= now) {
      if (!this.claim(this.dueAt(this.dueIssued))) break;
      this.dueIssued++;
    }
    for (const slot of this.slots) {
      if (this.dueTaken >= this.dueIssued) break;
      if (!slot.busy && slot.resting === null) this.next(slot);
    }
    if (this.generatorDone) {
      this.checkDone();
      return;
    }
    // Sleep until the next request is due. Timers have 1 ms granularity, so at high rates each
    // tick releases a batch and up to ~1 ms of a request's latency (counted from its intended
    // time) is the generator's own. Polling with setImmediate instead was measured: at 5000/s
    // on 2 shared cores the spinning loops took CPU from the server and p99 grew 5x.
    this.scheduleTimer = setTimeout(() => this.schedule(), Math.max(0, this.dueAt(this.dueIssued) - performance.now()));
  }

  /** When request i of the open loop is due. */
  private dueAt(i: number): number {
    return this.startMs + i * this.intervalMs;
  }

  /** Give a free slot its next request, or leave it idle. */
  private next(slot: Slot, now = performance.now()): void {
    if (this.finished || slot.resting !== null) return;
    if (this.config.ratePerSecond === null) {
      if (!this.claim(now)) {
        this.checkDone();
        return;
      }
      this.start(slot, now, now);
      return;
    }
    if (!this.stopping && this.dueTaken < this.dueIssued) {
      this.start(slot, this.dueAt(this.dueTaken++), now);
      return;
    }
    this.checkDone();
  }

  // ---- one request -----------------------------------------------------------------------

  private start(slot: Slot, intendedMs: number, now: number): void {
    slot.busy = true;
    slot.intendedMs = intendedMs;
    if (slot.conn !== null && slot.connected) this.send(slot, now);
    else this.connect(slot);
  }

  private connect(slot: Slot): void {
    const { address, port, mss, timeoutMs } = this.config;
    const startedMs = performance.now();
    slot.phaseStartMs = startedMs;
    slot.connected = false;
    if (mss !== null) {
      connectWithMss({ address, port, mss, timeoutMs }).then(
        (socket) => {
          if (this.finished || !slot.busy) {
            socket.destroy();
            return;
          }
          let conn: Conn | null = null;
          if (this.config.tls !== null) {
            // The handshake still has to happen: onConnect comes with secureConnect.
            conn = wrapTls(socket, address, this.config.tls, this.eventsFor(slot, () => conn, startedMs));
            slot.conn = conn;
            return;
          }
          conn = adoptSocket(socket, this.eventsFor(slot, () => conn));
          slot.conn = conn;
          this.onConnect(slot, conn, startedMs);
        },
        (error: unknown) => this.fail(slot, null, error),
      );
      return;
    }
    let conn: Conn | null = null;
    conn = this.dial(address, port, slot.readBuffer, this.eventsFor(slot, () => conn, startedMs));
    slot.conn = conn;
  }

  /** Events of one connection, ignored once the slot has moved on to another connection. */
  private eventsFor(slot: Slot, self: () => Conn | null, startedMs = 0): ConnEvents {
    return {
      onConnect: () => {
        const conn = self();
        if (conn !== null) this.onConnect(slot, conn, startedMs);
      },
      onData: (nread, buf) => {
        const conn = self();
        if (conn !== null) this.onRead(slot, conn, nread, buf);
      },
      onEnd: () => {
        const conn = self();
        if (conn !== null) this.onEnd(slot, conn);
      },
      onError: (error) => this.fail(slot, self(), error),
    };
  }

  private onConnect(slot: Slot, conn: Conn, startedMs: number): void {
    if (slot.conn !== conn) return;
    const now = performance.now();
    this.connects++;
    slot.connectFailures = 0;
    recordMs(this.connectHist, now - startedMs);
    slot.connected = true;
    if (slot.busy) this.send(slot, now);
  }

  /** `now` is fresh: the caller just read the clock. */
  private send(slot: Slot, now: number): void {
    const conn = slot.conn;
    if (conn === null) return;
    if (this.config.ratePerSecond === null) slot.intendedMs = now;
    slot.phaseStartMs = now;
    slot.http?.reset(this.config.headRequest);
    slot.raw?.reset();
    this.bytesSent += this.request.length;
    conn.write(this.request);
  }

  private onRead(slot: Slot, conn: Conn, nread: number, buf: Buffer): void {
    this.bytesReceived += nread;
    if (!slot.busy || slot.conn !== conn) return; // bytes nobody asked for: counted, ignored
    let end: number;
    try {
      end = slot.http !== null ? slot.http.feed(buf, 0, nread) : slot.raw !== null ? slot.raw.feed(buf, 0, nread) : 0;
    } catch (error: unknown) {
      this.fail(slot, conn, error);
      return;
    }
    if (end === NEED_MORE) return;
    this.succeed(slot, conn, performance.now(), slot.http?.statusCode ?? 0);
  }

  private onEnd(slot: Slot, conn: Conn): void {
    if (slot.conn !== conn) return;
    slot.connected = false;
    if (!slot.busy) return this.closeConn(slot, conn);
    if (slot.http !== null) {
      try {
        slot.http.endOfStream();
      } catch (error: unknown) {
        return this.fail(slot, conn, error);
      }
      this.succeed(slot, conn, performance.now(), slot.http.statusCode);
      return;
    }
    this.fail(slot, conn, systemError('TCPDIAG_CLOSED', 'connection closed before the reply was complete'));
  }

  private succeed(slot: Slot, conn: Conn, now: number, status: number): void {
    recordMs(this.latencyHist, now - slot.intendedMs);
    this.requests++;
    if (status !== 0) this.statusCounts[status % 1000]! += 1;
    // As wrk: a 4xx/5xx is an answered request but a failed one.
    if (status >= 400) this.countError('http', `HTTP ${status}`);
    else this.successes++;
    Atomics.add(this.config.control, CTL_COMPLETED, 1);
    slot.busy = false;
    const keep = !this.config.newConnection && slot.connected && (slot.http === null || slot.http.keepAlive);
    if (!keep) this.closeConn(slot, conn);
    this.next(slot, now);
  }

  private fail(slot: Slot, conn: Conn | null, error: unknown): void {
    if (conn !== null && slot.conn !== conn) return;
    const duringConnect = !slot.connected;
    if (conn !== null) this.closeConn(slot, conn);
    // An idle kept-alive connection that the server closed or reset is not a failed request.
    if (!slot.busy) return;
    slot.busy = false;
    this.requests++;
    const kind = classifyError(error);
    this.countError(kind, error instanceof Error ? error.message : String(error));
    Atomics.add(this.config.control, CTL_COMPLETED, 1);
    Atomics.add(this.config.control, CTL_FAILED, 1);
    if (duringConnect) slot.connectFailures++;
    const waitMs = backoffMs(duringConnect ? slot.connectFailures : 0);
    if (waitMs === 0) {
      // Let the loop breathe before the next request.
      setImmediate(() => this.next(slot));
      return;
    }
    slot.resting = setTimeout(() => {
      slot.resting = null;
      this.next(slot);
      this.checkDone();
    }, waitMs);
  }

  private countError(kind: ErrorClass, message: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.errorSamples[kind] ??= message;
  }

  /** Sample tcp_info (retransmissions this socket saw) while the fd still exists, then close. */
  private closeConn(slot: Slot, conn: Conn): void {
    if (slot.conn === conn) {
      slot.conn = null;
      slot.connected = false;
    }
    const fd = this.addon === null ? null : conn.fd();
    if (fd !== null && fd >= 0 && this.addon !== null) {
      // -1: the socket is already gone (reset): nothing to sample.
      const retransmits = this.addon.tcpTotalRetrans(fd);
      if (retransmits >= 0) {
        this.retransmits += retransmits;
        this.socketsSampled++;
      }
    }
    conn.close();
  }

  /** Every SWEEP_INTERVAL_MS: request and connect timeouts, the deadline and an outside stop. */
  private sweep(): void {
    const now = performance.now();
    const { timeoutMs, durationMs, control } = this.config;
    if (!this.stopping && ((durationMs !== null && now - this.startMs >= durationMs) || Atomics.load(control, CTL_STOP) !== 0)) {
      this.stopping = true;
      this.generatorDone = true;
    }
    for (const slot of this.slots) {
      if (slot.busy && now - slot.phaseStartMs > timeoutMs) {
        const what = slot.connected ? `no complete reply within ${timeoutMs} ms` : `connect not established within ${timeoutMs} ms`;
        const conn = slot.conn;
        if (conn !== null) this.fail(slot, conn, new TimeoutError(what));
        else if (this.config.mss === null) this.fail(slot, null, new TimeoutError(what));
      }
    }
    this.checkDone();
  }

  /** Done when nothing more will start and nothing is in flight. */
  private checkDone(): void {
    if (this.finished || !this.generatorDone) return;
    if (!this.stopping && this.dueTaken < this.dueIssued) return;
    if (this.slots.some((slot) => slot.busy)) return;
    this.finish();
  }

  private statusCodesRecord(): Record<string, number> {
    const codes: Record<string, number> = {};
    this.statusCounts.forEach((count, code) => {
      if (count > 0) codes[String(code)] = count;
    });
    return codes;
  }

  private finish(): void {
    this.finished = true;
    this.endMs = performance.now();
    clearInterval(this.sweepTimer);
    if (this.scheduleTimer !== undefined) clearTimeout(this.scheduleTimer);
    for (const slot of this.slots) {
      if (slot.resting !== null) clearTimeout(slot.resting);
      slot.resting = null;
      if (slot.conn !== null) this.closeConn(slot, slot.conn);
    }
    this.resolve?.({
      requests: this.requests,
      successes: this.successes,
      errors: this.errors,
      errorSamples: this.errorSamples,
      statusCodes: this.statusCodesRecord(),
      connects: this.connects,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      retransmits: this.retransmits,
      socketsSampled: this.socketsSampled,
      unsent: this.dueIssued - this.dueTaken,
      elapsedMs: this.endMs - this.startMs,
      transport: this.transport,
      connectHistogram: encodeHistogram(this.connectHist),
      latencyHistogram: encodeHistogram(this.latencyHist),
    });
  }
}
