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
import type { CpuBufferStats, CpuPipe } from './instance.js';
import { INSTANCE_PREFIX, TracefsInstance, removeStaleInstances } from './instance.js';
import { parseRingBufferPage } from './ring-buffer.js';
import type { RawTcpEvent } from './raw-event.js';
import { lostEvent } from './raw-event.js';
import type { TracepointSpec } from './tcp-events.js';
import { buildDecoder } from './tcp-events.js';

export interface EnabledTracepoint {
  readonly spec: TracepointSpec;
  /** Kernel filter expression, or null for every event. */
  readonly filter: string | null;
}

export interface TracefsSourceOptions {
  readonly root: string;
  readonly bufferKb: number;
  readonly tracepoints: readonly EnabledTracepoint[];
  /** Instance name; defaults to tcpdiag-PID. */
  readonly name?: string;
}

export interface SourceSummary {
  /** Events the kernel said it lost (sum of the lost records seen in the stream). */
  readonly lostReported: number;
  /** The kernel's per-CPU counters at the end (overrun + dropped), an independent check. */
  readonly kernelLost: number;
  readonly perCpu: readonly CpuBufferStats[];
}

/** What the analysis needs from any event source (tracefs here, bpftrace in ../ebpf). */
export interface RawEventSource {
  /** Events ready now, in time order. */
  poll(): RawTcpEvent[];
  /** Everything still held (call once at the end, after a last poll). */
  drain(): RawTcpEvent[];
  close(): SourceSummary;
}

type Decode = ReturnType<typeof buildDecoder>;

export class TracefsTcpSource implements RawEventSource {
  private readonly decoders = new Map<number, Decode>();
  private readonly pipes: CpuPipe[];
  private readonly page: Buffer;
  private held: RawTcpEvent[] = [];
  private lostReported = 0;
  private closed: SourceSummary | null = null;

  private constructor(private readonly instance: TracefsInstance, tracepoints: readonly EnabledTracepoint[]) {
    for (const { spec, filter } of tracepoints) {
      const format = instance.readFormat(spec.system, spec.event);
      this.decoders.set(format.id, buildDecoder(spec, format));
      instance.enableEvent(spec.system, spec.event, filter);
    }
    this.pipes = instance.openPipes();
    this.page = Buffer.alloc(instance.subbufBytes);
  }

  static open(options: TracefsSourceOptions): TracefsTcpSource {
    removeStaleInstances(options.root);
    const instance = TracefsInstance.create({
      root: options.root,
      name: options.name ?? `${INSTANCE_PREFIX}${process.pid}`,
      bufferKb: options.bufferKb,
    });
    try {
      return new TracefsTcpSource(instance, options.tracepoints);
    } catch (error: unknown) {
      instance.remove();
      throw error;
    }
  }

  get instancePath(): string {
    return this.instance.path;
  }

  poll(): RawTcpEvent[] {
    const watermarkNs = Number(process.hrtime.bigint());
    let pending = mergeByTime([this.held, ...this.readAll()]);
    let cut = pending.length;
    while (cut > 0 && pending[cut - 1]!.tsNs > watermarkNs) cut--;
    this.held = pending.slice(cut);
    pending = cut === pending.length ? pending : pending.slice(0, cut);
    return pending;
  }

  drain(): RawTcpEvent[] {
    const rest = mergeByTime([this.held, ...this.readAll()]);
    this.held = [];
    return rest;
  }

  close(): SourceSummary {
    if (this.closed) return this.closed;
    const perCpu = this.instance.bufferStats();
    this.instance.remove();
    this.closed = {
      lostReported: this.lostReported,
      kernelLost: perCpu.reduce((n, c) => n + c.overrun + c.dropped, 0),
      perCpu,
    };
    return this.closed;
  }

  /** Everything each CPU's buffer holds now: one time-ordered run per CPU. */
  private readAll(): RawTcpEvent[][] {
    const runs: RawTcpEvent[][] = [];
    const decoders = this.decoders;
    for (const pipe of this.pipes) {
      const cpu = pipe.cpu;
      const out: RawTcpEvent[] = [];
      runs.push(out);
      const visitor = {
        event: (buf: Buffer, offset: number, _length: number, tsNs: number) => {
          const decode = decoders.get(buf.readUInt16LE(offset));
          if (decode === undefined) return;
          const event = decode(buf, offset, tsNs, cpu);
          if (event !== null) out.push(event);
        },
        lost: (count: number | null, tsNs: number) => {
          this.lostReported += count ?? 0;
          out.push(lostEvent(tsNs, cpu, count));
        },
      };
      // A bounded drain per poll: 16 MiB of 4 KiB pages is 4096 reads.
      for (let pages = 0; pages < 65536; pages++) {
        const n = this.instance.readPage(pipe, this.page);
        if (n <= 0) break;
        parseRingBufferPage(this.page, n, visitor);
      }
    }
    return runs;
  }
}

/**
 * Merge runs that are each in time order (one per CPU: a CPU's ring buffer is written in
 * order) into one, in linear time: sorting 10^5 events a poll with a comparator was a
 * measurable share of the CPU.
 */
export function mergeByTime(runs: readonly RawTcpEvent[][]): RawTcpEvent[] {
  let result: RawTcpEvent[] = [];
  for (const run of runs) {
    if (run.length === 0) continue;
    result = result.length === 0 ? run : mergeTwo(result, run);
  }
  return result;
}

function mergeTwo(a: readonly RawTcpEvent[], b: readonly RawTcpEvent[]): RawTcpEvent[] {
  const out = new Array<RawTcpEvent>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]!.tsNs <= b[j]!.tsNs ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
