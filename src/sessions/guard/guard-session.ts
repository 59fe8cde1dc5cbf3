/**
 * `tcpdiag guard`: one observation window. The socket table (request sockets included, with
 * tcp_info) is read every poll interval, the kernel's counters at both ends of the window, and
 * the fingerprints and verdicts are computed from them (analysis/guard, diagnose/guard).
 * Sources come from the registry; nothing here knows a backend.
 */
import type { Cidr } from '../../model/address.js';
import type { GuardReport } from '../../model/guard.js';
import type { Issue } from '../../model/issue.js';
import type { BackendChoice } from '../../sources/index.js';
import { counterSource, socketSource } from '../../sources/index.js';
import { abortableSleep } from '../../platform/abortable-sleep.js';
import { SourceTracker } from '../../analysis/guard/fingerprint.js';
import { classifyFlood, classifySources } from '../../diagnose/guard/classify.js';
import type { GuardThresholds } from '../../diagnose/guard/classify.js';

export interface GuardOptions {
  readonly durationMs: number;
  readonly pollMs: number;
  /** Only these listener ports (empty: all). */
  readonly ports: readonly number[];
  readonly thresholds: GuardThresholds;
  readonly allowlist: readonly Cidr[];
  readonly idleMs: number;
  readonly idleMaxBytes: number;
  readonly choice: BackendChoice;
  readonly signal: AbortSignal;
  readonly note: (text: string) => void;
}

export async function runGuard(options: GuardOptions): Promise<GuardReport> {
  const sockets = socketSource(options.choice);
  const counters = counterSource(options.choice);
  const issues: Issue[] = [];
  const tracker = new SourceTracker({ idleMs: options.idleMs, idleMaxBytes: options.idleMaxBytes, ports: options.ports.length === 0 ? null : new Set(options.ports) });
  const before = await counters.collect(options.signal, undefined);
  issues.push(...before.issues);
  const start = performance.now();
  options.note(`watching for ${Math.round(options.durationMs / 100) / 10} s (the socket table every ${options.pollMs} ms); Ctrl-C ends the window early`);
  const seen = new Set<string>();
  for (;;) {
    let snap;
    try {
      snap = await sockets.collect(options.signal, { withInfo: true, withOwners: false });
    } catch (error: unknown) {
      if (options.signal.aborted) break;
      throw error;
    }
    tracker.add(snap.takenAtMs, snap.data);
    for (const i of snap.issues) {
      if (!seen.has(i.message)) issues.push(i);
      seen.add(i.message);
    }
    const left = start + options.durationMs - performance.now();
    if (left <= 0 || options.signal.aborted) break;
    try {
      await abortableSleep(Math.min(options.pollMs, left), options.signal);
    } catch {
      break;
    }
  }
  const after = await counters.collect(new AbortController().signal, undefined);
  const delta = (name: string): number => Math.max(0, (after.data.counters[name] ?? 0) - (before.data.counters[name] ?? 0));
  const result = tracker.result();
  return {
    window: { startMs: result.startMs, endMs: result.endMs, durationMs: result.endMs - result.startMs, snapshots: result.snapshots },
    sources: classifySources(result, options.thresholds, options.allowlist),
    flood: classifyFlood(result, { syncookiesSent: delta('SyncookiesSent'), reqQueueFullDrops: delta('TCPReqQFullDrop'), listenOverflows: delta('ListenOverflows') }, options.thresholds, options.allowlist),
    issues,
  };
}
