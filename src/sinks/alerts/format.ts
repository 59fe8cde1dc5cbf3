/**
 * Alerts as receivers expect them. Pure serializers, tested against exact text; delivery.ts
 * carries them.
 *
 * - Alertmanager's webhook format, version 4 (the body Alertmanager itself POSTs to a
 *   webhook_config receiver, prometheus/alertmanager notify/webhook/webhook.go), so any receiver
 *   written for Alertmanager takes tcpdiag's alerts unchanged.
 * - Alertmanager's push API, POST /api/v2/alerts (api/v2/openapi.yaml, postableAlerts): what
 *   Prometheus sends. A firing alert carries an endsAt a few resend intervals ahead, so a lost
 *   tcpdiag lets it expire instead of firing forever; a resolved one carries the resolve time.
 * - Labels are alertname (the rule), severity, scope and instance; the fingerprint is
 *   Alertmanager's own: FNV-1a 64 over the sorted label names and values, each followed by the
 *   0xff separator (prometheus/common model/signature.go, LabelsToSignature).
 */
import type { AlertLine, AlertTransition } from '../../model/alert.js';
import { alertLine } from '../../model/alert.js';

export interface AlertIdentity {
  /** The `instance` label: this host's name. */
  readonly instance: string;
  /** Where a receiver's link points (generatorURL); "" when there is none. */
  readonly generatorUrl: string;
}

/** Alertmanager's zero time: what it sends as endsAt for alerts still firing. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Annotations are strings; evidence beyond this is cut (receivers and Alertmanager's UI show annotations whole). */
const EVIDENCE_ANNOTATION_CHARS = 8192;

export function alertLabels(t: AlertTransition, id: AlertIdentity): Record<string, string> {
  return {
    alertname: t.rule,
    severity: t.severity,
    ...(t.scope === null ? {} : { scope: t.scope }),
    instance: id.instance,
    job: 'tcpdiag',
  };
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/** Alertmanager's fingerprint of a label set, as 16 hex digits. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let hash = FNV_OFFSET;
  const addByte = (b: number): void => {
    hash ^= BigInt(b);
    hash = (hash * FNV_PRIME) & MASK;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) addByte(b);
    addByte(0xff);
    for (const b of encoder.encode(labels[name])) addByte(b);
    addByte(0xff);
  }
  return hash.toString(16).padStart(16, '0');
}

export function alertAnnotations(t: AlertTransition): Record<string, string> {
  const value = t.value === null ? 'gone' : String(t.value);
  const annotations: Record<string, string> = {
    summary: t.summary,
    description: `${t.rule}${t.scope === null ? '' : ` on ${t.scope}`}: ${value} (threshold ${t.threshold})`,
    value,
    threshold: String(t.threshold),
  };
  const finding = t.evidence?.finding;
  if (finding !== undefined) {
    annotations.finding = String(finding.title);
    const advice = finding.advice as ReadonlyArray<{ text: string; command?: string }> | undefined;
    if (advice !== undefined && advice.length > 0) annotations.advice = advice.map((a) => (a.command === undefined ? a.text : `${a.text} (${a.command})`)).join('\n');
  }
  if (t.evidence !== undefined) {
    const text = JSON.stringify(t.evidence);
    annotations.evidence = text.length <= EVIDENCE_ANNOTATION_CHARS ? text : `${text.slice(0, EVIDENCE_ANNOTATION_CHARS)}...`;
  }
  return annotations;
}

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

export interface WebhookMessage {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** One transition as one webhook message (a group of one alert, grouped by alertname and scope). */
export function webhookMessage(t: AlertTransition, id: AlertIdentity): WebhookMessage {
  const labels = alertLabels(t, id);
  const annotations = alertAnnotations(t);
  const groupLabels: Record<string, string> = { alertname: t.rule, ...(t.scope === null ? {} : { scope: t.scope }) };
  return {
    version: '4',
    groupKey: `{}:{${Object.entries(groupLabels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`,
    truncatedAlerts: 0,
    status: t.status,
    receiver: 'tcpdiag',
    groupLabels,
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: id.generatorUrl,
    alerts: [
      {
        status: t.status,
        labels,
        annotations,
        startsAt: new Date(t.startsAtMs).toISOString(),
        endsAt: t.status === 'resolved' ? new Date(t.atMs).toISOString() : ZERO_TIME,
        generatorURL: id.generatorUrl,
        fingerprint: fingerprint(labels),
      },
    ],
  };
}

export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

/** The body of POST /api/v2/alerts for these alerts at `nowMs`; firing ones end `validForMs` later unless re-sent. */
export function postableAlerts(alerts: readonly AlertTransition[], id: AlertIdentity, nowMs: number, validForMs: number): PostableAlert[] {
  return alerts.map((t) => ({
    labels: alertLabels(t, id),
    annotations: alertAnnotations(t),
    startsAt: new Date(t.startsAtMs).toISOString(),
    endsAt: new Date(t.status === 'resolved' ? t.atMs : nowMs + validForMs).toISOString(),
    ...(id.generatorUrl === '' ? {} : { generatorURL: id.generatorUrl }),
  }));
}

/** The line `tcpdiag watch --json` prints. */
export function jsonLine(t: AlertTransition): string {
  const line: AlertLine = alertLine(t);
  return JSON.stringify(line);
}

/** The terminal's line: time, status, severity, rule, scope, value against threshold, and the finding's title. */
export function textLine(t: AlertTransition): string {
  const when = new Date(t.atMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const status = t.status === 'firing' ? 'FIRING  ' : 'RESOLVED';
  const value = t.value === null ? 'gone' : String(t.value);
  const finding = t.evidence?.finding === undefined ? '' : ` - ${String(t.evidence.finding.title)}`;
  return `${when} ${status} ${t.severity} ${t.rule}${t.scope === null ? '' : ` [${t.scope}]`} ${value} (threshold ${t.threshold})${finding}`;
}
