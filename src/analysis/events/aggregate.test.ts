import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventAggregator } from './aggregate.js';
import { listenerIndex } from './listener-of.js';
import { RttHistogram, RTT_BUCKETS_S, rttPercentiles } from './rtt.js';
import { stateAnomaly } from './classify.js';
import type { TraceEvent } from '../trace/events.js';
import type { ListenerSummary } from '../../model/listener.js';
import type { TcpSocket } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';

const T0 = 1_764_590_400_000; // a minute boundary
const L = { address: '127.0.0.1', port: 8080 };
const common = (ts: number, remote: string, rport = 40000) => ({ ts, family: 4 as const, local: L, remote: { address: remote, port: rport }, pid: null, process: null });
const state = (ts: number, oldState: TcpState, newState: TcpState, durationMs: number | null = 1, remote = '127.0.0.2'): TraceEvent =>
  ({ ...common(ts, remote), type: 'state', oldState, newState, durationMs });
const listeners = [{ family: 4, local: { address: '0.0.0.0', port: 8080 } }] as unknown as ListenerSummary[];

function aggregator(maxRecordsPerSecond = 100, topPeers = 2): EventAggregator {
  return new EventAggregator({ slowStateMs: 10_000, maxRecordsPerSecond, topPeers, listenerOf: listenerIndex(listeners), graceMs: 0 });
}

test('opens are counted where the kernel counts ActiveOpens and PassiveOpens, and only counted', () => {
  const a = aggregator();
  assert.equal(a.add(state(T0, 'CLOSE', 'SYN_SENT')), null);
  assert.equal(a.add(state(T0, 'LISTEN', 'SYN_RECV')), null);
  assert.equal(a.add(state(T0, 'SYN_RECV', 'ESTABLISHED')), null);
  assert.equal(a.add({ ...common(T0 + 1, '127.0.0.2'), type: 'accept', listener: L, handshakeMs: 0.1 }), null);
  assert.equal(a.totals['open.active'], 1);
  assert.equal(a.totals['open.passive'], 1);
  assert.equal(a.totals.accept, 1);
  assert.deepEqual(a.takeRecords(), []);
  assert.deepEqual(a.takeCounts(T0 + 1000).map((c) => `${c.counter}=${c.n}`).sort(), ['accept=1', 'open.active=1', 'open.passive=1']);
});

test('resets, retransmissions, failed connects and aborts are kept one by one, with direction, state and reason', () => {
  const a = aggregator();
  a.add({ ...common(T0, '127.0.0.3'), type: 'reset', direction: 'sent', reason: 'NO_SOCKET', state: null });
  a.add({ ...common(T0, '127.0.0.3'), type: 'retransmit', kind: 'data', state: 'ESTABLISHED', failed: false, segments: null });
  a.add({ ...common(T0, '127.0.0.3'), type: 'connect-failed', reason: 'refused', durationMs: 0.2, synRetransmits: 0 });
  a.add(state(T0, 'ESTABLISHED', 'CLOSE'));
  a.add(state(T0, 'CLOSE_WAIT', 'LAST_ACK', 12_000));
  const records = a.takeRecords();
  assert.deepEqual(records.map((r) => [r.kind, r.direction, r.state, r.reason]), [
    ['reset', 'sent', null, 'NO_SOCKET'],
    ['retransmit', 'data', 'ESTABLISHED', null],
    ['connect-failed', 'active', 'SYN_SENT', 'refused'],
    ['state', null, 'CLOSE', 'aborted'],
    ['state', null, 'LAST_ACK', 'long-CLOSE_WAIT'],
  ]);
  assert.equal(a.totals['reset.sent'], 1);
  assert.equal(a.totals['retransmit.data'], 1);
  assert.equal(a.totals.state, 2);
});

test('a reset storm is counted in full but stored only up to the per-second cap', () => {
  const a = aggregator(10);
  for (let i = 0; i < 1000; i++) a.add({ ...common(T0 + (i % 1000), '127.0.0.4', 1000 + i), type: 'reset', direction: 'received', reason: null, state: 'ESTABLISHED' });
  assert.equal(a.takeRecords().length, 10);
  assert.equal(a.totals['reset.received'], 1000);
  assert.equal(a.totals.unstored, 990);
});

test('ordinary transitions are not anomalies; a short CLOSE_WAIT is not one either', () => {
  assert.equal(stateAnomaly('ESTABLISHED', 'FIN_WAIT1', 5, 10_000), null);
  assert.equal(stateAnomaly('CLOSE_WAIT', 'LAST_ACK', 50, 10_000), null);
  assert.equal(stateAnomaly('ESTABLISHED', 'CLOSE_WAIT', 60_000, 10_000), null, 'ESTABLISHED is not transitional');
  assert.equal(stateAnomaly('SYN_RECV', 'CLOSE', null, 10_000), 'handshake-failed');
});

test('a graceful close counts one FIN sent and one received on each side; the FIN that reaches FIN_WAIT2 is not seen', () => {
  const a = aggregator();
  // The closing side: ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> CLOSE (timewait sock); the other: ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSE.
  for (const [o, n] of [['ESTABLISHED', 'FIN_WAIT1'], ['FIN_WAIT1', 'FIN_WAIT2'], ['FIN_WAIT2', 'CLOSE'], ['ESTABLISHED', 'CLOSE_WAIT'], ['CLOSE_WAIT', 'LAST_ACK'], ['LAST_ACK', 'CLOSE']] as const) a.add(state(T0, o, n));
  // A simultaneous close: FIN_WAIT1 takes the peer's FIN.
  a.add(state(T0, 'FIN_WAIT1', 'CLOSING'));
  assert.equal(a.totals['fin.sent'], 2);
  assert.equal(a.totals['fin.received'], 2);
  // A long CLOSE_WAIT closed at last is both an anomaly (kept) and a FIN sent.
  a.add(state(T0 + 1, 'CLOSE_WAIT', 'LAST_ACK', 60_000));
  assert.equal(a.totals['fin.sent'], 3);
  assert.equal(a.takeRecords().filter((r) => r.reason === 'long-CLOSE_WAIT').length, 1);
});

test('RTT percentiles are nearest-rank over the ESTABLISHED sockets with tcp_info', () => {
  const sock = (rttMs: number, st: TcpState = 'ESTABLISHED') => ({ state: st, tcpInfo: { rttMs } }) as unknown as TcpSocket;
  const table = [...Array.from({ length: 100 }, (_, i) => sock(i + 1)), sock(5000, 'CLOSE_WAIT')];
  assert.deepEqual(rttPercentiles(table), { p50Ms: 50, p90Ms: 90, p99Ms: 99, sockets: 100 });
  assert.deepEqual(rttPercentiles([sock(0.03)]), { p50Ms: 0.03, p90Ms: 0.03, p99Ms: 0.03, sockets: 1 });
  assert.equal(rttPercentiles([sock(1, 'TIME_WAIT')]), null);
});

test('rollups keep the top peers of a minute and sum the rest into "other"; listeners are found by port through the wildcard', () => {
  const a = aggregator(100, 2);
  const peers = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13'];
  peers.forEach((p, i) => {
    for (let n = 0; n <= i; n++) a.add({ ...common(T0 + n, p, 2000 + n), type: 'accept', listener: L, handshakeMs: null });
  });
  a.add({ ...common(T0 + 30_000, '127.0.0.10'), type: 'reset', direction: 'sent', reason: null, state: 'ESTABLISHED' });
  assert.deepEqual(a.takeRollups(T0 + 59_000), [], 'the minute is still open');
  const rows = a.takeRollups(T0 + 60_000);
  const listener = rows.filter((r) => r.by === 'listener');
  assert.deepEqual(listener.map((r) => [r.key, r.opened, r.resets]), [['0.0.0.0:8080', 10, 1]]);
  const peerRows = rows.filter((r) => r.by === 'peer');
  assert.deepEqual(peerRows.map((r) => [r.key, r.opened, r.resets]), [['127.0.0.13', 4, 0], ['127.0.0.12', 3, 0], ['other', 3, 1]]);
  assert.ok(peerRows.every((r) => r.ts === T0));
});

test('socket samples add RTT and the bytes moved since the previous read, not a socket\'s life before the agent', () => {
  const a = aggregator();
  const sock = (acked: number, received: number, rttMs: number): TcpSocket => ({
    family: 4, state: 'ESTABLISHED', local: L, remote: { address: '127.0.0.9', port: 5555 },
    tcpInfo: { rttMs, bytesAcked: acked, bytesReceived: received },
  }) as unknown as TcpSocket;
  a.observeSockets(T0, [sock(1000, 2000, 0.05)]);
  a.observeSockets(T0 + 5000, [sock(1500, 2600, 0.07)]);
  const rows = a.takeRollups(T0 + 120_000);
  const peer = rows.find((r) => r.by === 'peer')!;
  assert.equal(peer.bytesSent, 500);
  assert.equal(peer.bytesReceived, 600);
  assert.equal(peer.rttSamples, 2);
  assert.equal(peer.rttMeanMs, 0.06);
  assert.equal(peer.rttMaxMs, 0.07);
  assert.equal(rows.find((r) => r.by === 'listener')!.key, '0.0.0.0:8080');
});

test('the RTT histogram is cumulative per bound, as Prometheus reads le', () => {
  const h = new RttHistogram();
  h.observe(0.00005);
  h.observe(0.003);
  h.observe(10);
  const v = h.value;
  assert.equal(v.count, 3);
  assert.equal(v.buckets[0], 1);
  assert.equal(v.buckets[RTT_BUCKETS_S.indexOf(0.005)], 2);
  assert.equal(v.buckets[RTT_BUCKETS_S.length - 1], 2, '10 s is past every bound: only +Inf holds it');
});

test('the minute still filling can be read as it stands without closing it', () => {
  const a = aggregator();
  a.add({ ...common(T0, '127.0.0.5'), type: 'accept', listener: L, handshakeMs: null });
  assert.deepEqual(a.openRollups().map((r) => [r.by, r.key, r.opened]), [['listener', '0.0.0.0:8080', 1], ['peer', '127.0.0.5', 1]]);
  a.add({ ...common(T0 + 1, '127.0.0.5'), type: 'accept', listener: L, handshakeMs: null });
  assert.equal(a.takeRollups(T0 + 60_000).find((r) => r.by === 'listener')!.opened, 2, 'peeking took nothing away');
  assert.deepEqual(a.openRollups(), []);
});

test('connections this host opens are rolled up by their remote port; those its listeners accepted are not', () => {
  const a = aggregator(100, 2);
  // Outbound: local ends on ephemeral ports, no listener's.
  const out = (ts: number, rport: number, lport = 41000) => ({ ts, family: 4 as const, local: { address: '127.0.0.1', port: lport }, remote: { address: '127.0.0.20', port: rport }, pid: null, process: null });
  for (let i = 0; i < 3; i++) a.add({ ...out(T0 + i, 5432, 41000 + i), type: 'connect', latencyMs: 0.1 });
  a.add({ ...out(T0 + 10, 5432, 41000), type: 'retransmit', kind: 'data', state: 'ESTABLISHED', failed: false, segments: null });
  a.add({ ...out(T0 + 11, 5432, 41000), type: 'retransmit', kind: 'data', state: 'ESTABLISHED', failed: true, error: 'EBUSY', segments: null });
  a.add({ ...out(T0 + 12, 5432, 41001), type: 'reset', direction: 'received', reason: null, state: 'ESTABLISHED' });
  a.add({ ...out(T0 + 13, 5432, 41002), type: 'close', durationMs: 5, bytesSent: null, bytesReceived: null, origin: 'active' });
  a.add({ ...out(T0 + 14, 443, 0), type: 'connect-failed', reason: 'refused', durationMs: 0.1, synRetransmits: 0 });
  // A close first seen mid-life (origin unknown) whose local end is no listener's is outbound too.
  a.add({ ...out(T0 + 15, 443, 41003), type: 'close', durationMs: null, bytesSent: null, bytesReceived: null, origin: null });
  // Inbound: accepted on 0.0.0.0:8080; its reset, retransmission and close are the listener's, never a remote port's.
  a.add({ ...common(T0 + 20, '127.0.0.30', 50000), type: 'accept', listener: L, handshakeMs: null });
  a.add({ ...common(T0 + 21, '127.0.0.30', 50000), type: 'reset', direction: 'sent', reason: 'TCP_ABORT_ON_CLOSE', state: 'ESTABLISHED' });
  a.add({ ...common(T0 + 22, '127.0.0.30', 50000), type: 'retransmit', kind: 'data', state: 'ESTABLISHED', failed: false, segments: null });
  a.add({ ...common(T0 + 23, '127.0.0.30', 50000), type: 'close', durationMs: 1, bytesSent: null, bytesReceived: null, origin: 'passive' });
  // Accepted by a listener that has closed since: still not one this host opened.
  a.add({ ...out(T0 + 24, 50001, 9999), type: 'close', durationMs: 1, bytesSent: null, bytesReceived: null, origin: 'passive' });
  // The reset answering a SYN to a port nobody holds has no socket: its remote port is the sender's ephemeral one.
  a.add({ ...out(T0 + 25, 50002, 7), type: 'reset', direction: 'sent', reason: 'NO_SOCKET', state: null });
  const rows = a.takeRollups(T0 + 60_000).filter((r) => r.by === 'remote-port');
  assert.deepEqual(rows.map((r) => [r.key, r.opened, r.closed, r.resets, r.retransmits, r.failed]), [
    ['5432', 3, 1, 1, 1, 0],
    ['443', 0, 1, 0, 0, 1],
  ]);
  assert.ok(rows.every((r) => r.ts === T0));
});

test('remote ports are capped while a minute fills: a port scan costs one "other" row, not one per port', () => {
  const a = new EventAggregator({ slowStateMs: 10_000, maxRecordsPerSecond: 100, topPeers: 2, listenerOf: listenerIndex(listeners), graceMs: 0 });
  // The default cap is 1000 remote ports a minute; 1500 ports are scanned once each.
  for (let port = 1; port <= 1500; port++) a.add({ ts: T0, family: 4, local: { address: '127.0.0.1', port: 0 }, remote: { address: '127.0.0.40', port }, pid: null, process: null, type: 'connect-failed', reason: 'refused', durationMs: 0.1, synRetransmits: 0 });
  const rows = a.takeRollups(T0 + 60_000).filter((r) => r.by === 'remote-port');
  assert.equal(rows.length, 1001);
  assert.equal(rows.find((r) => r.key === 'other')?.failed, 500);
  assert.equal(rows.reduce((n, r) => n + r.failed, 0), 1500, 'every failed connect is counted');
});

test('socket samples add RTT and bytes to the remote port of an outbound connection', () => {
  const a = aggregator();
  const sock = (acked: number, received: number): TcpSocket => ({
    family: 4, state: 'ESTABLISHED', local: { address: '127.0.0.1', port: 42000 }, remote: { address: '127.0.0.9', port: 6379 },
    tcpInfo: { rttMs: 0.04, bytesAcked: acked, bytesReceived: received },
  }) as unknown as TcpSocket;
  a.observeSockets(T0, [sock(100, 200)]);
  a.observeSockets(T0 + 5000, [sock(400, 900)]);
  const row = a.takeRollups(T0 + 120_000).find((r) => r.by === 'remote-port');
  assert.deepEqual([row?.key, row?.bytesSent, row?.bytesReceived, row?.rttSamples, row?.rttMeanMs], ['6379', 300, 700, 2, 0.04]);
});
