/**
 * `tcpdiag watch`: the alert loop. Every interval the host is sampled (kernel TCP counters and
 * the socket table, through the injected sources), the metrics between this sample and the last
 * are judged by the alert engine, and each transition goes to the terminal and to the sinks.
 * Ticks never overlap: a late one is skipped, not queued, and said once. Sinks only enqueue, so a
 * dead receiver never delays the next evaluation.
 *
 * When an alert fires, evidence is frozen from that very sample: the socket table is read again
 * with owners (the process behind a listener), and the diagnosis rules judge the two samples, so
 * the alert carries the finding that explains it and its advice. The baselines and the firing
 * alerts are saved to the state file every minute and on exit, and loaded at start.
 */
import type { DiagnoseSources } from '../sources/diagnose.js';
import type { AlertRuleSpec, AlertTransition } from '../model/alert.js';
import type { MissingFact } from '../model/facts.js';
import { abortableSleep } from '../platform/abortable-sleep.js';
import { AlertEngine } from '../alerts/engine.js';
import type { FiringState } from '../alerts/engine.js';
import { BaselineStore } from '../alerts/baseline.js';
import type { BaselineOptions, BaselineState } from '../alerts/baseline.js';
import { measure } from '../alerts/metrics.js';
import type { MetricOptions, WatchSample } from '../alerts/metrics.js';
import { buildEvidence } from '../alerts/evidence.js';
import { buildLiveFacts } from '../diagnose/live-facts.js';
import { runRules } from '../diagnose/engine.js';
import type { Thresholds } from '../diagnose/rule.js';
import { RULES } from '../diagnose/rules/index.js';
import type { Finding } from '../model/finding.js';
import type { AlertSink } from '../sinks/alerts/receivers.js';
import { readStateFile, writeStateFile } from '../store/alert-state.js';

export type WatchSources = Pick<DiagnoseSources, 'sockets' | 'counters' | 'sysctls'>;

export interface WatchOptions {
  readonly intervalMs: number;
  readonly rules: readonly AlertRuleSpec[];
  readonly metrics: MetricOptions;
  readonly baseline: BaselineOptions;
  /** Null: keep no state across runs. */
  readonly stateFile: string | null;
  /** For the diagnosis findings attached as evidence. */
  readonly thresholds: Thresholds;
  readonly sinks: readonly AlertSink[];
  readonly signal: AbortSignal;
  /** Every transition (not the repeats), with its evidence: the terminal. */
  readonly onTransition: (t: AlertTransition) => void;
  /** Progress and problems for stderr. */
  readonly note: (text: string) => void;
}

export interface WatchSummary {
  readonly samples: number;
  readonly transitions: number;
  readonly lateTicks: number;
}

interface StateFile {
  readonly version: 1;
  readonly savedAtMs: number;
  readonly baselines: BaselineState;
  readonly firing: readonly FiringState[];
}

const SAVE_EVERY_MS = 60_000;
const SYSCTL_EVERY_MS = 60_000;
const SINK_CLOSE_MS = 2000;

function isStateFile(value: unknown): value is StateFile {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<StateFile>;
  return v.version === 1 && typeof v.baselines === 'object' && v.baselines !== null && Array.isArray(v.firing);
}

export function parsePortRange(text: string | null | undefined): readonly [number, number] | null {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text ?? '');
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

/**
 * The alert pieces every loop shares (`tcpdiag watch`, the agent): the engine over restored
 * baselines and firing alerts, the metrics between two samples, evidence frozen on a firing,
 * hand-off to the sinks, and the state file. The caller owns the schedule and the sampling.
 */
export class AlertLoop {
  private readonly baselines: BaselineStore;
  private readonly engine: AlertEngine;
  private previous: WatchSample | null = null;
  private savedAtMs = performance.now();

  constructor(private readonly options: Omit<WatchOptions, 'intervalMs' | 'signal'>, private readonly sources: WatchSources) {
    this.baselines = new BaselineStore(options.baseline);
    this.engine = new AlertEngine(options.rules, this.baselines);
    loadState(options, this.baselines, this.engine);
    for (const t of this.engine.firingTransitions(Date.now())) for (const sink of options.sinks) sink.resume(t);
  }

  /** Judge `current` against the previous sample; every transition (repeats too) went to the sinks, the new ones to onTransition. */
  step(current: WatchSample): AlertTransition[] {
    const previous = this.previous;
    const engine = this.engine;
    const out = engine.evaluate(measure(previous, current, this.options.metrics), current.atMs);
    const fired = out.filter((t) => t.status === 'firing' && !t.repeat);
    const findings = fired.length > 0 && previous !== null ? diagnoseFindings(previous, current, this.sources, this.options.thresholds) : { findings: [], sockets: current.sockets };
    const active = engine.active();
    const result: AlertTransition[] = [];
    for (const raw of out) {
      let t = raw;
      if (fired.includes(raw)) {
        const inst = active.find((a) => a.rule.name === raw.rule && a.scope === raw.scope);
        t = {
          ...raw,
          evidence: buildEvidence({
            transition: raw,
            previousCounters: previous?.counters ?? null,
            counters: current.counters,
            intervalMs: previous === null ? 0 : current.monotonicMs - previous.monotonicMs,
            sockets: findings.sockets,
            findings: findings.findings,
            baseline: inst?.baseline ?? null,
            untrackedScopes: engine.untrackedScopes(raw.rule),
          }),
        };
      }
      if (!t.repeat) this.options.onTransition(t);
      for (const sink of this.options.sinks) sink.take(t);
      result.push(t);
    }
    for (const sink of this.options.sinks) sink.tick(current.atMs);
    this.previous = current;
    if (this.options.stateFile !== null && performance.now() - this.savedAtMs >= SAVE_EVERY_MS) {
      this.savedAtMs = performance.now();
      saveState(this.options, this.baselines, this.engine);
    }
    return result;
  }

  /** Alerts firing now, by rule and scope. */
  firing(): readonly { readonly rule: string; readonly severity: string; readonly scope: string | null }[] {
    return this.engine.active().filter((a) => a.phase === 'firing').map((a) => ({ rule: a.rule.name, severity: a.rule.severity, scope: a.scope }));
  }

  /** Save the state and let the sinks deliver what they hold (bounded). */
  async close(): Promise<void> {
    if (this.options.stateFile !== null) saveState(this.options, this.baselines, this.engine);
    await Promise.all(this.options.sinks.map((s) => s.close(SINK_CLOSE_MS)));
  }
}

export async function runWatch(options: WatchOptions, sources: WatchSources): Promise<WatchSummary> {
  const alerts = new AlertLoop(options, sources);
  let portRange: readonly [number, number] | null = null;
  let sysctlAtMs = -Infinity;
  let samples = 0;
  let transitions = 0;
  let lateTicks = 0;
  const issuesSeen = new Set<string>();
  let next = performance.now();
  options.note(`watching ${options.rules.length} rules every ${options.intervalMs / 1000} s; Ctrl-C stops`);
  try {
    while (!options.signal.aborted) {
      const now = performance.now();
      if (now - sysctlAtMs >= SYSCTL_EVERY_MS) {
        sysctlAtMs = now;
        portRange = parsePortRange(sources.sysctls().data['net.ipv4.ip_local_port_range']);
      }
      const current = sample(sources, portRange, issuesSeen, options.note);
      samples += 1;
      transitions += alerts.step(current).filter((t) => !t.repeat).length;
      next += options.intervalMs;
      const after = performance.now();
      if (after > next) {
        // The sample took longer than the interval: skip the ticks it overran rather than run them back to back.
        const missed = Math.ceil((after - next) / options.intervalMs);
        lateTicks += missed;
        next += missed * options.intervalMs;
        if (lateTicks === missed) options.note(`a sample took ${Math.round(after - now)} ms, longer than the ${options.intervalMs} ms interval: ticks are skipped (raise --interval)`);
      }
      await abortableSleep(next - performance.now(), options.signal);
    }
  } finally {
    await alerts.close();
  }
  return { samples, transitions, lateTicks };
}

function sample(sources: WatchSources, portRange: readonly [number, number] | null, seen: Set<string>, note: (text: string) => void): WatchSample {
  const atMs = Date.now();
  const monotonicMs = performance.now();
  const counters = sources.counters();
  const sockets = sources.sockets(false);
  for (const i of [...counters.issues, ...sockets.issues]) {
    if (seen.has(i.code)) continue;
    seen.add(i.code);
    note(`${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`);
  }
  return { atMs, monotonicMs, counters: counters.data, sockets: sockets.data, portRange };
}

/** The diagnosis rules on the two samples, the end one re-read with owners: the findings an alert carries. */
function diagnoseFindings(previous: WatchSample, current: WatchSample, sources: WatchSources, thresholds: Thresholds): { findings: readonly Finding[]; sockets: WatchSample['sockets'] } {
  const withOwners = sources.sockets(true);
  const end = { ...current, sockets: withOwners.data };
  return { findings: diagnoseSamples(previous, end, sources.sysctls().data, withOwners.tcpInfo, thresholds, 'watch'), sockets: withOwners.data };
}

/**
 * The diagnosis rules over two samples of counters and the socket table (no kernel events, no
 * process resources: those rules say they were skipped and why). `who` names the loop in the
 * skip reasons.
 */
export function diagnoseSamples(previous: WatchSample, current: WatchSample, sysctl: Record<string, string | null>, tcpInfo: boolean, thresholds: Thresholds, who: string): readonly Finding[] {
  const missing: MissingFact[] = [
    { kind: 'events', reason: `${who} does not trace kernel events` },
    { kind: 'processes', reason: `${who} does not read process resources` },
  ];
  if (!tcpInfo) missing.push({ kind: 'tcpInfo', reason: 'the socket table has no tcp_info (/proc/net/tcp)' });
  const end = (s: WatchSample) => ({ atMs: s.atMs, monotonicMs: s.monotonicMs, sockets: s.sockets, counters: s.counters, processes: null, host: null });
  const facts = buildLiveFacts({ scope: {}, start: end(previous), end: end(current), sysctl, events: null, missing });
  return runRules(facts, thresholds, RULES, { source: 'alerts' }).findings;
}

function loadState(options: Pick<WatchOptions, 'stateFile' | 'note'>, baselines: BaselineStore, engine: AlertEngine): void {
  if (options.stateFile === null) return;
  const read = readStateFile(options.stateFile);
  if (!read.ok) {
    if (!read.missing) options.note(`the alert state is not used and will be rewritten: ${read.reason}`);
    return;
  }
  if (!isStateFile(read.state)) {
    options.note(`the alert state ${options.stateFile} is not a tcpdiag alert state: it will be rewritten`);
    return;
  }
  if (!baselines.load(read.state.baselines)) options.note('the saved baselines use another bucket size: learning starts over');
  const restored = engine.restoreFiring(read.state.firing);
  if (restored > 0) options.note(`${restored} alert(s) still firing from the last run`);
}

function saveState(options: Pick<WatchOptions, 'stateFile' | 'note'>, baselines: BaselineStore, engine: AlertEngine): void {
  const state: StateFile = { version: 1, savedAtMs: Date.now(), baselines: baselines.toState(), firing: engine.firingState() };
  try {
    writeStateFile(options.stateFile!, state);
  } catch (error: unknown) {
    options.note(`cannot save the alert state to ${options.stateFile!}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
