/**
 * A private tracefs instance (instances/NAME, Documentation/trace/ftrace.rst "Instances"): its
 * own ring buffers, event enables and filters, so two tcpdiag processes, or tcpdiag and
 * another tracer, never disturb each other. Its removal is a cleanup of the caller's scope, so
 * every way the scope ends (stop, signal, error, exit) removes it.
 *
 * Rules learned the hard way (architecture.md, "tracefs"): the default 1.4 MiB per-CPU buffer
 * lost 35% of a burst, so the buffer is 16 MiB per CPU; a pending blocking read on a pipe
 * keeps the instance busy (rmdir gives EBUSY) and hangs exit, so pipes are read non-blocking.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';
import { KernelFeatureError, SourceError, UsageError, describeSystemError, isErrnoException } from '../../errors.js';
import { findExecutable } from '../../platform/capabilities.js';
import { startGuard } from '../../platform/guard.js';
import { TRACEFS_INSTANCE_PREFIX, staleTracefsInstances } from '../../platform/owners.js';
import type { Guard } from '../../platform/guard.js';
import type { Scope } from '../../platform/scope.js';
import type { EventFormat } from './format.js';
import { parseEventFormat } from './format.js';
import type { CpuBufferStats } from '../source.js';


/** A name for a new instance of this process: tcpdiag-PID, or tcpdiag-PID-N when that one is in use. */
export function freeInstanceName(root: string, pid = process.pid): string {
  const base = `${TRACEFS_INSTANCE_PREFIX}${pid}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!existsSync(join(root, 'instances', name))) return name;
  }
}
const SUBBUF_KB = 64;

export interface InstanceOptions {
  readonly root: string;
  readonly name: string;
  readonly bufferKb: number;
  /** Owns the instance: closing it removes the instance. */
  readonly scope: Scope;
}

export interface CpuPipe {
  readonly cpu: number;
  readonly fd: number;
}

export class TracefsInstance {
  readonly path: string;
  subbufBytes: number;
  private pipes: CpuPipe[] = [];
  private removed = false;
  private unregister: () => void = () => undefined;
  private readonly guard: Guard;

  private constructor(readonly root: string, readonly name: string, scope: Scope) {
    this.path = join(root, 'instances', name);
    // A kill -9 runs no cleanup: the guard removes the instance once this process is gone.
    // Started first, so that remove() below always has a guard to dismiss.
    this.guard = startGuard(name, [findExecutable('rmdir') ?? 'rmdir', this.path]);
    // Removal is synchronous, so it also serves the scope's closeSync() (an 'exit' listener):
    // a left-behind instance keeps tracing into its buffers until someone removes it. On a
    // scope already closed, defer() removes it at once and throws.
    this.unregister = scope.defer(`tracefs instance ${name}`, () => this.remove());
    this.subbufBytes = readKbFile(join(this.path, 'buffer_subbuf_size_kb'), 4) * 1024;
  }

  /** Create and configure the instance; on any failure it is removed again before throwing. */
  static create(options: InstanceOptions): TracefsInstance {
    const path = join(options.root, 'instances', options.name);
    try {
      mkdirSync(path); // mkdir in instances/ creates an instance with its own buffers and events
    } catch (error: unknown) {
      throw new SourceError('tracefs', `cannot create instance ${path}: ${describeSystemError(error)}`, {
        hint: 'tcpdiag trace needs root; check that tracefs is mounted read-write',
        cause: error,
      });
    }
    const instance = new TracefsInstance(options.root, options.name, options.scope);
    try {
      // "mono" is CLOCK_MONOTONIC (ktime_get_mono_fast_ns), the clock Node's hrtime and
      // bpftrace's nsecs use, so event times convert to wall time and line up across sources.
      instance.write('trace_clock', 'mono');
      // Bigger sub-buffers (6.8+) mean one read returns 64 KiB instead of 4 KiB: 16 times fewer
      // syscalls at 170k events/s. Older kernels lack the file and keep 4 KiB pages.
      if (existsSync(join(instance.path, 'buffer_subbuf_size_kb'))) {
        try {
          instance.write('buffer_subbuf_size_kb', String(SUBBUF_KB));
        } catch {
          // refused (memory, or a kernel that caps it): keep the default, just more reads
        }
        instance.subbufBytes = readKbFile(join(instance.path, 'buffer_subbuf_size_kb'), 4) * 1024;
      }
      instance.write('buffer_size_kb', String(options.bufferKb));
      // Overwrite mode (the default) makes the kernel report losses to the reader
      // (RB_MISSED_EVENTS on the next page) instead of counting them silently.
      instance.write('options/overwrite', '1');
      // Record each traced task's process id (saved_tgids), so events of a thread or process
      // that exited before we read them can still be attributed (attribution.ts).
      try {
        instance.write('options/record-tgid', '1');
      } catch {
        // older kernels: attribution falls back on saved_cmdlines alone
      }
      instance.write('tracing_on', '1');
    } catch (error: unknown) {
      instance.remove();
      throw error;
    }
    return instance;
  }

  readFormat(system: string, event: string): EventFormat {
    const file = join(this.path, 'events', system, event, 'format');
    try {
      return parseEventFormat(readFileSync(file, 'utf8'));
    } catch (error: unknown) {
      throw new KernelFeatureError(`the kernel has no tracepoint ${system}:${event} (${describeSystemError(error)})`,
        'tcpdiag trace needs Linux >= 4.16 with CONFIG_TRACEPOINTS; use `tcpdiag conns --watch` instead');
    }
  }

  /** Set the kernel-side filter (Documentation/trace/events.rst, "Event filtering") and enable. */
  enableEvent(system: string, event: string, filter: string | null): void {
    const dir = join('events', system, event);
    if (filter !== null && filter !== '') {
      try {
        this.write(join(dir, 'filter'), filter);
      } catch (error: unknown) {
        throw new UsageError(`the kernel rejected the filter for ${system}:${event}: ${filter}`,
          `this is likely a bug in tcpdiag's filter translation (${describeSystemError(error)}); rerun without filters`);
      }
    }
    this.write(join(dir, 'enable'), '1');
  }

  /** Open every CPU's trace_pipe_raw, non-blocking. */
  openPipes(): CpuPipe[] {
    const perCpu = join(this.path, 'per_cpu');
    const cpus = readdirSync(perCpu)
      .map((d) => /^cpu(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    this.pipes = cpus.map((cpu) => ({
      cpu,
      fd: openSync(join(perCpu, `cpu${cpu}`, 'trace_pipe_raw'), constants.O_RDONLY | constants.O_NONBLOCK),
    }));
    return this.pipes;
  }

  /** Read one page from a CPU's pipe into buf; 0 when that CPU's buffer is empty right now. */
  readPage(pipe: CpuPipe, buf: Buffer): number {
    try {
      return readSync(pipe.fd, buf, 0, this.subbufBytes, null);
    } catch (error: unknown) {
      if (isErrnoException(error) && (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK' || error.code === 'EINTR')) return 0;
      throw new SourceError('tracefs', `reading cpu${pipe.cpu}/trace_pipe_raw failed: ${describeSystemError(error)}`, { cause: error });
    }
  }

  /** The kernel's own per-CPU loss counters (per_cpu/cpuN/stats), read before removal. */
  bufferStats(): CpuBufferStats[] {
    return this.pipes.map(({ cpu }) => {
      let text = '';
      try {
        text = readFileSync(join(this.path, 'per_cpu', `cpu${cpu}`, 'stats'), 'utf8');
      } catch {
        // instance already gone
      }
      const num = (label: string) => Number(new RegExp(`^${label}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { cpu, overrun: num('overrun'), dropped: num('dropped events'), entries: num('entries') };
    });
  }

  /** Disable events, close pipes, remove the instance. Idempotent; never throws. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.unregister();
    this.guard.dismiss();
    disableAndRemove(this.path, this.pipes.map((p) => p.fd));
    this.pipes = [];
  }

  private write(relative: string, value: string): void {
    writeFileSync(join(this.path, relative), value);
  }
}

function disableAndRemove(path: string, fds: readonly number[]): void {
  for (const file of ['tracing_on', 'events/enable']) {
    try {
      writeFileSync(join(path, file), '0');
    } catch {
      // best effort: the instance may already be gone
    }
  }
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      rmdirSync(path);
      return;
    } catch (error: unknown) {
      if (isErrnoException(error) && error.code === 'ENOENT') return;
    }
  }
}

function readKbFile(path: string, fallback: number): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : fallback;
  } catch {
    return fallback; // kernels before 6.8 have no buffer_subbuf_size_kb: pages are 4 KiB
  }
}

/** Disable and remove one instance directory (no pipes of ours open); whether it is gone. */
export function removeInstanceDirectory(path: string): boolean {
  disableAndRemove(path, []);
  return !existsSync(path);
}

/**
 * Remove instances left by tcpdiag processes that no longer run (killed with SIGKILL, where
 * no cleanup can run). Instances of live processes are left alone. Returns the names removed.
 */
export function removeStaleInstances(root: string): string[] {
  return staleTracefsInstances(root).filter((instance) => removeInstanceDirectory(instance.path)).map((instance) => instance.name);
}
