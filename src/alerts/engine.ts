/**
 * The alert engine: rules held over time. Pure: each call takes the metric values of one sample
 * and its time, and returns the transitions; no clock, no I/O, so a synthetic series tests it
 * exactly and the watch session and the agent run the same code.
 *
 * An instance (a rule in one scope) is pending while its condition holds and fires once it has
 * held `forMs`, sample after sample; a sample that breaks the condition, or one whose value is
 * unknown (the first sample after start-up, a counter that went backwards), ends the hold, so
 * neither the tool's start-up nor a counter reset can fire. A firing instance resolves once the
 * condition has been clear (below `resolveThreshold`, the threshold when unset) for
 * `keepFiringForMs`, so a value that crosses back and forth does not flap (Prometheus added
 * `keep_firing_for` for exactly this). An unknown value never resolves a firing instance.
 * Scoped rules track at most `maxInstances` instances, the worst first; the rest are counted.
 * Baseline rules learn only from values that do not breach, so an attack never becomes normal.
 */
import type { AlertMetric, AlertRuleSpec, AlertScopeKind, AlertTransition } from '../model/alert.js';
import type { BaselineStats, BaselineStore } from './baseline.js';

/** One metric at one sample: the host figure and, where measured, per listener or per peer. Null or absent: unknown. */
export interface MetricReading {
  readonly host: number | null;
  readonly listener?: ReadonlyMap<string, number>;
  readonly peer?: ReadonlyMap<string, number>;
}

export type MetricValues = Partial<Record<AlertMetric, MetricReading>>;

interface Instance {
  readonly rule: AlertRuleSpec;
  readonly scope: string | null;
  phase: 'pending' | 'firing';
  activeSinceMs: number;
  startsAtMs: number;
  lastSentMs: number;
  clearSinceMs: number | null;
  threshold: number;
  value: number | null;
  baseline: BaselineStats | null;
}

/** A firing instance as the state file keeps it, so a restart neither re-fires nor forgets it. */
export interface FiringState {
  readonly rule: string;
  readonly scope: string | null;
  readonly startsAtMs: number;
  readonly activeSinceMs: number;
  readonly lastSentMs: number;
  readonly threshold: number;
  readonly value: number | null;
}

/** What the engine holds about the instances it tracks. */
export interface ActiveAlert {
  readonly rule: AlertRuleSpec;
  readonly scope: string | null;
  readonly phase: 'pending' | 'firing';
  readonly value: number | null;
  readonly threshold: number;
  readonly startsAtMs: number;
  readonly baseline: BaselineStats | null;
}

const ROBUST_SIGMA = 1.4826;

export function baselineKey(metric: AlertMetric, scopeKind: AlertScopeKind, scope: string | null): string {
  return `${metric}|${scopeKind}|${scope ?? ''}`;
}

function instanceKey(rule: AlertRuleSpec, scope: string | null): string {
  return `${rule.name}|${scope ?? ''}`;
}

export function roundValue(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function breaches(rule: AlertRuleSpec, value: number, threshold: number): boolean {
  return rule.comparison === 'above' ? value > threshold : value < threshold;
}

function clear(rule: AlertRuleSpec, value: number | null, resolveAt: number): boolean {
  if (value === null) return true;
  return rule.comparison === 'above' ? value <= resolveAt : value >= resolveAt;
}

export class AlertEngine {
  private readonly instances = new Map<string, Instance>();
  private readonly untracked = new Map<string, number>();

  constructor(
    readonly rules: readonly AlertRuleSpec[],
    private readonly baselines: BaselineStore | null,
  ) {
    const names = new Set<string>();
    for (const rule of rules) {
      if (names.has(rule.name)) throw new Error(`two alert rules are named ${rule.name}`);
      names.add(rule.name);
    }
  }

  /** Judge one sample taken at `atMs`. */
  evaluate(values: MetricValues, atMs: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    for (const rule of this.rules) this.evaluateRule(rule, values[rule.metric], atMs, out);
    return out;
  }

  /** Scopes over the threshold that the rule's cap left untracked, at the last sample. */
  untrackedScopes(rule: string): number {
    return this.untracked.get(rule) ?? 0;
  }

  active(): ActiveAlert[] {
    return [...this.instances.values()].map((i) => ({ rule: i.rule, scope: i.scope, phase: i.phase, value: i.value, threshold: i.threshold, startsAtMs: i.startsAtMs, baseline: i.baseline }));
  }

  firingState(): FiringState[] {
    return [...this.instances.values()]
      .filter((i) => i.phase === 'firing')
      .map((i) => ({ rule: i.rule.name, scope: i.scope, startsAtMs: i.startsAtMs, activeSinceMs: i.activeSinceMs, lastSentMs: i.lastSentMs, threshold: i.threshold, value: i.value }));
  }

  /** The firing instances as repeats at `atMs`: what a receiver that resends while firing needs after a restore. */
  firingTransitions(atMs: number): AlertTransition[] {
    return [...this.instances.values()].filter((i) => i.phase === 'firing').map((i) => this.transition(i, 'firing', true, atMs));
  }

  /** Firing instances from a state file: they stay firing without a new notification. Unknown rules are dropped. */
  restoreFiring(states: readonly FiringState[]): number {
    let restored = 0;
    for (const s of states) {
      const rule = this.rules.find((r) => r.name === s.rule);
      if (rule === undefined || (rule.scope === 'host') !== (s.scope === null)) continue;
      this.instances.set(instanceKey(rule, s.scope), {
        rule,
        scope: s.scope,
        phase: 'firing',
        activeSinceMs: s.activeSinceMs,
        startsAtMs: s.startsAtMs,
        lastSentMs: s.lastSentMs,
        clearSinceMs: null,
        threshold: s.threshold,
        value: s.value,
        baseline: null,
      });
      restored += 1;
    }
    return restored;
  }

  private evaluateRule(rule: AlertRuleSpec, reading: MetricReading | undefined, atMs: number, out: AlertTransition[]): void {
    const entries = this.entriesOf(rule, reading);
    if (entries === null) {
      // Unknown this sample: holds end, firing instances stay as they are.
      for (const [key, inst] of this.instances) if (inst.rule === rule && inst.phase === 'pending') this.instances.delete(key);
      return;
    }
    const seen = new Set<string | null>();
    const candidates: Array<{ scope: string | null; value: number; threshold: number; baseline: BaselineStats | null }> = [];
    for (const [scope, raw] of entries) {
      const value = roundValue(raw);
      seen.add(scope);
      const { threshold, baseline } = this.thresholdOf(rule, scope, atMs);
      const inst = this.instances.get(instanceKey(rule, scope));
      if (inst !== undefined) {
        this.advance(inst, value, threshold, baseline, atMs, out);
        this.learn(rule, scope, raw, atMs);
        continue;
      }
      if (threshold !== null && breaches(rule, value, threshold)) candidates.push({ scope, value, threshold, baseline });
      else this.learn(rule, scope, raw, atMs);
    }
    // Instances whose scope is gone (a listener closed, a peer left): their value is unknown but the condition cannot hold.
    for (const inst of [...this.instances.values()]) {
      if (inst.rule !== rule || seen.has(inst.scope)) continue;
      if (inst.phase === 'pending') this.instances.delete(instanceKey(rule, inst.scope));
      else this.advance(inst, null, inst.threshold, inst.baseline, atMs, out);
    }
    // New instances, the worst first, up to the cap.
    candidates.sort((a, b) => (rule.comparison === 'above' ? b.value - a.value : a.value - b.value));
    let tracked = 0;
    for (const inst of this.instances.values()) if (inst.rule === rule) tracked += 1;
    const cap = rule.scope === 'host' ? 1 : rule.maxInstances;
    let untracked = 0;
    for (const c of candidates) {
      if (tracked >= cap) {
        untracked += 1;
        continue;
      }
      tracked += 1;
      const inst: Instance = { rule, scope: c.scope, phase: 'pending', activeSinceMs: atMs, startsAtMs: atMs, lastSentMs: atMs, clearSinceMs: null, threshold: c.threshold, value: c.value, baseline: c.baseline };
      this.instances.set(instanceKey(rule, c.scope), inst);
      this.maybeFire(inst, atMs, out);
    }
    this.untracked.set(rule.name, untracked);
  }

  private entriesOf(rule: AlertRuleSpec, reading: MetricReading | undefined): Array<[string | null, number]> | null {
    if (reading === undefined) return null;
    if (rule.scope === 'host') return reading.host === null || !Number.isFinite(reading.host) ? null : [[null, reading.host]];
    const map = rule.scope === 'listener' ? reading.listener : reading.peer;
    if (map === undefined) return null;
    return [...map].filter(([, v]) => Number.isFinite(v));
  }

  private thresholdOf(rule: AlertRuleSpec, scope: string | null, atMs: number): { threshold: number | null; baseline: BaselineStats | null } {
    if (rule.baseline === null || this.baselines === null) return { threshold: rule.threshold, baseline: null };
    const stats = this.baselines.stats(baselineKey(rule.metric, rule.scope, scope), atMs);
    if (stats === null) return { threshold: rule.threshold, baseline: null };
    const b = rule.baseline;
    const learned = Math.max(b.floor, stats.median * (1 + b.surgePercent / 100), stats.median + b.deviations * ROBUST_SIGMA * stats.mad);
    return { threshold: roundValue(rule.threshold === null ? learned : Math.max(rule.threshold, learned)), baseline: stats };
  }

  private learn(rule: AlertRuleSpec, scope: string | null, value: number, atMs: number): void {
    if (rule.baseline === null || this.baselines === null) return;
    const inst = this.instances.get(instanceKey(rule, scope));
    if (inst !== undefined) return;
    this.baselines.observe(baselineKey(rule.metric, rule.scope, scope), value, atMs);
  }

  private advance(inst: Instance, value: number | null, threshold: number | null, baseline: BaselineStats | null, atMs: number, out: AlertTransition[]): void {
    const rule = inst.rule;
    if (inst.phase === 'pending') {
      if (value === null || threshold === null || !breaches(rule, value, threshold)) {
        this.instances.delete(instanceKey(rule, inst.scope));
        return;
      }
      inst.value = value;
      inst.threshold = threshold;
      inst.baseline = baseline;
      this.maybeFire(inst, atMs, out);
      return;
    }
    inst.value = value;
    // The threshold stays the one it fired at: a baseline does not move while its alert fires.
    if (clear(rule, value, rule.resolveThreshold ?? inst.threshold)) {
      inst.clearSinceMs ??= atMs;
      if (atMs - inst.clearSinceMs >= rule.keepFiringForMs) {
        this.instances.delete(instanceKey(rule, inst.scope));
        out.push(this.transition(inst, 'resolved', false, atMs));
      }
      return;
    }
    inst.clearSinceMs = null;
    if (rule.repeatIntervalMs > 0 && atMs - inst.lastSentMs >= rule.repeatIntervalMs) {
      inst.lastSentMs = atMs;
      out.push(this.transition(inst, 'firing', true, atMs));
    }
  }

  private maybeFire(inst: Instance, atMs: number, out: AlertTransition[]): void {
    if (atMs - inst.activeSinceMs < inst.rule.forMs) return;
    inst.phase = 'firing';
    inst.startsAtMs = atMs;
    inst.lastSentMs = atMs;
    out.push(this.transition(inst, 'firing', false, atMs));
  }

  private transition(inst: Instance, status: 'firing' | 'resolved', repeat: boolean, atMs: number): AlertTransition {
    return {
      status,
      repeat,
      rule: inst.rule.name,
      metric: inst.rule.metric,
      severity: inst.rule.severity,
      scopeKind: inst.rule.scope,
      scope: inst.scope,
      value: inst.value,
      threshold: inst.threshold,
      atMs,
      startsAtMs: inst.startsAtMs,
      activeSinceMs: inst.activeSinceMs,
      summary: inst.rule.summary,
    };
  }
}
