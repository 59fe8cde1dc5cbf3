/**
 * The /metrics series of the agent's kernel events and the socket table's RTT, read from the
 * agent's snapshot on each scrape:
 * - tcpdiag_connections_opened_total{direction="active|passive"}: counted where the kernel
 *   counts ActiveOpens and PassiveOpens (CLOSE->SYN_SENT in tcp_connect; LISTEN->SYN_RECV when
 *   tcp_create_openreq_child makes the child), so rate() of each matches the kernel's;
 * - tcpdiag_resets_total{direction="sent|received"} (tcp_send_reset, tcp_receive_reset);
 * - tcpdiag_retransmit_events_total{kind="data|syn|synack"}: retransmissions that went out,
 *   one per skb (tcp_retransmit_skb, tcp_retransmit_synack); attempts the kernel refused are
 *   tcpdiag_retransmit_failures_total;
 * - failed connects, closes, state anomalies, events not stored (over the per-second cap);
 * - tcpdiag_rtt_seconds: a histogram of the ESTABLISHED sockets' smoothed RTT per socket table
 *   read (analysis/events/rtt.ts).
 * Labels are fixed sets (directions, kinds): no per-IP or per-port label. The event series are
 * absent while the collector does not run (no root, no tracefs), rather than a false zero.
 */
import { Counter } from 'prom-client';
import type { Metric, MetricValueWithName, Registry } from 'prom-client';
import type { EventCounter } from '../../model/agent-event.js';
import { RTT_BUCKETS_S } from '../../analysis/events/rtt.js';
import type { RttHistogramValue } from '../../analysis/events/rtt.js';

export interface EventSnapshot {
  /** The collector's totals since the agent started; null when it does not run. */
  readonly events?: Readonly<Record<EventCounter, number>> | null;
  readonly rtt?: RttHistogramValue;
}

type Series = readonly (readonly [labels: Readonly<Record<string, string>>, counter: EventCounter])[];

export function registerEventMetrics(registry: Registry, snapshot: () => EventSnapshot): void {
  const eventCounter = (name: string, help: string, series: Series, labelNames: readonly string[] = []): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const totals = snapshot().events;
        if (totals === null || totals === undefined) return;
        for (const [labels, counter] of series) this.inc(labels, totals[counter]);
      },
    });
  };
  eventCounter('tcpdiag_connections_opened_total', 'TCP connections opened, by direction, from kernel events (where the kernel counts ActiveOpens / PassiveOpens)',
    [[{ direction: 'active' }, 'open.active'], [{ direction: 'passive' }, 'open.passive']], ['direction']);
  eventCounter('tcpdiag_resets_total', 'TCP resets, by direction, from kernel events (tcp_send_reset, tcp_receive_reset)',
    [[{ direction: 'sent' }, 'reset.sent'], [{ direction: 'received' }, 'reset.received']], ['direction']);
  eventCounter('tcpdiag_retransmit_events_total', 'TCP retransmissions that went out, by kind, one per skb, from kernel events',
    [[{ kind: 'data' }, 'retransmit.data'], [{ kind: 'syn' }, 'retransmit.syn'], [{ kind: 'synack' }, 'retransmit.synack']], ['kind']);
  eventCounter('tcpdiag_retransmit_failures_total', 'TCP retransmission attempts the kernel could not send (tcp_retransmit_skb err)', [[{}, 'retransmit.failed']]);
  eventCounter('tcpdiag_connect_failures_total', 'active opens that ended in SYN_SENT -> CLOSE (refused, timed out, unreachable, reset)', [[{}, 'connect-failed']]);
  eventCounter('tcpdiag_connections_closed_total', 'established TCP connections that reached CLOSE', [[{}, 'close']]);
  eventCounter('tcpdiag_state_anomalies_total', 'aborted connections, failed handshakes and sockets slow to leave a transitional state', [[{}, 'state']]);
  eventCounter('tcpdiag_events_unstored_total', 'abnormal events counted but not stored one by one (over events.max_stored_per_s)', [[{}, 'unstored']]);
  // The registry reads only `name` and `get()` of a metric when it serializes (prom-client 15,
  // lib/registry.js getMetricsAsString), which is all this one has.
  const rtt = new SnapshotHistogram('tcpdiag_rtt_seconds', 'smoothed RTT (tcp_info) of each ESTABLISHED socket, one observation per socket table read', () => snapshot().rtt);
  registry.registerMetric(rtt as unknown as Metric);
}

/**
 * A histogram whose buckets the agent keeps itself (prom-client's Histogram cannot be set from
 * outside): `get()` returns them as prom-client's registry serializes a histogram.
 */
class SnapshotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(readonly name: string, readonly help: string, private readonly value: () => RttHistogramValue | undefined) {}

  get(): { readonly name: string; readonly help: string; readonly type: string; readonly aggregator: string; readonly values: MetricValueWithName<string>[] } {
    const v = this.value();
    const values: MetricValueWithName<string>[] = [];
    if (v !== undefined) {
      RTT_BUCKETS_S.forEach((le, i) => values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: v.buckets[i] ?? 0 }));
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: v.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, value: v.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, value: v.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }
}
