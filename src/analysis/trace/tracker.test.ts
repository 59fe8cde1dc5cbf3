import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawTcpEvent } from '../../model/kernel-event.js';
import { TraceTracker, tcpFlagLetters } from './tracker.js';
import type { Owner, ProcessLookup } from '../../model/process.js';
import type { TraceEvent, TraceEventType } from './events.js';
import { MODE_EVENTS } from './events.js';

const server: Owner = { pid: 100, process: 'server' };
const client: Owner = { pid: 200, process: 'client' };
const lookup: ProcessLookup = {
  byTid: (tid) => (tid === 200 ? client : tid === 100 ? server : null),
  listenerOwner: (_f, port) => (port === 80 ? server : null),
  noteListener: () => undefined,
};

let clock = 1_000_000;
function raw(partial: Partial<RawTcpEvent> & Pick<RawTcpEvent, 'skaddr'>): RawTcpEvent {
  clock += partial.tsNs ?? 1_000_000; // 1 ms apart unless told
  return {
    kind: 'state', cpu: 0, tid: 200, inInterrupt: false, family: 4,
    localAddress: '10.0.0.1', localPort: 40000, remoteAddress: '10.0.0.2', remotePort: 80,
    oldState: 7, newState: 2, reason: null, error: null, count: null, comm: null, detail: null,
    ...partial,
    tsNs: clock,
  };
}

function run(raws: RawTcpEvent[], emit: ReadonlySet<TraceEventType> = MODE_EVENTS.all): TraceEvent[] {
  const tracker = new TraceTracker({ emit, processes: lookup, wallOffsetMs: 0 });
  const out: TraceEvent[] = [];
  for (const r of raws) tracker.process(r, (e) => out.push({ ...e }));
  return out;
}

test('an active open reports connect with its latency and the connecting process', () => {
  const events = run([
    raw({ skaddr: 1, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 1, oldState: 2, newState: 1, tsNs: 2_500_000, inInterrupt: true, tid: 0 }),
  ]);
  const connect = events.find((e) => e.type === 'connect');
  assert.ok(connect && connect.type === 'connect');
  assert.equal(connect.latencyMs, 2.5);
  assert.equal(connect.pid, 200, 'the owner seen at connect() is kept for softirq events');
  assert.deepEqual(connect.local, { address: '10.0.0.1', port: 40000 });
  const states = events.filter((e) => e.type === 'state');
  assert.equal(states.length, 2);
  assert.equal(states[0]!.type === 'state' && states[0]!.durationMs, null, 'time in CLOSE before connect() is not a duration');
});

test('a passive open is attributed to the listener\'s owner, not the interrupted task', () => {
  const events = run([
    raw({ skaddr: 2, oldState: 10, newState: 3, localPort: 80, remotePort: 5555, inInterrupt: true, tid: 999 }),
    raw({ skaddr: 2, oldState: 3, newState: 1, localPort: 80, remotePort: 5555, inInterrupt: true, tid: 999, tsNs: 100_000 }),
  ]);
  const accept = events.find((e) => e.type === 'accept');
  assert.ok(accept && accept.type === 'accept');
  assert.equal(accept.pid, 100);
  assert.equal(accept.process, 'server');
  assert.deepEqual(accept.listener, { address: '10.0.0.1', port: 80 });
  assert.equal(accept.handshakeMs, 0.1);
});

test('connect failures are classified by what happened in SYN_SENT', () => {
  const refused = run([
    raw({ skaddr: 3, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 3, kind: 'receive-reset', oldState: 0, newState: 0 }),
    raw({ skaddr: 3, oldState: 2, newState: 7 }),
  ]).find((e) => e.type === 'connect-failed');
  assert.equal(refused?.type === 'connect-failed' && refused.reason, 'refused');

  const timeout = run([
    raw({ skaddr: 4, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 4, kind: 'retransmit', oldState: 2, newState: 2, inInterrupt: true, tsNs: 1e9 }),
    raw({ skaddr: 4, oldState: 2, newState: 7, tsNs: 5e8 }),
  ]).find((e) => e.type === 'connect-failed');
  assert.ok(timeout?.type === 'connect-failed');
  assert.equal(timeout.reason, 'timeout');
  assert.equal(timeout.synRetransmits, 1);
  assert.equal(timeout.durationMs, 1500);

  const late = run([
    raw({ skaddr: 5, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 5, kind: 'retransmit', oldState: 2, newState: 2, inInterrupt: true }),
    raw({ skaddr: 5, kind: 'receive-reset', oldState: 0, newState: 0, inInterrupt: true }),
    raw({ skaddr: 5, oldState: 2, newState: 7, inInterrupt: true }),
  ]).find((e) => e.type === 'connect-failed');
  assert.equal(late?.type === 'connect-failed' && late.reason, 'reset');

  const unreachable = run([
    raw({ skaddr: 6, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 6, oldState: 2, newState: 7, inInterrupt: true }),
  ]).find((e) => e.type === 'connect-failed');
  assert.equal(unreachable?.type === 'connect-failed' && unreachable.reason, 'unreachable');
});

test('retransmissions carry their kind: SYN in SYN_SENT, data otherwise, SYN-ACK from the listener', () => {
  const events = run([
    raw({ skaddr: 7, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 7, kind: 'retransmit', oldState: 2, newState: 2 }),
    raw({ skaddr: 7, oldState: 2, newState: 1 }),
    raw({ skaddr: 7, kind: 'retransmit', oldState: 1, newState: 1 }),
    raw({ skaddr: 8, kind: 'retransmit-synack', localPort: 80, remotePort: 6000, oldState: 0, newState: 0 }),
  ]).filter((e) => e.type === 'retransmit');
  assert.deepEqual(events.map((e) => e.type === 'retransmit' && [e.kind, e.state, e.pid]), [
    ['syn', 'SYN_SENT', 200],
    ['data', 'ESTABLISHED', 200],
    ['synack', 'SYN_RECV', 100],
  ]);
});

test('a close line gives the connection\'s duration and, with socket fields, its payload bytes', () => {
  const detail = (bytesAcked: number, bytesReceived: number, bytesSent: number) => ({
    cwnd: 10, rcvWnd: 0, sndWnd: 0, bytesSent, bytesReceived, bytesAcked, ackBacklog: 0, maxAckBacklog: 0, totalRetrans: 0, srttUs: 20,
  });
  const events = run([
    raw({ skaddr: 9, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 9, oldState: 2, newState: 1 }),
    raw({ skaddr: 9, oldState: 1, newState: 8, inInterrupt: true }), // peer's FIN
    raw({ skaddr: 9, oldState: 8, newState: 9 }),
    // bytes_acked counts our SYN and FIN; bytes_received the peer's FIN (sequence space).
    raw({ skaddr: 9, oldState: 9, newState: 7, inInterrupt: true, detail: detail(302, 1001, 300) }),
  ], MODE_EVENTS.life);
  assert.equal(events.length, 1);
  const close = events[0]!;
  assert.ok(close.type === 'close');
  assert.equal(close.durationMs, 4);
  assert.equal(close.bytesSent, 300);
  assert.equal(close.bytesReceived, 1000);
  assert.equal(close.origin, 'active');
  assert.equal(close.pid, 200);
});

test('a socket whose earlier events were lost restarts with an unknown duration', () => {
  const events = run([
    raw({ skaddr: 10, oldState: 7, newState: 2, localPort: 0 }),
    // SYN_SENT -> ESTABLISHED was lost: the next event's old state does not match
    raw({ skaddr: 10, oldState: 1, newState: 4 }),
  ], MODE_EVENTS.states);
  const last = events.at(-1)!;
  assert.ok(last.type === 'state');
  assert.equal(last.durationMs, null);
  assert.equal(last.pid, 200, 'the owner carries over');
});

test('lost records become lost events with their count', () => {
  const events = run([raw({ skaddr: 0, kind: 'lost', count: 12, cpu: 1 })], MODE_EVENTS.connect);
  assert.deepEqual(events.map((e) => e.type === 'lost' && [e.count, e.cpu]), [[12, 1]]);
});

test('TCP flags read as tcpdump prints them', () => {
  assert.equal(tcpFlagLetters(0x02), 'S');
  assert.equal(tcpFlagLetters(0x12), 'S.');
  assert.equal(tcpFlagLetters(0x18), 'P.');
  assert.equal(tcpFlagLetters(0x11), 'F.');
  assert.equal(tcpFlagLetters(0x04), 'R');
  assert.equal(tcpFlagLetters(0), 'none');
});

function historyTracker(closed = 4): TraceTracker {
  return new TraceTracker({ emit: MODE_EVENTS.all, processes: lookup, wallOffsetMs: 0, closedHistories: closed });
}

const byRemotePort = (port: number) => (s: { remotePort: number }) => s.remotePort === port;

test('a connection\'s state history: every state with when it was entered and for how long, kept after CLOSE', () => {
  const tracker = historyTracker();
  const start = clock;
  const raws = [
    raw({ skaddr: 1, oldState: 7, newState: 2, localPort: 0 }),
    raw({ skaddr: 1, oldState: 2, newState: 1, tsNs: 2_000_000 }),
    raw({ skaddr: 1, oldState: 1, newState: 4, tsNs: 10_000_000 }),
    raw({ skaddr: 1, oldState: 4, newState: 5 }),
  ];
  for (const r of raws) tracker.process(r, () => undefined);
  const open = tracker.history(byRemotePort(80));
  assert.ok(open !== null);
  assert.deepEqual(open.states.map((s) => s.state), ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2']);
  assert.deepEqual(open.states.map((s) => s.durationMs), [2, 10, 1, null]);
  assert.equal(open.states[0]!.sinceMs, (start + 1_000_000) / 1e6);
  assert.equal(open.origin, 'active');
  assert.equal(open.handedOver, false);
  tracker.process(raw({ skaddr: 1, oldState: 5, newState: 7, tsNs: 3_000_000, inInterrupt: true }), () => undefined);
  assert.equal(tracker.sockets.size, 0);
  const closed = tracker.history(byRemotePort(80));
  assert.ok(closed !== null);
  assert.deepEqual(closed.states.map((s) => s.state), ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE']);
  assert.equal(closed.states[3]!.durationMs, 3);
  // FIN_WAIT2 -> CLOSE without a reset: the TIME_WAIT mini-socket took over (tcp_time_wait).
  assert.equal(closed.handedOver, true);
});

test('a passive close and a reset are not a TIME_WAIT handover; a socket first seen mid-life has an unknown start', () => {
  const tracker = historyTracker();
  const passive = [
    raw({ skaddr: 2, oldState: 10, newState: 3, localPort: 80, remotePort: 5001, inInterrupt: true }),
    raw({ skaddr: 2, oldState: 3, newState: 1, localPort: 80, remotePort: 5001, inInterrupt: true }),
    raw({ skaddr: 2, oldState: 1, newState: 8, localPort: 80, remotePort: 5001, inInterrupt: true }),
    raw({ skaddr: 2, oldState: 8, newState: 9, localPort: 80, remotePort: 5001 }),
    raw({ skaddr: 2, oldState: 9, newState: 7, localPort: 80, remotePort: 5001, inInterrupt: true }),
  ];
  for (const r of passive) tracker.process(r, () => undefined);
  const p = tracker.history(byRemotePort(5001));
  assert.ok(p !== null);
  assert.equal(p.origin, 'passive');
  assert.deepEqual(p.states.map((s) => s.state), ['SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSE']);
  assert.equal(p.handedOver, false);

  tracker.process(raw({ skaddr: 3, oldState: 1, newState: 5, remotePort: 5002 }), () => undefined);
  tracker.process(raw({ skaddr: 3, kind: 'receive-reset', oldState: 0, newState: 0, remotePort: 5002 }), () => undefined);
  tracker.process(raw({ skaddr: 3, oldState: 5, newState: 7, remotePort: 5002 }), () => undefined);
  const reset = tracker.history(byRemotePort(5002));
  assert.ok(reset !== null);
  assert.equal(reset.origin, null);
  assert.deepEqual(reset.states.map((s) => [s.state, s.sinceMs === null, s.durationMs === null]), [['ESTABLISHED', true, true], ['FIN_WAIT2', false, false], ['CLOSE', false, true]]);
  assert.equal(reset.handedOver, false);
  assert.equal(tracker.history(byRemotePort(6000)), null);
});

test('closed histories are bounded by the ring: the oldest go first', () => {
  const tracker = historyTracker(2);
  for (const port of [7001, 7002, 7003]) {
    tracker.process(raw({ skaddr: port, oldState: 7, newState: 2, localPort: 0, remotePort: port }), () => undefined);
    tracker.process(raw({ skaddr: port, oldState: 2, newState: 7, remotePort: port, inInterrupt: true }), () => undefined);
  }
  assert.equal(tracker.history(byRemotePort(7001)), null);
  assert.deepEqual(tracker.history(byRemotePort(7003))?.states.map((s) => s.state), ['SYN_SENT', 'CLOSE']);
  // Without closedHistories nothing is kept (`tcpdiag trace` does not pay for it).
  const plain = new TraceTracker({ emit: MODE_EVENTS.all, processes: lookup, wallOffsetMs: 0 });
  plain.process(raw({ skaddr: 9, oldState: 7, newState: 2, localPort: 0 }), () => undefined);
  assert.equal(plain.history(() => true), null);
});
