/**
 * The tiered design's trigger: the cheap always-on tier (counters, listeners, sockets, the alert
 * rules and the diagnosis) escalates to the detailed tiers when something looks wrong. An
 * alert that begins firing, or a diagnosis finding named in escalation.on_findings, starts a
 * trace and a capture narrowed to its scope (recording-scope.ts) for escalation.duration_s, and
 * freezes the capture rings' last minutes.
 *
 * Debounced so that a flapping rule or a flood of findings cannot turn the agent into a load of
 * its own: one escalation per scope at a time, at most max_concurrent at once, and a scope whose
 * escalation ended waits cooldown_s before it escalates again. What was skipped, and why, is
 * in `state()` (GET /api/v1/recordings) and the log.
 */
import type { AlertTransition } from '../model/alert.js';
import type { Finding } from '../model/finding.js';
import type { RecordingScope, RecordingTrigger } from '../model/recording.js';
import type { StreamMessage } from '../model/stream.js';
import type { AgentBus } from './bus.js';
import type { CaptureRings } from './capture-ring.js';
import type { Recorder, RecordingHandle } from './recorder.js';
import { scopeFilter, scopeKey, scopeOfAlert, scopeOfFinding } from './recording-scope.js';

export interface EscalationSettings {
  readonly enabled: boolean;
  readonly trace: boolean;
  readonly capture: boolean;
  readonly traceDetail: boolean;
  readonly durationMs: number;
  readonly onFindings: readonly string[];
  readonly maxConcurrent: number;
  readonly cooldownMs: number;
  readonly captureMaxBytes: number;
  readonly traceMaxBytes: number;
  readonly interface: string;
  readonly snaplen: number;
  readonly ringBeforeMs: number;
}

export type EscalationOutcome = 'started' | 'scope-busy' | 'cooldown' | 'at-capacity' | 'nothing-to-record';

export interface EscalationDecision {
  readonly atMs: number;
  readonly trigger: RecordingTrigger;
  readonly scope: RecordingScope;
  readonly reason: string;
  readonly outcome: EscalationOutcome;
  readonly recordings: readonly number[];
}

/** The last decisions kept for the API. */
const DECISIONS_KEPT = 50;

function formatValue(v: number | null): string {
  return v === null ? 'unknown' : String(Math.round(v * 100) / 100);
}

export function alertReason(t: AlertTransition): string {
  return `alert ${t.rule} (${t.severity}) firing on ${t.scope ?? 'the host'}: ${t.metric} ${formatValue(t.value)}, threshold ${formatValue(t.threshold)}`;
}

export function findingReason(f: Finding): string {
  return `finding ${f.id} (${f.severity}) on ${f.subject}: ${f.title}`;
}

export class Escalation {
  private readonly active = new Map<string, Promise<void>>();
  private readonly cooldownUntil = new Map<string, number>();
  private readonly decisions: EscalationDecision[] = [];
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly settings: EscalationSettings,
    private readonly recorder: Recorder,
    private readonly rings: CaptureRings | null,
    private readonly note: (text: string) => void,
  ) {}

  /** Listen for alerts and findings on the bus (nothing when escalation is off). */
  subscribe(bus: AgentBus): void {
    if (!this.settings.enabled) return;
    this.unsubscribe = bus.subscribe((m) => this.onMessage(m), ['alert', 'findings']);
  }

  private onMessage(m: StreamMessage): void {
    if (m.kind === 'alert') {
      const t = m.transition;
      if (t.status === 'firing' && !t.repeat) this.trigger('alert', scopeOfAlert(t), alertReason(t), t.atMs);
    } else if (m.kind === 'findings') {
      for (const f of m.findings) {
        if (this.settings.onFindings.includes(f.id)) this.trigger('finding', scopeOfFinding(f), findingReason(f), m.atMs);
      }
    }
  }

  /** Escalate for one scope now, unless it is debounced; what was decided. */
  trigger(trigger: 'alert' | 'finding', scope: RecordingScope, reason: string, atMs: number): EscalationDecision {
    const key = scopeKey(scope);
    const now = Date.now();
    for (const [k, until] of this.cooldownUntil) if (until <= now) this.cooldownUntil.delete(k);
    let outcome: EscalationOutcome = 'started';
    if (this.active.has(key)) outcome = 'scope-busy';
    else if ((this.cooldownUntil.get(key) ?? 0) > now) outcome = 'cooldown';
    else if (this.active.size >= this.settings.maxConcurrent) outcome = 'at-capacity';
    const handles: RecordingHandle[] = [];
    const waits: Promise<unknown>[] = [];
    if (outcome === 'started') {
      const filter = scopeFilter(scope);
      const base = { trigger, reason, scope, filter, durationMs: this.settings.durationMs };
      const start = (what: string, fn: () => RecordingHandle): void => {
        try {
          handles.push(fn());
        } catch (error: unknown) {
          this.note(`escalation (${reason}): the ${what} did not start: ${error instanceof Error ? error.message : String(error)}`);
        }
      };
      if (this.settings.trace) start('trace', () => this.recorder.startTrace({ ...base, maxBytes: this.settings.traceMaxBytes, detail: this.settings.traceDetail }));
      if (this.settings.capture) {
        start('capture', () => this.recorder.startCapture({ ...base, maxBytes: this.settings.captureMaxBytes, interface: this.settings.interface, snaplen: this.settings.snaplen, pcapFilter: [] }));
      }
      waits.push(...handles.map((h) => h.done));
      if (trigger === 'alert' && this.rings !== null) {
        waits.push(this.rings.freeze(`${reason}: the ${this.settings.ringBeforeMs / 1000} s before it fired`, scope, atMs - this.settings.ringBeforeMs).catch((error: unknown) => {
          this.note(`freezing the capture rings: ${error instanceof Error ? error.message : String(error)}`);
        }));
      }
      if (waits.length === 0) outcome = 'nothing-to-record';
      else {
        this.active.set(key, Promise.all(waits).then(() => {
          this.active.delete(key);
          this.cooldownUntil.set(key, Date.now() + this.settings.cooldownMs);
        }));
      }
    }
    const decision: EscalationDecision = { atMs: now, trigger, scope, reason, outcome, recordings: handles.map((h) => h.id) };
    this.decisions.push(decision);
    if (this.decisions.length > DECISIONS_KEPT) this.decisions.shift();
    if (outcome !== 'started') this.note(`escalation skipped (${outcome}): ${reason}`);
    return decision;
  }

  state(): { readonly active: string[]; readonly cooldowns: Record<string, number>; readonly decisions: readonly EscalationDecision[] } {
    return { active: [...this.active.keys()], cooldowns: Object.fromEntries(this.cooldownUntil), decisions: this.decisions };
  }

  /** Stop listening; resolves once the escalations running have ended (their recordings are stopped by the recorder). */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.all(this.active.values());
  }
}
