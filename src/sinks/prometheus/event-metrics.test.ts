import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerEventMetrics } from './event-metrics.js';
import type { EventSnapshot } from './event-metrics.js';
import { EVENT_COUNTERS } from '../../model/agent-event.js';
import type { EventCounter } from '../../model/agent-event.js';
import { RttHistogram } from '../../analysis/events/rtt.js';

function text(snapshot: EventSnapshot): Promise<string> {
  const registry = new Registry();
  registerEventMetrics(registry, () => snapshot);
  return registry.metrics();
}

test('event totals are exported by direction and kind, and the RTT histogram with cumulative buckets, exactly', async () => {
  const totals = Object.fromEntries(EVENT_COUNTERS.map((c, i) => [c, i + 1])) as Record<EventCounter, number>;
  const rtt = new RttHistogram();
  rtt.observe(0.00004);
  rtt.observe(0.02);
  const out = await text({ events: totals, rtt: rtt.value });
  assert.match(out, /^# TYPE tcpdiag_connections_opened_total counter\ntcpdiag_connections_opened_total\{direction="active"\} 1\ntcpdiag_connections_opened_total\{direction="passive"\} 2$/m);
  assert.match(out, /^tcpdiag_resets_total\{direction="sent"\} 7\ntcpdiag_resets_total\{direction="received"\} 8$/m);
  assert.match(out, /^tcpdiag_retransmit_events_total\{kind="data"\} 9\ntcpdiag_retransmit_events_total\{kind="syn"\} 10\ntcpdiag_retransmit_events_total\{kind="synack"\} 11$/m);
  assert.match(out, /^tcpdiag_retransmit_failures_total 12$/m);
  assert.match(out, /^# TYPE tcpdiag_rtt_seconds histogram\ntcpdiag_rtt_seconds_bucket\{le="0.0001"\} 1\n/m);
  assert.match(out, /^tcpdiag_rtt_seconds_bucket\{le="0.01"\} 1\ntcpdiag_rtt_seconds_bucket\{le="0.025"\} 2$/m);
  assert.match(out, /^tcpdiag_rtt_seconds_bucket\{le="\+Inf"\} 2\ntcpdiag_rtt_seconds_sum 0.02004\ntcpdiag_rtt_seconds_count 2$/m);
  assert.doesNotMatch(out, /peer=|address=|port=/, 'no per-IP or per-port label');
});

test('without the collector (no root) the event series are absent rather than a false zero', async () => {
  const out = await text({ events: null, rtt: new RttHistogram().value });
  assert.doesNotMatch(out, /^tcpdiag_resets_total\{/m);
  assert.doesNotMatch(out, /^tcpdiag_connections_opened_total\{/m);
  assert.match(out, /^tcpdiag_rtt_seconds_count 0$/m);
});
