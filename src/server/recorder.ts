/**
 * The agent's recordings: packet captures and kernel traces started by an escalation or an
 * operator's request, each through the CLI's own sessions (`runLiveCapture`, `runTrace`), each
 * in a child scope of the agent's (its tcpdump, its tracefs instance or bpftrace belong to it,
 * so a stop, the agent's stop and a kill -9 alike leave nothing running: children carry the
 * death signal and the tracefs instance its guard, see DEVELOPERS.md "After a kill -9").
 *
 * Each is stopped on time by its own deadline timer, started with the recording (not when
 * tcpdump or bpftrace are ready, which takes up to seconds), and by its size cap. Its row is
 * written when it starts and updated when it ends; a capture's analysis (the JSON of `tcpdiag
 * analyze --json`, with the same options and thresholds) is computed once when it ends and stored.
 * Starts, stops and failures go on the bus as 'recording' messages.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TcpdiagError, describeSystemError } from '../errors.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { formatExpr } from '../model/conn-filter.js';
import type { Recording, RecordingKind, RecordingScope, RecordingTrigger } from '../model/recording.js';
import type { RecordingMessage } from '../model/stream.js';
import type { Redactor } from '../privacy/redact.js';
import type { Thresholds } from '../diagnose/rule.js';
import { runLiveCapture } from '../sessions/capture-session.js';
import { analyzeCapture } from '../sessions/capture-file.js';
import { runTrace } from '../sessions/trace-session.js';
import { backendStatus } from '../sources/index.js';
import { createTraceIo, ensureTracefs } from '../sources/trace.js';
import type { Scope } from '../platform/scope.js';
import type { RecordingStore } from '../store/recordings.js';
import type { AgentBus } from './bus.js';

/** What `tcpdiag analyze` lists by default (its --max-connections and --top): the stored analysis is that JSON. */
export const ANALYSIS_OPTIONS = { maxConnections: 1000, topTalkers: 10 } as const;

export interface RecorderOptions {
  readonly store: RecordingStore;
  readonly bus: AgentBus;
  /** The agent's scope: each recording runs in a child of it. */
  readonly scope: Scope;
  readonly directory: string;
  /** Every recording's file together is kept under this (the oldest ended ones are removed first). */
  readonly maxTotalBytes: number;
  readonly traceBufferKb: number;
  readonly tracePollMs: number;
  readonly thresholds: Thresholds;
  /** A redactor per capture ([privacy] redact), or null. */
  readonly redactor: () => Redactor | null;
  readonly note: (text: string) => void;
}

interface RecordingRequest {
  readonly trigger: RecordingTrigger;
  readonly reason: string;
  readonly scope: RecordingScope;
  readonly filter: ConnFilter;
  readonly durationMs: number;
  readonly maxBytes: number;
}

export interface CaptureRequest extends RecordingRequest {
  readonly interface: string;
  readonly snaplen: number;
  /** pcap-filter(7) words ANDed with `filter` (passed to tcpdump as arguments). */
  readonly pcapFilter: readonly string[];
}

export interface TraceRequest extends RecordingRequest {
  /** Socket fields through bpftrace, when it runs here (else tracefs alone, said in the details). */
  readonly detail: boolean;
}

export interface RecordingHandle {
  readonly id: number;
  /** Resolves once it records (tcpdump listens, the trace's source is open); rejects with why it could not start. */
  readonly started: Promise<void>;
  /** Resolves with the final row once it has ended (it never rejects). */
  readonly done: Promise<Recording>;
}

interface Running {
  readonly kind: RecordingKind;
  readonly stop: (by: string) => void;
  readonly done: Promise<Recording>;
}

function errorText(error: unknown): string {
  if (error instanceof TcpdiagError) return error.hint === undefined ? error.message : `${error.message} (${error.hint})`;
  return error instanceof Error ? error.message : String(error);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** 20261201T180102Z: file names that sort by time. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function describeFilter(filter: ConnFilter, pcapWords: readonly string[] = []): string {
  const parts = [filter.expr === undefined ? '' : formatExpr(filter.expr), pcapWords.join(' ')].filter((p) => p !== '');
  return parts.length === 2 ? `(${parts[0]}) and (${parts[1]})` : (parts[0] ?? '');
}

export class Recorder {
  private readonly running = new Map<number, Running>();
  private sequence = 0;
  private closing = false;
  private bpftrace: boolean | null = null;

  constructor(private readonly options: RecorderOptions) {}

  get active(): number {
    return this.running.size;
  }

  isRunning(id: number): boolean {
    return this.running.has(id);
  }

  startCapture(req: CaptureRequest): RecordingHandle {
    const startedAtMs = Date.now();
    const file = this.newFile('capture', startedAtMs, 'pcap');
    const id = this.options.store.start({
      kind: 'capture', trigger: req.trigger, reason: req.reason, scope: req.scope, filter: describeFilter(req.filter, req.pcapFilter),
      startedAtMs, deadlineMs: startedAtMs + req.durationMs, file, details: { interface: req.interface, snaplen: req.snaplen, maxBytes: req.maxBytes },
    });
    return this.run(id, 'capture', req, async (signal, scope, markStarted) => {
      const redactor = this.options.redactor();
      const result = await runLiveCapture({
        interface: req.interface, direction: 'both', snaplen: req.snaplen, filter: req.pcapFilter, connFilter: req.filter,
        output: file, ringFiles: 0, ringFileBytes: 0, maxBytes: req.maxBytes, redactor, signal, scope,
        onStarted: markStarted,
      });
      return {
        stoppedBy: result.stoppedBy === 'signal' ? null : result.stoppedBy,
        bytes: fileSize(file),
        items: result.packets,
        details: { kernel: result.kernel, tcpdumpPid: result.tcpdumpPid, redactions: result.redactions },
        analyze: file,
      };
    });
  }

  startTrace(req: TraceRequest): RecordingHandle {
    const startedAtMs = Date.now();
    const file = this.newFile('trace', startedAtMs, 'jsonl');
    const detail = req.detail && this.bpftraceRuns();
    const id = this.options.store.start({
      kind: 'trace', trigger: req.trigger, reason: req.reason, scope: req.scope, filter: describeFilter(req.filter),
      startedAtMs, deadlineMs: startedAtMs + req.durationMs, file,
      details: { mode: 'all', detail, ...(req.detail && !detail ? { note: 'bpftrace cannot run here: traced through tracefs, without socket fields' } : {}), maxBytes: req.maxBytes },
    });
    return this.run(id, 'trace', req, async (signal, scope, markStarted, stop) => {
      const location = ensureTracefs('the agent\'s escalation trace');
      const fd = openSync(file, 'w', 0o600);
      let bytes = 0;
      const notes: string[] = [];
      try {
        const summary = await runTrace({
          mode: 'all', filter: req.filter, durationMs: null, count: null, json: true, detail, stats: false, intervalMs: null, ignore: 0,
          bufferKb: this.options.traceBufferKb, pollIntervalMs: this.options.tracePollMs, signal,
          write: (chunk, done) => {
            if (bytes < req.maxBytes) {
              const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              writeSync(fd, buf);
              bytes += buf.length;
              if (bytes >= req.maxBytes) stop('size');
            }
            done?.();
          },
          note: (text) => {
            // The first note says the source is open: the trace records from here.
            markStarted(undefined);
            if (notes.length < 20) notes.push(text);
          },
        }, createTraceIo({ root: location.root, bufferKb: this.options.traceBufferKb, scope }));
        return { stoppedBy: null, bytes, items: summary.printed, details: { rawEvents: summary.rawEvents, lost: summary.lost, notes }, analyze: null };
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Stop a running recording (it ends as `stopped`, by `by`); the final row, or null when it is not running. */
  async stop(id: number, by = 'request'): Promise<Recording | null> {
    const r = this.running.get(id);
    if (r === undefined) return null;
    r.stop(by);
    return r.done;
  }

  /** Stop every recording (the agent is stopping); resolves when nothing of them runs. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.running.values()];
    for (const r of all) r.stop('agent-stop');
    await Promise.all(all.map((r) => r.done));
  }

  /** Keep every recording's file together under the cap: the oldest ended ones go first. */
  enforceDiskCap(): void {
    const files = this.options.store.withFiles();
    let total = files.reduce((sum, f) => sum + (f.running ? fileSize(f.file) : f.bytes), 0);
    for (const f of files) {
      if (total <= this.options.maxTotalBytes) break;
      if (f.running) continue;
      rmSync(f.file, { force: true });
      this.options.store.expire(f.id);
      total -= f.bytes;
      this.options.note(`recording ${f.id}: its file was removed to keep recordings under escalation.max_total_mb`);
    }
  }

  private newFile(kind: RecordingKind, atMs: number, ext: string): string {
    if (this.closing) throw new TcpdiagError('TCPDIAG_STOPPED', 'the agent is stopping: no new recording starts', { hint: 'start it again once the agent runs' });
    try {
      mkdirSync(this.options.directory, { recursive: true, mode: 0o700 });
    } catch (error: unknown) {
      throw new TcpdiagError('TCPDIAG_FILE_UNWRITABLE', `cannot create the recordings directory ${this.options.directory}: ${describeSystemError(error)}`, { hint: 'set escalation.directory to a directory the agent can write' });
    }
    return join(this.options.directory, `${kind}-${stamp(atMs)}-${process.pid}-${++this.sequence}.${ext}`);
  }

  private bpftraceRuns(): boolean {
    this.bpftrace ??= backendStatus().find((b) => b.backend === 'bpftrace')?.available ?? false;
    return this.bpftrace;
  }

  private publish(id: number, kind: RecordingKind, status: RecordingMessage['status'], reason: string): void {
    this.options.bus.publish({ kind: 'recording', atMs: Date.now(), id: String(id), what: kind, status, reason });
  }

  /** The common life of a recording: deadline, stop, end row, analysis, bus messages, disk cap. */
  private run(
    id: number,
    kind: RecordingKind,
    req: RecordingRequest,
    body: (signal: AbortSignal, scope: Scope, markStarted: (pid: number | undefined) => void, stop: (by: string) => void) => Promise<{ stoppedBy: string | null; bytes: number; items: number; details: Record<string, unknown>; analyze: string | null }>,
  ): RecordingHandle {
    const { store } = this.options;
    const controller = new AbortController();
    let stoppedBy: string | null = null;
    const stop = (by: string): void => {
      stoppedBy ??= by;
      controller.abort();
    };
    let resolveStarted: () => void = () => undefined;
    let rejectStarted: (error: unknown) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    started.catch(() => undefined);
    let isStarted = false;
    const markStarted = (pid: number | undefined): void => {
      if (isStarted) return;
      isStarted = true;
      store.addDetails(id, { recordingSinceMs: Date.now(), ...(pid === undefined ? {} : { pid }) });
      resolveStarted();
    };
    this.publish(id, kind, 'started', req.reason);
    const done = (async (): Promise<Recording> => {
      let scope: Scope | null = null;
      let analyze: string | null = null;
      try {
        scope = this.options.scope.child(`${kind} ${id}`);
        scope.timeout(() => stop('duration'), req.durationMs);
        const result = await body(controller.signal, scope, markStarted, stop);
        store.end(id, { status: 'stopped', stoppedAtMs: Date.now(), stoppedBy: stoppedBy ?? result.stoppedBy ?? 'source-exit', bytes: result.bytes, items: result.items, error: null, details: result.details });
        this.publish(id, kind, 'stopped', req.reason);
        analyze = result.analyze;
        resolveStarted();
      } catch (error: unknown) {
        const file = store.get(id)?.file ?? null;
        // Stopped while it was starting: an end, not a failure.
        const status = controller.signal.aborted ? 'stopped' : 'failed';
        store.end(id, { status, stoppedAtMs: Date.now(), stoppedBy: stoppedBy ?? 'error', bytes: file === null ? 0 : fileSize(file), items: 0, error: status === 'failed' ? errorText(error) : null });
        this.publish(id, kind, status, req.reason);
        if (status === 'failed') this.options.note(`${kind} ${id} (${req.reason}) failed: ${errorText(error)}`);
        rejectStarted(error);
      } finally {
        await scope?.close();
        this.running.delete(id);
      }
      if (analyze !== null) await this.analyze(id, analyze);
      this.enforceDiskCap();
      return store.get(id)!;
    })();
    this.running.set(id, { kind, stop, done });
    return { id, started, done };
  }

  /** The analysis `tcpdiag analyze --json FILE` prints, stored with the recording. */
  async analyze(id: number, file: string): Promise<void> {
    try {
      const { report } = await analyzeCapture(file, { ...ANALYSIS_OPTIONS, thresholds: this.options.thresholds });
      this.options.store.setAnalysis(id, JSON.stringify(report));
    } catch (error: unknown) {
      this.options.note(`recording ${id}: the analysis failed: ${errorText(error)}`);
    }
  }
}
