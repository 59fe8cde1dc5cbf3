/**
 * Recordings: the captures and traces the agent runs beyond its always-on tier, each kept with
 * why it ran (an alert, a finding, an operator's request, the continuous ring frozen when an
 * alert fired), what it was narrowed to, when it ran, how it ended and where its file is. The
 * API lists them and the dashboard shows them; platform-neutral (the browser bundle imports it).
 */

/** What the API may start, each enabled by name in `agent.actions` (with PLAN_ACTIONS, model/guard.ts). */
export const AGENT_ACTIONS = ['capture', 'trace'] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];

export type RecordingKind = 'capture' | 'trace';
/** alert: an alert began firing; finding: a diagnosis finding; request: POST through the API; ring: the continuous ring, frozen. */
export type RecordingTrigger = 'alert' | 'finding' | 'request' | 'ring';
/**
 * running: recording now; stopped: ended by its deadline, its size cap or a stop request;
 * failed: could not start or broke (the error says why); interrupted: the agent died while it
 * ran (found so at the next start); expired: its file was removed to keep recordings under their disk cap.
 */
export type RecordingStatus = 'running' | 'stopped' | 'failed' | 'interrupted' | 'expired';

/** What a recording was narrowed to: a listener (`127.0.0.1:8080`), a peer address, or the whole host. */
export interface RecordingScope {
  readonly kind: 'host' | 'listener' | 'peer';
  /** null for the host. */
  readonly value: string | null;
}

export interface Recording {
  readonly id: number;
  readonly kind: RecordingKind;
  readonly trigger: RecordingTrigger;
  /** In words: `alert close-wait-growth firing on 127.0.0.1:8080 (value 7, threshold 3)`. */
  readonly reason: string;
  readonly scope: RecordingScope;
  /** The pcap-filter (captures) or ss-style filter (traces) it ran with; "" for none. */
  readonly filter: string;
  readonly status: RecordingStatus;
  readonly startedAtMs: number;
  /** null while running. */
  readonly stoppedAtMs: number | null;
  /** When it was due to stop (start + duration). */
  readonly deadlineMs: number | null;
  /** duration, size, request, agent-stop, error, ... */
  readonly stoppedBy: string | null;
  /** The file's path on the agent's host; null when none was written. */
  readonly file: string | null;
  readonly bytes: number;
  /** Packets (captures) or events (traces) recorded. */
  readonly items: number;
  readonly error: string | null;
  /** Whether an analysis is stored (GET /api/v1/recordings/analysis). */
  readonly analyzed: boolean;
  /** Kind-specific details: interface, snaplen, kernel drops, lost events, detail, ring window. */
  readonly details: Readonly<Record<string, unknown>>;
}
