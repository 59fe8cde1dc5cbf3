/**
 * Metrics out: every interval the agent's /metrics registry is read (the values a scrape would
 * get at that moment), stamped with the collection time and the fleet labels, encoded as a
 * remote-write WriteRequest and queued in the on-disk backlog; the shipper sends the backlog
 * oldest first, several collections per request (concatenated WriteRequests are one), snappy
 * block-compressed as the remote-write 1.0 spec requires (Content-Encoding: snappy).
 *
 * Prometheus (--web.enable-remote-write-receiver) and VictoriaMetrics both take /api/v1/write.
 * After an outage the stored samples arrive in time order per series, newer than anything the
 * receiver holds for that series, which Prometheus's TSDB accepts without out-of-order support.
 */
import type { Registry } from 'prom-client';
import snappy from 'snappyjs';
import { runCollector } from '../../sessions/collector.js';
import type { CollectorSummary } from '../../sessions/collector.js';
import { DiskBacklog } from '../../store/backlog.js';
import type { BacklogStatus } from '../../store/backlog.js';
import { encodeWriteRequest } from '../../sinks/remote-write/protobuf.js';
import { sampleCount, toTimeSeries } from '../../sinks/remote-write/series.js';
import type { MetricJson } from '../../sinks/remote-write/series.js';
import { postBody } from './http-post.js';
import { Shipper } from './shipper.js';
import type { ShipperStatus } from './shipper.js';

export interface RemoteWriteOptions {
  readonly url: string;
  readonly registry: Registry;
  /** `host` and the configured labels, set on every series. */
  readonly labels: Readonly<Record<string, string>>;
  readonly intervalMs: number;
  readonly backlogDir: string;
  readonly backlogBytes: number;
  readonly maxSamplesPerSend: number;
  readonly timeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly userAgent: string;
  readonly signal: AbortSignal;
  readonly note: (text: string) => void;
}

export interface ExporterStatus {
  readonly exporter: string;
  readonly url: string;
  readonly backlog: BacklogStatus;
  readonly shipper: ShipperStatus;
  /** Items this exporter chose not to keep at all (the volume bound), beside the backlog's drops. */
  readonly limited: number;
}

export class RemoteWriteExporter {
  private readonly backlog: DiskBacklog;
  private readonly shipper: Shipper;

  constructor(private readonly o: RemoteWriteOptions) {
    this.backlog = DiskBacklog.open(o.backlogDir, o.backlogBytes);
    this.shipper = new Shipper({
      name: 'remote write',
      backlog: this.backlog,
      maxItemsPerSend: o.maxSamplesPerSend,
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
      signal: o.signal,
      note: o.note,
      send: (payloads, _items, signal) =>
        postBody(o.url, snappy.compress(Buffer.concat(payloads)), {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'User-Agent': o.userAgent,
        }, o.timeoutMs, signal),
    });
  }

  /** Collect every interval and ship until the signal aborts; the last collection is queued on the way out. */
  async run(): Promise<CollectorSummary> {
    const shipping = this.shipper.run();
    try {
      return await runCollector({ intervalMs: this.o.intervalMs, signal: this.o.signal, immediate: true, onIssue: (i) => this.o.note(`remote write: ${i.message}`) }, async () => {
        await this.collect();
      });
    } finally {
      // The values at the stop, queued for the next run (the backlog is on disk).
      await this.collect().catch((error: unknown) => this.o.note(`remote write: last collection not queued: ${error instanceof Error ? error.message : String(error)}`));
      await shipping;
    }
  }

  /** One collection into the backlog (also what a test or a stop calls). */
  async collect(): Promise<number> {
    const atMs = Date.now();
    const metrics = (await this.o.registry.getMetricsAsJSON()) as unknown as MetricJson[];
    const series = toTimeSeries(metrics, this.o.labels, atMs);
    if (series.length === 0) return 0;
    const samples = sampleCount(series);
    this.shipper.queue(encodeWriteRequest(series), samples);
    return samples;
  }

  status(): ExporterStatus {
    return { exporter: 'remote_write', url: this.o.url, backlog: this.backlog.status(), shipper: this.shipper.status(), limited: 0 };
  }
}
