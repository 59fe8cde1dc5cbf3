/**
 * The alert pieces `watch` and `serve` both build from `[alerts]`: the rules (shipped ones with
 * `[thresholds]` and the per-rule overrides), the metric options, the baseline's bucketing and
 * the receivers behind their delivery queues. One place, so the two commands cannot drift.
 */
import type { TcpdiagConfig } from '../config/schema.js';
import type { AlertRuleSpec } from '../model/alert.js';
import type { BaselineOptions } from '../alerts/baseline.js';
import type { MetricOptions } from '../alerts/metrics.js';
import type { AlertSink } from '../sinks/alerts/receivers.js';

export interface AlertSetup {
  readonly rules: readonly AlertRuleSpec[];
  readonly metrics: MetricOptions;
  readonly baseline: BaselineOptions;
  readonly sinks: readonly AlertSink[];
}

export interface ReceiverTargets {
  /** '' : none. */
  readonly webhook: string;
  readonly alertmanager: string;
  /** Alertmanager's generatorURL: where the alert can be looked at ('' when nowhere). */
  readonly generatorUrl: string;
  readonly instance: string;
}

export async function alertSetup(config: Pick<TcpdiagConfig, 'alerts' | 'thresholds'>, targets: ReceiverTargets): Promise<AlertSetup> {
  const { buildAlertRules } = await import('../alerts/rules.js');
  const { alertmanagerSink, execSink, webhookSink } = await import('../sinks/alerts/receivers.js');
  const a = config.alerts;
  const delivery = {
    timeoutMs: Math.round(a.sink_timeout_s * 1000),
    retries: a.sink_retries,
    backoffMs: 500,
    capacity: a.sink_queue,
    onError: (message: string) => process.stderr.write(`tcpdiag: ${message}\n`),
  };
  const id = { instance: targets.instance, generatorUrl: targets.generatorUrl };
  const bucketMs = Math.round(a.baseline_bucket_s * 1000);
  return {
    rules: buildAlertRules(config.thresholds, a.rules),
    metrics: { minSegments: a.min_segments, minAttempts: a.min_attempts },
    baseline: {
      bucketMs,
      historyBuckets: Math.max(1, Math.round((a.baseline_history_h * 3_600_000) / bucketMs)),
      warmupBuckets: a.baseline_warmup_buckets,
      hourOfWeek: a.baseline_hour_of_week,
      maxSeries: a.baseline_max_series,
    },
    sinks: [
      ...(targets.webhook === '' ? [] : [webhookSink(targets.webhook, id, delivery)]),
      ...(targets.alertmanager === '' ? [] : [alertmanagerSink(targets.alertmanager, id, { ...delivery, resendMs: Math.round(a.alertmanager_resend_s * 1000) })]),
      ...(a.exec.length === 0 ? [] : [execSink(a.exec, delivery)]),
    ],
  };
}
