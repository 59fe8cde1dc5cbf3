/**
 * What the agent's live stream carries (the WebSocket at /api/v1/stream, and every in-process
 * consumer: exporters, escalation): one message per thing that happened, each stamped with the
 * wall-clock time it happened at. Platform-neutral: the dashboard imports these types.
 *
 * Kinds are added, never renamed: a consumer ignores kinds it does not know.
 */
import type { AlertTransition } from './alert.js';
import type { Finding } from './finding.js';
import type { ListenerSummary } from './listener.js';
import type { RollupRow } from './agent-event.js';

/** The counters tick (every second): connections by state and the 1 s series' values. */
export interface SampleMessage {
  readonly kind: 'sample';
  readonly atMs: number;
  /** Connections by kernel state name (ESTABLISHED, TIME_WAIT, ...). */
  readonly states: Readonly<Record<string, number>>;
  /** The 1 s series by name (`retransmits_per_s`, `active_opens_per_s`, ...): what /api/v1/series stores. */
  readonly series: Readonly<Record<string, number>>;
}

/** The listener table, when it was read again. */
export interface ListenersMessage {
  readonly kind: 'listeners';
  readonly atMs: number;
  readonly listeners: readonly ListenerSummary[];
}

/** An alert began firing or resolved. */
export interface AlertMessage {
  readonly kind: 'alert';
  readonly atMs: number;
  readonly transition: AlertTransition;
}

/** A diagnosis judged a window (findings may be empty: nothing was wrong). */
export interface FindingsMessage {
  readonly kind: 'findings';
  readonly atMs: number;
  readonly fromMs: number;
  readonly findings: readonly Finding[];
}

/**
 * A connection-level kernel event the agent saw (connect, accept, close, state change,
 * retransmission, reset), already decoded; `data` is the event's own fields.
 */
export interface KernelEventMessage {
  readonly kind: 'event';
  readonly atMs: number;
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A capture or a trace the agent started or stopped (an escalation or an operator's request). */
export interface RecordingMessage {
  readonly kind: 'recording';
  readonly atMs: number;
  readonly id: string;
  readonly what: 'capture' | 'trace';
  readonly status: 'started' | 'stopped' | 'failed';
  readonly reason: string;
}

/** A minute's per-listener and per-peer rollups, once the minute is closed (GET /api/v1/rollups has them too). */
export interface RollupMessage {
  readonly kind: 'rollup';
  readonly atMs: number;
  readonly rows: readonly RollupRow[];
}

export type StreamMessage = SampleMessage | ListenersMessage | AlertMessage | FindingsMessage | KernelEventMessage | RecordingMessage | RollupMessage;
export type StreamKind = StreamMessage['kind'];
export const STREAM_KINDS: readonly StreamKind[] = ['sample', 'listeners', 'alert', 'findings', 'event', 'recording', 'rollup'];
