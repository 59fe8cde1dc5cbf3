import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentRegistry } from './metrics.js';
import type { AgentSnapshot } from './metrics.js';
import { PeerTotals } from '../../analysis/events/peer-totals.js';
import type { TcpSocket } from '../../model/socket.js';

function snapshot(peers: AgentSnapshot['peers']): AgentSnapshot {
  return {
    counters: null, listeners: null, firing: [], eventsLost: 0,
    agent: { cpuSeconds: 0, rssBytes: 0, storeBytes: 0, tickLagSeconds: {}, ticks: {} },
    ...(peers === undefined ? {} : { peers }),
  };
}

const sockets = Array.from({ length: 500 }, (_, i) => ({ state: 'ESTABLISHED', family: 4, local: { address: '10.0.0.1', port: 80 }, remote: { address: `192.0.2.${(i % 250) + 1}`, port: 1000 + i } }) as unknown as TcpSocket);

test('per-peer series are capped at the top peers plus "other", with the counters from the same ranking', async () => {
  const totals = new PeerTotals();
  totals.add('192.0.2.9', 'retransmits', 5);
  totals.add('192.0.2.9', 'resets', 1);
  totals.add('198.51.100.1', 'resets', 3);
  const text = await agentRegistry(() => snapshot({ sockets, events: totals.entries }), 5, { topPeers: 2, prefixes: [] }).metrics();
  const series = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
  // 192.0.2.9: 2 connections + 6 events; 198.51.100.1: 3 resets and no connection; every
  // other peer 2 connections.
  assert.deepEqual(series('tcpdiag_peer_connections'), ['tcpdiag_peer_connections{peer="192.0.2.9"} 2', 'tcpdiag_peer_connections{peer="198.51.100.1"} 0', 'tcpdiag_peer_connections{peer="other"} 498']);
  assert.deepEqual(series('tcpdiag_peer_retransmits_total'), ['tcpdiag_peer_retransmits_total{peer="192.0.2.9"} 5', 'tcpdiag_peer_retransmits_total{peer="198.51.100.1"} 0', 'tcpdiag_peer_retransmits_total{peer="other"} 0']);
  assert.deepEqual(series('tcpdiag_peer_resets_total'), ['tcpdiag_peer_resets_total{peer="192.0.2.9"} 1', 'tcpdiag_peer_resets_total{peer="198.51.100.1"} 3', 'tcpdiag_peer_resets_total{peer="other"} 0']);
  assert.match(text, /^# TYPE tcpdiag_peer_resets_total counter$/m);
});

test('without the event collector the per-peer counters are absent, not zero; without the option no peer label at all', async () => {
  const on = await agentRegistry(() => snapshot({ sockets, events: null }), 5, { topPeers: 2, prefixes: [] }).metrics();
  assert.match(on, /^tcpdiag_peer_connections\{peer="other"\} /m);
  assert.doesNotMatch(on, /^tcpdiag_peer_resets_total\{/m);
  const off = await agentRegistry(() => snapshot({ sockets, events: null }), 5).metrics();
  assert.doesNotMatch(off, /peer=/);
});
