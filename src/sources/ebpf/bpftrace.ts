/**
 * The --detail source: bpftrace on the same tracepoints, reading socket fields through BTF at
 * the moment of each state change (struct tcp_sock: snd_cwnd, rcv_wnd, snd_wnd, bytes_sent,
 * bytes_received, bytes_acked, total_retrans, srtt_us; struct sock: sk_ack_backlog,
 * sk_max_ack_backlog). tracefs cannot: it only records the tracepoint's own fields.
 *
 * Facts from architecture.md ("eBPF"): bpftrace 0.17 with tracepoints works on this kernel (no
 * kprobes), prints a harmless RLIMIT_MEMLOCK error on start, and its default perf buffer lost
 * 67% of a 100k/s burst, so BPFTRACE_PERF_RB_PAGES=8192. Its lost-event notices ("Lost N
 * events") become lost events like the tracefs ones.
 */
import type { ChildProcess } from 'node:child_process';
import { KernelFeatureError, SourceError, ToolMissingError } from '../../errors.js';
import { findExecutable, hasKernelBtf } from '../../platform/capabilities.js';
import { spawnOwned } from '../../platform/children.js';
import { NEEDS, privilegeError } from '../../platform/privileges.js';
import type { Scope } from '../../platform/scope.js';
import type { RawTcpEvent } from '../../model/kernel-event.js';
import { lostEvent } from '../../model/kernel-event.js';
import type { BackendName, EventSourceSummary, EventVisitor, TcpEventSource } from '../source.js';
import { abortReason } from '../../platform/abortable-sleep.js';

type RawEventVisitor = EventVisitor<RawTcpEvent>;
import { READY_LINE, buildBpftraceScript, x86InterruptExpression } from './script.js';
import type { BpftraceProbe, ScriptFeatures } from './script.js';
import { percpuVariableOffsets } from './btf.js';
import { parseBpftraceLine } from './parse.js';

export interface BpftraceSourceOptions {
  readonly probes: readonly BpftraceProbe[];
  /** tcp_retransmit_skb has `err` (the registry reads the tracepoint's format). */
  readonly retransmitErr: boolean;
  readonly startTimeoutMs?: number;
  /** Owns the bpftrace child: closing it stops bpftrace and waits for it to exit. */
  readonly scope: Scope;
  /** Only the events of this network namespace (its inode), tested in the kernel. */
  readonly netnsInode?: number;
  /** Hand over the socket fields read at each transition (--detail); default true. */
  readonly detail?: boolean;
  /** Aborting while bpftrace attaches stops it and rejects, once it has exited, with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * How this host's script tells interrupt context from process context (script.ts): x86-64 with
 * the per-CPU offsets from BTF; elsewhere it cannot, and every event counts as process context.
 */
export function hostInterruptExpression(): string | null {
  return process.arch === 'x64' ? x86InterruptExpression(percpuVariableOffsets(['runqueues', '__preempt_count'])) : null;
}

export class BpftraceSource implements TcpEventSource {
  readonly backend: BackendName = 'bpftrace';
  private queue: RawTcpEvent[] = [];
  private lostCount = 0;
  private partial = '';
  private stderr = '';
  private exited = false;
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private unregister: () => void = () => undefined;
  private readonly exitedPromise: Promise<void>;

  private constructor(private readonly child: ChildProcess, scope: Scope, private readonly detail: boolean) {
    this.exitedPromise = new Promise((resolve) => child.once('close', () => resolve()));
    child.on('exit', () => {
      this.exited = true;
    });
    // Closing the scope waits for bpftrace to exit (its programs detach when it does); an
    // 'exit' listener cannot wait, so closeSync() sends SIGKILL.
    this.unregister = scope.defer(`bpftrace pid ${child.pid ?? '?'}`, () => this.stop(), {
      sync: () => {
        if (!this.exited) child.kill('SIGKILL');
      },
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.onData(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.stderr.length < 65536) this.stderr += chunk;
    });
  }

  static async open(options: BpftraceSourceOptions): Promise<BpftraceSource> {
    const bpftrace = findExecutable('bpftrace');
    const drops = options.probes.some((p) => p.name === 'kfree_skb');
    const why = options.netnsInode !== undefined ? '--netns (the tracepoints have no namespace field: bpftrace reads the socket\'s)'
      : drops ? 'trace drops (kfree_skb has no addresses: bpftrace reads them from the packet)' : '--detail';
    if (bpftrace === null) throw new ToolMissingError(`bpftrace (needed for ${why})`, 'bpftrace');
    if (!hasKernelBtf()) {
      throw new KernelFeatureError(`${why} needs the kernel's BTF (/sys/kernel/btf/vmlinux) to read socket and packet fields`,
        'use a kernel built with CONFIG_DEBUG_INFO_BTF=y');
    }
    const features: ScriptFeatures = { interruptExpression: hostInterruptExpression(), retransmitErr: options.retransmitErr };
    // Dies with tcpdiag (its programs detach when it exits), even after a kill -9.
    const child = spawnOwned(bpftrace, ['-B', 'line', '-e', buildBpftraceScript(options.probes, features, options.netnsInode ?? null)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { BPFTRACE_PERF_RB_PAGES: '8192' },
    });
    const source = new BpftraceSource(child, options.scope, options.detail ?? true);
    try {
      await source.waitAttached(options.startTimeoutMs ?? 30_000, options.signal);
    } catch (error: unknown) {
      await source.stop();
      throw error;
    }
    return source;
  }

  poll(visit: RawEventVisitor): number {
    if (this.exited && this.queue.length === 0 && !this.stopped) {
      this.stopped = true;
      throw new SourceError('bpftrace', `exited unexpectedly: ${meaningfulStderr(this.stderr) || 'no message'}`, {
        hint: 'run the same with --detail off, or check `bpftrace -l "tracepoint:sock:*"`',
      });
    }
    // bpftrace reads each CPU's perf buffer in turn: order by time, holding the newest 50 ms
    // back so a slower CPU's events can still slot in before them.
    const watermarkNs = Number(process.hrtime.bigint()) - 50e6;
    this.queue.sort((a, b) => a.tsNs - b.tsNs);
    let cut = this.queue.length;
    while (cut > 0 && this.queue[cut - 1]!.tsNs > watermarkNs) cut--;
    const ready = this.queue.slice(0, cut);
    this.queue = this.queue.slice(cut);
    for (const event of ready) visit(event);
    return ready.length;
  }

  drain(visit: RawEventVisitor): number {
    const rest = this.queue.sort((a, b) => a.tsNs - b.tsNs);
    this.queue = [];
    for (const event of rest) visit(event);
    return rest.length;
  }

  get lost(): number {
    return this.lostCount;
  }

  get ended(): boolean {
    return this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once bpftrace has exited (its probes detached), at most ~3 s after SIGINT. */
  async close(): Promise<EventSourceSummary> {
    await this.stop();
    return { lostReported: this.lostCount, kernelLost: this.lostCount, perCpu: [] };
  }

  /** SIGINT, SIGKILL 3 s later if it is still there; resolves once bpftrace has exited. */
  private stop(): Promise<void> {
    this.stopped = true;
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    if (this.child.pid !== undefined && !this.exited) {
      try {
        this.child.kill('SIGINT');
      } catch {
        // already gone
      }
      // bpftrace 0.17 sometimes ignores SIGINT (seen when one arrives while it is busy
      // printing): our process would wait on it forever, so it gets SIGKILL after 3 s.
      const child = this.child;
      const timer = setTimeout(() => {
        if (!this.exited) child.kill('SIGKILL');
      }, 3000);
      child.once('exit', () => clearTimeout(timer));
    }
    // Forgotten by the scope only once it is gone, so closing the scope waits for it.
    if (this.child.pid !== undefined) await this.exitedPromise;
    this.unregister();
  }

  private onData(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const lostMatch = /^Lost (\d+) events/.exec(line);
      if (lostMatch) {
        const count = Number(lostMatch[1]);
        this.lostCount += count;
        this.queue.push(lostEvent(Number(process.hrtime.bigint()), -1, count));
        continue;
      }
      const event = parseBpftraceLine(line);
      if (event !== null) this.queue.push(this.detail || event.detail === null ? event : { ...event, detail: null });
    }
  }

  /** The caller stops bpftrace when this rejects (open() does). */
  private waitAttached(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(abortReason(signal));
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        reject(new SourceError('bpftrace', `did not attach its probes within ${timeoutMs} ms: ${meaningfulStderr(this.stderr)}`));
      }, timeoutMs);
      const onData = (chunk: string) => {
        if (chunk.includes(READY_LINE)) {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.child.stdout?.off('data', onData);
          resolve();
        }
      };
      this.child.stdout?.on('data', onData);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (/only supports running as the root user/.test(this.stderr)) return reject(privilegeError(NEEDS.traceDetail()));
        reject(new SourceError('bpftrace', `exited with code ${code ?? '?'} before attaching: ${meaningfulStderr(this.stderr) || 'no message'}`, {
          hint: 'check that the kernel has BTF and that you are root',
        }));
      });
    });
  }
}

/** bpftrace's stderr without the harmless RLIMIT_MEMLOCK line it prints on every start. */
export function meaningfulStderr(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('RLIMIT_MEMLOCK'))
    .join(' ')
    .slice(0, 500);
}
