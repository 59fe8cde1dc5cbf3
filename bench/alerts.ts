/**
 * The alert engine's cost: `node dist/bench/alerts.js [INSTANCES] [SECONDS]` (default 1000, 10).
 *
 * INSTANCES scoped rule instances (ten per-listener and per-peer rules, fixed and baseline ones,
 * over INSTANCES / 10 scopes each) are evaluated once per second for SECONDS of wall time, as
 * the watch loop would with one sample per second; values wander around the thresholds so
 * instances go pending, fire and resolve, and the baselines learn. Prints the CPU the process
 * used over the wall time (target: under 5% of one core for 1,000 instances per second), and the
 * CPU per instance evaluation measured flat out. The engine is pure, so nothing else is in the
 * loop: the metrics' cost is the socket table's read, which `bench/conns.ts` measures.
 */
import { AlertEngine } from '../src/alerts/engine.js';
import type { MetricValues } from '../src/alerts/engine.js';
import { BaselineStore } from '../src/alerts/baseline.js';
import type { AlertMetric, AlertRuleSpec, AlertScopeKind } from '../src/model/alert.js';

const instances = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 10);
const RULES = 10;
const scopes = Math.max(1, Math.round(instances / RULES));

const metrics: Array<[AlertMetric, AlertScopeKind]> = [
  ['syn_per_s', 'listener'],
  ['new_connections_per_s', 'listener'],
  ['syn_recv_backlog_percent', 'listener'],
  ['close_wait', 'listener'],
  ['listen_overflows_per_s', 'listener'],
  ['retrans_ratio_percent', 'peer'],
  ['loss_percent', 'peer'],
  ['rtt_ms', 'peer'],
  ['port_use_percent', 'peer'],
  ['new_connections_per_s', 'listener'],
];
const rules: AlertRuleSpec[] = metrics.map(([metric, scope], i) => ({
  name: `rule-${i}`,
  metric,
  comparison: 'above',
  threshold: i === RULES - 1 ? null : 100,
  baseline: i === RULES - 1 ? { surgePercent: 300, deviations: 6, floor: 50 } : null,
  forMs: 3000,
  keepFiringForMs: 5000,
  resolveThreshold: 80,
  severity: 'P2',
  scope,
  maxInstances: scopes,
  repeatIntervalMs: 60_000,
  summary: metric,
}));

const keys = Array.from({ length: scopes }, (_, i) => `10.0.${i >> 8}.${i & 255}:8080`);
let seed = 42;
const random = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
/** Values around the threshold: most scopes quiet, some over it for a while. */
function sample(tick: number): MetricValues {
  const map = new Map<string, number>();
  keys.forEach((k, i) => map.set(k, (i + Math.floor(tick / 20)) % 7 === 0 ? 120 + random() * 50 : random() * 90));
  const reading = { host: 0, listener: map, peer: map };
  const values: MetricValues = {};
  for (const [metric] of metrics) values[metric] = reading;
  return values;
}

function engine(): AlertEngine {
  return new AlertEngine(rules, new BaselineStore({ bucketMs: 60_000, historyBuckets: 1440, warmupBuckets: 30, hourOfWeek: false, maxSeries: instances }));
}

// Flat out: the CPU per instance evaluation.
{
  const e = engine();
  const ticks = 200;
  const inputs = Array.from({ length: ticks }, (_, t) => sample(t));
  const cpu = process.cpuUsage();
  let transitions = 0;
  for (let t = 0; t < ticks; t++) transitions += e.evaluate(inputs[t]!, t * 1000).length;
  const used = process.cpuUsage(cpu);
  const us = (used.user + used.system) / (ticks * rules.length * scopes);
  process.stdout.write(`flat out: ${ticks} evaluations of ${rules.length * scopes} instances, ${transitions} transitions, ${us.toFixed(2)} us CPU per instance evaluation (${((us * 1000) / 1e4).toFixed(2)}% of a core at 1,000 per second)\n`);
}

// In real time: one evaluation per second, as `tcpdiag watch --interval 1s` does.
{
  const e = engine();
  let tick = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      e.evaluate(sample(tick), Date.now());
      tick += 1;
      if (tick >= seconds) {
        clearInterval(timer);
        resolve();
      }
    }, 1000);
  });
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - start;
  const percent = ((used.user + used.system) / 1000 / wallMs) * 100;
  process.stdout.write(`real time: ${tick} evaluations of ${rules.length * scopes} instances over ${(wallMs / 1000).toFixed(1)} s: ${percent.toFixed(2)}% of a core (target < 5%) ${percent < 5 ? 'PASS' : 'FAIL'}\n`);
}
