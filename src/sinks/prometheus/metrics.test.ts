import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentRegistry, topByAcceptQueue } from './metrics.js';
import type { AgentSnapshot } from './metrics.js';
import type { ListenerSummary } from '../../model/listener.js';
import { TCP_STATES } from '../../model/tcp-state.js';
import type { TcpState } from '../../model/tcp-state.js';

function listener(port: number, acceptQueue: number): ListenerSummary {
  return { family: 4, local: { address: '10.0.0.1', port }, pid: null, process: null, owners: [], inode: port, backlog: 128, acceptQueue, synRecv: 0, established: 0, acceptQueueFull: false, synQueueFull: false } as unknown as ListenerSummary;
}

function snapshot(listeners: ListenerSummary[]): AgentSnapshot {
  const states = Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as Record<TcpState, number>;
  states.ESTABLISHED = 12;
  states.CLOSE_WAIT = 7;
  return {
    counters: { states, counters: { RetransSegs: 345, ActiveOpens: 10, PassiveOpens: 20, ListenOverflows: 3 }, monotonicMs: 1 },
    listeners,
    firing: [{ severity: 'P2' }, { severity: 'P2' }],
    eventsLost: 0,
    agent: { cpuSeconds: 1.5, rssBytes: 5e7, storeBytes: 4096, tickLagSeconds: { counters: 0.002 }, ticks: { counters: 9 } },
  };
}

test('the exposition carries every kernel state, the counters as counters and the alerts by severity, exactly', async () => {
  const text = await agentRegistry(() => snapshot([]), 5).metrics();
  for (const state of TCP_STATES) assert.match(text, new RegExp(`^tcpdiag_connections\\{state="${state}"\\} \\d+$`, 'm'));
  assert.match(text, /^tcpdiag_connections\{state="CLOSE_WAIT"\} 7$/m);
  assert.match(text, /^# TYPE tcpdiag_retransmits_total counter\ntcpdiag_retransmits_total 345$/m);
  assert.match(text, /^tcpdiag_opens_total\{direction="active"\} 10\ntcpdiag_opens_total\{direction="passive"\} 20$/m);
  assert.match(text, /^tcpdiag_listen_overflows_total 3$/m);
  assert.match(text, /^tcpdiag_alerts_firing\{severity="P1"\} 0\ntcpdiag_alerts_firing\{severity="P2"\} 2\ntcpdiag_alerts_firing\{severity="P3"\} 0$/m);
  assert.match(text, /^tcpdiag_events_lost_total 0$/m);
  assert.match(text, /^tcpdiag_agent_tick_lag_seconds\{collector="counters"\} 0\.002$/m);
  assert.match(text, /^# TYPE tcpdiag_syn_retransmits_total counter$/m);
});

test('only the top-K listeners by accept queue are exported, so a host with thousands of listeners stays bounded', async () => {
  const many = Array.from({ length: 1000 }, (_, i) => listener(1000 + i, i % 50));
  const text = await agentRegistry(() => snapshot(many), 3).metrics();
  const lines = text.split('\n').filter((l) => l.startsWith('tcpdiag_listener_accept_queue{'));
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.endsWith(' 49')), lines.join('\n'));
  assert.deepEqual(topByAcceptQueue(many, 2).map((l) => l.local.port), [1049, 1099]);
  assert.match(text, /^tcpdiag_listeners 1000$/m);
});
