/**
 * The exporters' own health on /metrics (and so in what remote write sends): what is waiting
 * in each backlog, what was sent, and what was dropped and why, so the fleet store shows an
 * agent whose receiver is down or whose volume bound cuts rows.
 */
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface ExportFigures {
  readonly exporter: string;
  readonly pendingItems: number;
  readonly pendingBytes: number;
  readonly sentItems: number;
  readonly failedRequests: number;
  /** By reason: overflow (backlog cap), rejected (refused for good), limited (volume bound). */
  readonly dropped: Readonly<Record<string, number>>;
}

export function registerExportMetrics(registry: Registry, figures: () => readonly ExportFigures[]): void {
  new Gauge({
    name: 'tcpdiag_export_backlog_items',
    help: 'samples or event rows waiting in an exporter\'s on-disk backlog',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures()) this.set({ exporter: f.exporter }, f.pendingItems);
    },
  });
  new Gauge({
    name: 'tcpdiag_export_backlog_bytes',
    help: 'size of an exporter\'s on-disk backlog',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures()) this.set({ exporter: f.exporter }, f.pendingBytes);
    },
  });
  new Counter({
    name: 'tcpdiag_export_sent_total',
    help: 'samples or event rows a receiver accepted',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures()) this.inc({ exporter: f.exporter }, f.sentItems);
    },
  });
  new Counter({
    name: 'tcpdiag_export_failed_requests_total',
    help: 'requests to a receiver that failed (retried unless refused for good)',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures()) this.inc({ exporter: f.exporter }, f.failedRequests);
    },
  });
  new Counter({
    name: 'tcpdiag_export_dropped_total',
    help: 'samples or event rows dropped: overflow (the backlog cap), rejected (refused for good), limited (the per-host volume bound)',
    labelNames: ['exporter', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of figures()) for (const [reason, n] of Object.entries(f.dropped)) this.inc({ exporter: f.exporter, reason }, n);
    },
  });
}

/**
 * The host's health score from its last diagnosis (diagnose/engine.ts: 100 less each finding's
 * penalty), so a fleet view can rank hosts; absent until the first diagnosis has run.
 */
export function registerHealthScore(registry: Registry, score: () => number | null): void {
  new Gauge({
    name: 'tcpdiag_health_score',
    help: 'health score 0-100 from the last diagnosis (100: no finding)',
    registers: [registry],
    collect() {
      this.reset();
      const s = score();
      if (s !== null) this.set(s);
    },
  });
}
