/**
 * What every source promises, whichever backend is behind it. Two kinds:
 *
 * - A snapshot source answers `collect(signal, query)` with `{ data, issues, takenAtMs }`: the
 *   state of something now (the socket table, the counters, the listeners). It never throws for
 *   a missing capability (no root, no addon, no tracefs): it returns what it could, and an Issue
 *   that says what is missing and the command that grants it. It rejects only when it was
 *   aborted (with the signal's reason) or when nothing at all could be read (a TcpdiagError).
 *   One source answers many collects: the agent keeps it for weeks.
 * - An event source hands over what happened since the last poll, in time order, and keeps a
 *   count of what the kernel lost: that count is part of every answer, never optional, because
 *   a trace that silently lost events lies. Closing it removes everything it set up (tracefs
 *   instance, child process) before the promise resolves.
 *
 * Backends implement these; `sources/index.ts` is the only place that builds them. Platform-
 * neutral on purpose: this file imports only model/.
 */
import type { Issue } from '../model/issue.js';
import type { RawTcpEvent, TracepointName } from '../model/kernel-event.js';
import type { ProcessLookup } from '../model/process.js';
import type { TcpSocket } from '../model/socket.js';
import type { Counters } from '../model/counters.js';
import type { PcapFileInfo, RawPacket } from '../model/packet.js';

/** One answer of a snapshot source. */
export interface Snapshot<T> {
  readonly data: T;
  /** What was degraded, with the way to get it back; empty when nothing was. */
  readonly issues: readonly Issue[];
  /** Wall-clock time the data was read (ms since the epoch). */
  readonly takenAtMs: number;
}

export interface SnapshotSource<T, Query = void> {
  /** The backend that answers (`sockdiag`, `procfs`...), for reports and `/api/health`. */
  readonly backend: string;
  collect(signal: AbortSignal, query: Query): Promise<Snapshot<T>>;
}

/**
 * Receives each event in time order. The object may be reused for the next event once the
 * visitor returns (tracefs decodes into one scratch object): copy it to keep it.
 */
export type EventVisitor<E> = (event: E) => void;

/** The kernel's own loss figures for one CPU's buffer. */
export interface CpuBufferStats {
  readonly cpu: number;
  /** Events overwritten before they were read (overwrite mode). */
  readonly overrun: number;
  /** Events dropped because the buffer was full (non-overwrite mode). */
  readonly dropped: number;
  readonly entries: number;
}

/** What an event source says when it closes. */
export interface EventSourceSummary {
  /** Events the stream itself reported lost (the kernel's "[LOST N EVENTS]" records). */
  readonly lostReported: number;
  /** The kernel's per-CPU counters at the end (overrun + dropped), an independent check. */
  readonly kernelLost: number;
  readonly perCpu: readonly CpuBufferStats[];
}

export interface EventSource<E> {
  /** The backend that delivers (`tracefs`, `bpftrace`, `tcpdump`, `pcap-file`). */
  readonly backend: BackendName;
  /**
   * Hand every event ready now to `visit`, in time order; returns how many. A finite source (a
   * file) hands over a bounded batch per poll, so that its caller can yield between polls.
   */
  poll(visit: EventVisitor<E>): number;
  /** Everything still held (call once at the end, after a last poll). */
  drain(visit: EventVisitor<E>): number;
  /** Events lost so far, as the stream reported them. */
  readonly lost: number;
  /** True once nothing more will come: a file read to its end, a tool that exited. */
  readonly ended: boolean;
  /**
   * Hand `visit` made-up events through the same decode path as real ones, before tracing
   * starts, so that V8 has compiled the hot path before the first burst. Returns how many.
   */
  warmUp?(visit: EventVisitor<E>, serverPort: number, tid: number): number;
  /**
   * Stop, remove what was set up in the kernel, and say what was lost. Resolves once nothing
   * is left: the tracefs instance removed, the child process exited. Idempotent.
   */
  close(): Promise<EventSourceSummary>;
}

/** Every backend the registry can build. */
export type BackendName = 'procfs' | 'sockdiag' | 'tracefs' | 'bpftrace' | 'tcpdump' | 'pcap-file';

/** What one backend can do on this host, for reports and the agent's /api/health. */
export interface BackendStatus {
  readonly backend: BackendName;
  readonly kind: 'snapshot' | 'events';
  /** What it gives ("socket table with tcp_info", "kernel TCP events"...). */
  readonly gives: readonly string[];
  /** False when it cannot run at all here; `issues` then says why and what to run. */
  readonly available: boolean;
  /** What is missing or degraded, each with the fix (empty when everything works). */
  readonly issues: readonly Issue[];
}

/** The kernel TCP event stream (tracefs, or bpftrace for socket fields). */
export type TcpEventSource = EventSource<RawTcpEvent>;

/** Packets, live (tcpdump) or from a file; `B` is the byte container (Buffer in Node). */
export type PacketSource<B extends Uint8Array = Uint8Array> = EventSource<RawPacket<B>>;

/** A capture file: packets plus what its headers say (format, link types). */
export interface CaptureFileSource<B extends Uint8Array = Uint8Array> extends PacketSource<B> {
  /** Null until the file's header has been read (or when it has none). */
  info(): PcapFileInfo | null;
  /** Packets delivered so far. */
  readonly packets: number;
}

/** A tracepoint to enable, with its kernel-side filter (null: every event). */
export interface TracepointRequest {
  readonly name: TracepointName;
  readonly filter: string | null;
}

/** Everything a trace session needs from the host, built by the registry, faked by tests. */
export interface TraceIo {
  readonly openSource: (tracepoints: readonly TracepointRequest[], detail: boolean, signal?: AbortSignal) => Promise<TcpEventSource>;
  readonly processes: ProcessLookup;
  readonly socketTable: () => TcpSocket[];
  readonly counters: () => Counters;
}
