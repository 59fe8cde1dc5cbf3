/**
 * The fleet exporters the agent runs beside its collectors: remote write when a URL is set,
 * ClickHouse when a URL is set. Each keeps its backlog in its own folder under DATA/fleet/.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { AgentBus } from '../bus.js';
import { registerExportMetrics } from '../../sinks/prometheus/export-metrics.js';
import type { ExportFigures } from '../../sinks/prometheus/export-metrics.js';
import { ClickHouseExporter } from './clickhouse.js';
import { RemoteWriteExporter } from './remote-write.js';
import type { ExporterStatus } from './remote-write.js';

export interface FleetExportOptions {
  readonly host: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly remoteWrite: string;
  readonly remoteWriteIntervalMs: number;
  readonly remoteWriteMaxSamples: number;
  readonly clickhouse: string;
  readonly clickhouseDatabase: string;
  readonly clickhouseTable: string;
  readonly clickhouseUser: string;
  readonly clickhousePassword: string;
  readonly eventsFlushIntervalMs: number;
  readonly eventsMaxPerMinute: number;
  readonly backlogBytes: number;
  readonly timeoutMs: number;
  readonly maxBackoffMs: number;
}

export interface FleetExporters {
  readonly statuses: () => readonly ExporterStatus[];
  /** Resolves once every exporter has stopped (after the signal) with its last data queued. */
  readonly run: () => Promise<void>;
}

const MIN_BACKOFF_MS = 1000;

export function fleetExporters(o: FleetExportOptions, context: { readonly dataDir: string; readonly registry: Registry; readonly bus: AgentBus; readonly userAgent: string; readonly signal: AbortSignal; readonly note: (text: string) => void }): FleetExporters {
  const common = { backlogBytes: o.backlogBytes, timeoutMs: o.timeoutMs, minBackoffMs: MIN_BACKOFF_MS, maxBackoffMs: o.maxBackoffMs, userAgent: context.userAgent, signal: context.signal, note: context.note };
  const remote = o.remoteWrite === '' ? null : new RemoteWriteExporter({
    ...common,
    url: o.remoteWrite,
    registry: context.registry,
    labels: { ...o.labels, host: o.host },
    intervalMs: o.remoteWriteIntervalMs,
    maxSamplesPerSend: o.remoteWriteMaxSamples,
    backlogDir: join(context.dataDir, 'fleet', 'remote-write'),
  });
  const events = o.clickhouse === '' ? null : new ClickHouseExporter({
    ...common,
    url: o.clickhouse,
    database: o.clickhouseDatabase,
    table: o.clickhouseTable,
    user: o.clickhouseUser,
    password: o.clickhousePassword,
    host: o.host,
    bus: context.bus,
    flushIntervalMs: o.eventsFlushIntervalMs,
    maxRowsPerMinute: o.eventsMaxPerMinute,
    maxRowsPerSend: 100_000,
    backlogDir: join(context.dataDir, 'fleet', 'clickhouse'),
  });
  const statuses = (): ExporterStatus[] => [remote?.status(), events?.status()].filter((s): s is ExporterStatus => s !== undefined);
  registerExportMetrics(context.registry, () => statuses().map(figures));
  return {
    statuses,
    run: async () => {
      await Promise.all([remote?.run(), events?.run()]);
    },
  };
}

function figures(s: ExporterStatus): ExportFigures {
  return {
    exporter: s.exporter,
    pendingItems: s.backlog.pendingItems,
    pendingBytes: s.backlog.pendingBytes,
    sentItems: s.shipper.sentItems,
    failedRequests: s.shipper.failedRequests,
    dropped: { ...s.backlog.dropped, limited: s.limited },
  };
}
