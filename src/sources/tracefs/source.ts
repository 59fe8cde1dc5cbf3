/**
 * The tracefs TCP event source: a private instance with the chosen tracepoints enabled (each
 * with its kernel-side filter), drained non-blocking from every CPU's trace_pipe_raw on each
 * poll, decoded, and merged into one time-ordered stream.
 *
 * Ordering across CPUs: one socket's events can fire on different CPUs (the connect on one,
 * the softirq that completes it on another). Each poll takes "now" before draining; every event
 * stamped before that instant was committed before the drain began, so events up to it are
 * complete and can be sorted and released; later ones wait for the next poll.
 */
import type { BackendName, EventSourceSummary, EventVisitor, TcpEventSource } from '../source.js';
import type { CpuPipe } from './instance.js';
import { TracefsInstance, freeInstanceName } from './instance.js';
import type { Scope } from '../../platform/scope.js';
import type { RawTcpEvent } from '../../model/kernel-event.js';

type RawEventVisitor = EventVisitor<RawTcpEvent>;
import { CpuRun } from './cpu-run.js';
import { lostEvent } from '../../model/kernel-event.js';
import type { TracepointSpec } from './tcp-events.js';
import { buildDecoder } from './tcp-events.js';
import type { EventFormat } from './format.js';
import { syntheticStatePages } from './synthetic.js';

export interface EnabledTracepoint {
  readonly spec: TracepointSpec;
  /** Kernel filter expression, or null for every event. */
  readonly filter: string | null;
}

export interface TracefsSourceOptions {
  readonly root: string;
  readonly bufferKb: number;
  readonly tracepoints: readonly EnabledTracepoint[];
  /** Instance name; defaults to tcpdiag-PID (tcpdiag-PID-N while that one is in use). */
  readonly name?: string;
  /** Owns the instance: closing it removes the instance. */
  readonly scope: Scope;
}

type Decode = ReturnType<typeof buildDecoder>;

export class TracefsTcpSource implements TcpEventSource {
  readonly backend: BackendName = 'tracefs';
  private readonly decoders = new Map<number, Decode>();
  /** The same, as an array indexed by event id (a Map lookup per event showed in profiles). */
  private readonly decoderById: Array<Decode | undefined> = [];
  private readonly pipes: CpuPipe[];
  /** One run per CPU, reused every poll. */
  private readonly runs: CpuRun[];
  private readonly pageBytes: number;
  /** Events stamped after the last poll's watermark, decoded, waiting for the next poll. */
  private held: RawTcpEvent[] = [];
  private closed: EventSourceSummary | null = null;

  /** Page buffers reused from poll to poll (a poll's pages are dead once it has emitted). */
  private readonly pagePool: Buffer[] = [];
  private pagesUsed = 0;
  /** inet_sock_set_state's layout, when it is enabled (the warm-up writes records in it). */
  private stateFormat: EventFormat | null = null;

  private constructor(private readonly instance: TracefsInstance, tracepoints: readonly EnabledTracepoint[]) {
    for (const { spec, filter } of tracepoints) {
      const format = instance.readFormat(spec.system, spec.event);
      if (spec.kind === 'state') this.stateFormat = format;
      this.decoders.set(format.id, buildDecoder(spec, format));
      this.decoderById[format.id] = this.decoders.get(format.id);
      instance.enableEvent(spec.system, spec.event, filter);
    }
    this.pipes = instance.openPipes();
    this.runs = this.pipes.map((p) => new CpuRun(p.cpu));
    this.pageBytes = instance.subbufBytes;
  }

  static open(options: TracefsSourceOptions): TracefsTcpSource {
    const instance = TracefsInstance.create({
      root: options.root,
      name: options.name ?? freeInstanceName(options.root),
      bufferKb: options.bufferKb,
      scope: options.scope,
    });
    try {
      return new TracefsTcpSource(instance, options.tracepoints);
    } catch (error: unknown) {
      instance.remove();
      throw error;
    }
  }

  get lost(): number {
    return this.runs.reduce((n, run) => n + run.lostReported, 0);
  }

  /** A kernel stream has no end of its own: only close() ends it. */
  get ended(): boolean {
    return this.closed !== null;
  }

  get instancePath(): string {
    return this.instance.path;
  }

  poll(visit: RawEventVisitor): number {
    return this.emit(this.readAll(), Number(process.hrtime.bigint()), visit);
  }

  drain(visit: RawEventVisitor): number {
    return this.emit(this.readAll(), Infinity, visit) + this.reportUncountedLoss(visit);
  }

  /**
   * A page filled to its last byte has no room for the count of the events overwritten before
   * it: the kernel then sets RB_MISSED_EVENTS without RB_MISSED_STORED (kernel/trace/
   * ring_buffer.c, ring_buffer_read_page()) and the marker's count is unknown (test/trace-lost
   * once saw an overwrite whose every marker came without a count). The per-CPU `overrun` and
   * `dropped events` of per_cpu/cpuN/stats count every event lost; what they hold beyond the
   * counts the stream carried is reported once, at the final drain, so the stream's total
   * agrees with the kernel's.
   */
  private reportUncountedLoss(visit: RawEventVisitor): number {
    let emitted = 0;
    const nowNs = Number(process.hrtime.bigint());
    for (const stats of this.instance.bufferStats()) {
      const run = this.runs.find((r) => r.cpu === stats.cpu);
      if (run === undefined) continue;
      const uncounted = stats.overrun + stats.dropped - run.lostReported;
      if (uncounted <= 0) continue;
      run.lostReported += uncounted;
      visit(lostEvent(nowNs, stats.cpu, uncounted));
      emitted++;
    }
    return emitted;
  }

  /**
   * Decode `connections` made-up connections' state changes (synthetic.ts) on `serverPort`,
   * made in task `tid`, through the same runs, merge and decoders as real pages. Kernel events
   * that arrive meanwhile wait in the ring buffer for the first poll.
   */
  warmUp(visit: RawEventVisitor, serverPort: number, tid: number, connections = 1000): number {
    if (this.stateFormat === null) return 0;
    const runs = [new CpuRun(0), new CpuRun(1)];
    for (const { cpu, page, bytes } of syntheticStatePages(this.stateFormat, this.pageBytes, {
      connections, serverPort, tid, startNs: Number(process.hrtime.bigint()),
    })) {
      runs[cpu]!.addPage(page, bytes);
    }
    // emit() starts with the events held from the last poll: keep real ones out of the warm-up.
    const held = this.held;
    this.held = [];
    try {
      return this.emit(runs, Infinity, visit);
    } finally {
      this.held = held;
    }
  }

  /** Synchronous inside (tracefs writes and an rmdir): done by the time it returns. */
  close(): Promise<EventSourceSummary> {
    if (this.closed === null) {
      const perCpu = this.instance.bufferStats();
      this.instance.remove();
      this.closed = {
        lostReported: this.runs.reduce((n, run) => n + run.lostReported, 0),
        kernelLost: perCpu.reduce((n, c) => n + c.overrun + c.dropped, 0),
        perCpu,
      };
    }
    return Promise.resolve(this.closed);
  }

  /**
   * Merge the held events and every CPU's run by time (k is the CPU count + 1, so a linear
   * scan for the minimum beats a heap), decoding each event as it is handed over. Events after
   * the watermark are decoded and held for the next poll.
   */
  private emit(runs: CpuRun[], watermarkNs: number, visit: RawEventVisitor): number {
    const held = this.held;
    this.held = [];
    let h = 0;
    let count = 0;
    for (;;) {
      let best: CpuRun | null = null;
      let bestTs = held.length > h ? held[h]!.tsNs : Infinity;
      for (let r = 0; r < runs.length; r++) {
        const run = runs[r]!;
        const c = run.cursor;
        if (c < run.length) {
          const t = run.ts[c]!;
          if (t < bestTs) {
            best = run;
            bestTs = t;
          }
        }
      }
      if (bestTs === Infinity) break;
      const event = best === null ? held[h++]! : this.decodeAt(best);
      if (event === null) continue;
      if (bestTs > watermarkNs) this.held.push({ ...event });
      else {
        visit(event);
        count++;
      }
    }
    return count;
  }

  private decodeAt(run: CpuRun): RawTcpEvent | null {
    const i = run.cursor++;
    const offset = run.offset[i]!;
    if (offset < 0) {
      const n = run.lostCount[i]!;
      return lostEvent(run.ts[i]!, run.cpu, n < 0 ? null : n);
    }
    const page = run.pages[run.page[i]!]!;
    const decode = this.decoderById[page[offset]! | (page[offset + 1]! << 8)];
    return decode === undefined ? null : decode(page, offset, run.ts[i]!, run.cpu);
  }

  /** Everything each CPU's buffer holds now: one time-ordered run per CPU. */
  private readAll(): CpuRun[] {
    const runs = this.runs;
    this.pagesUsed = 0;
    for (let p = 0; p < this.pipes.length; p++) {
      const pipe = this.pipes[p]!;
      const run = runs[p]!;
      run.reset();
      // A bounded drain per poll: 16 MiB of 4 KiB pages is 4096 reads.
      for (let pages = 0; pages < 65536; pages++) {
        const page = this.nextPage();
        const n = this.instance.readPage(pipe, page);
        if (n <= 0) break;
        run.addPage(page, n);
        this.pagesUsed++;
      }
    }
    return runs;
  }

  private nextPage(): Buffer {
    let page = this.pagePool[this.pagesUsed];
    if (page === undefined) {
      page = Buffer.allocUnsafe(this.pageBytes);
      this.pagePool.push(page);
    }
    return page;
  }
}
