/**
 * The receivers alerts go to besides the terminal: a webhook (Alertmanager's webhook format), a
 * real Alertmanager (its push API, re-sent while firing as Prometheus does), and a command hook
 * (argv from the configuration, never a shell string; the alert as one JSON line on stdin).
 * Each sits behind its own DeliveryQueue, so a dead receiver delays nothing else.
 */
import type { AlertTransition } from '../../model/alert.js';
import { DeliveryQueue, postJson, runHook } from './delivery.js';
import type { DeliveryOptions } from './delivery.js';
import { alertLabels, fingerprint, jsonLine, postableAlerts, webhookMessage } from './format.js';
import type { AlertIdentity, PostableAlert, WebhookMessage } from './format.js';

export interface AlertSink {
  readonly name: string;
  /** Take a transition (or a repeat); never blocks. */
  take(t: AlertTransition): void;
  /** Called every sample: periodic work such as re-sending firing alerts. */
  tick(nowMs: number): void;
  /**
   * An alert still firing from the last run (restored from the state file): no new
   * notification, but a receiver that resends while firing must resume resending it, or
   * Alertmanager would time it out at its endsAt while it still fires.
   */
  resume(t: AlertTransition): void;
  close(deadlineMs: number): Promise<void>;
  stats(): { delivered: number; failed: number; pending: number };
}

function queueStats<T>(q: DeliveryQueue<T>): { delivered: number; failed: number; pending: number } {
  return { delivered: q.delivered, failed: q.failed, pending: q.pending };
}

export function webhookSink(url: string, id: AlertIdentity, options: DeliveryOptions): AlertSink {
  const queue = new DeliveryQueue<WebhookMessage>(`webhook ${url}`, (body, signal) => postJson(url, body, signal), options);
  return {
    name: queue.name,
    take: (t) => queue.push(webhookMessage(t, id)),
    tick: () => undefined,
    resume: () => undefined,
    close: (ms) => queue.close(ms),
    stats: () => queueStats(queue),
  };
}

/** http://host:9093 -> http://host:9093/api/v2/alerts (a URL that already names the path is kept). */
export function alertmanagerEndpoint(url: string): string {
  if (/\/api\/v2\/alerts\/?$/.test(url)) return url;
  return `${url.replace(/\/+$/, '')}/api/v2/alerts`;
}

export interface AlertmanagerOptions extends DeliveryOptions {
  /** Firing alerts are pushed again this often while they fire. */
  readonly resendMs: number;
}

export function alertmanagerSink(url: string, id: AlertIdentity, options: AlertmanagerOptions): AlertSink {
  const endpoint = alertmanagerEndpoint(url);
  const queue = new DeliveryQueue<PostableAlert[]>(`alertmanager ${endpoint}`, (body, signal) => postJson(endpoint, body, signal), options);
  const firing = new Map<string, AlertTransition>();
  // Alertmanager times out a firing alert at its endsAt: three resend intervals let two resends be lost.
  const validForMs = 3 * options.resendMs;
  let lastSentMs = 0;
  return {
    name: queue.name,
    take(t) {
      const key = fingerprint(alertLabels(t, id));
      if (t.status === 'firing') firing.set(key, t);
      else firing.delete(key);
      queue.push(postableAlerts([t], id, t.atMs, validForMs));
      lastSentMs = t.atMs;
    },
    resume(t) {
      firing.set(fingerprint(alertLabels(t, id)), t);
      // Resent at the next sample: the last run's push may be close to its endsAt.
      lastSentMs = 0;
    },
    tick(nowMs) {
      if (firing.size === 0 || nowMs - lastSentMs < options.resendMs) return;
      lastSentMs = nowMs;
      queue.push(postableAlerts([...firing.values()], id, nowMs, validForMs));
    },
    close: (ms) => queue.close(ms),
    stats: () => queueStats(queue),
  };
}

export function execSink(argv: readonly string[], options: DeliveryOptions): AlertSink {
  const queue = new DeliveryQueue<string>(`exec ${argv[0] ?? ''}`, (line, signal) => runHook(argv, `${line}\n`, signal), options);
  return {
    name: queue.name,
    take: (t) => queue.push(jsonLine(t)),
    tick: () => undefined,
    resume: () => undefined,
    close: (ms) => queue.close(ms),
    stats: () => queueStats(queue),
  };
}
