import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonLineWriter } from './json-writer.js';
import { traceEventJson } from './json.js';
import type { TraceEvent } from '../../analysis/trace/events.js';

function written(events: TraceEvent[], capacity?: number): string {
  const chunks: Buffer[] = [];
  const w = new JsonLineWriter((c, done) => {
    chunks.push(Buffer.from(c));
    done();
  }, capacity);
  for (const e of events) w.write(e);
  w.flush();
  return Buffer.concat(chunks).toString('utf8');
}

const state = (ts: number, durationMs: number | null, extra: Partial<TraceEvent> = {}): TraceEvent => ({
  type: 'state', ts, family: 4, local: { address: '127.0.0.1', port: 0 }, remote: { address: '127.0.0.1', port: 65535 },
  pid: 42, process: 'node', oldState: 'CLOSE', newState: 'SYN_SENT', durationMs, ...extra,
} as TraceEvent);

test('the byte writer produces the same JSON as JSON.stringify, line by line', () => {
  const events: TraceEvent[] = [
    state(1795291076228.928, null),
    state(1795291076228.9, 0.001),
    state(1795291076229, 1234.5),
    state(1795291076229.05, 0),
    state(1, 99999.999, { family: 6, local: { address: '::1', port: 443 }, remote: { address: 'fe80::1', port: 1 } }),
    state(2, 5, { pid: null, process: null }),
    state(3, 5, { process: 'we "quote"\\ é' }),
    { type: 'connect', ts: 5.5, family: 4, local: { address: '1.2.3.4', port: 5 }, remote: { address: '5.6.7.8', port: 9 }, pid: 1, process: 'x', latencyMs: 0.25 },
    { type: 'lost', ts: 7, family: null, local: null, remote: null, pid: null, process: null, count: null, cpu: 1 },
  ];
  const lines = written(events).trimEnd().split('\n');
  assert.equal(lines.length, events.length);
  lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(events[i])), line));
});

test('lines are never split across chunks, even with a small buffer', () => {
  const events = Array.from({ length: 500 }, (_, i) => state(1795291076228 + i / 7, i / 3));
  const chunks: string[] = [];
  const w = new JsonLineWriter((c, done) => {
    chunks.push(c.toString());
    done();
  }, 4096);
  for (const e of events) w.write(e);
  w.flush();
  assert.ok(chunks.length > 1);
  for (const c of chunks) assert.ok(c.endsWith('\n'));
  assert.equal(chunks.join('').trimEnd().split('\n').length, 500);
});

test('traceEventJson equals JSON.stringify for the types it writes by hand', () => {
  const events: TraceEvent[] = [
    { type: 'accept', ts: 1.5, family: 4, local: { address: '1.2.3.4', port: 80 }, remote: { address: '5.6.7.8', port: 9 }, pid: 1, process: 'srv', listener: { address: '1.2.3.4', port: 80 }, handshakeMs: null },
    { type: 'close', ts: 2, family: 4, local: { address: '1.2.3.4', port: 80 }, remote: { address: '5.6.7.8', port: 9 }, pid: null, process: null, durationMs: 3.25, bytesSent: null, bytesReceived: 7, origin: null },
    { type: 'retransmit', ts: 2, family: 6, local: { address: '::1', port: 80 }, remote: { address: '::1', port: 9 }, pid: 1, process: 'a', kind: 'synack', state: 'SYN_RECV', failed: false, segments: 1 },
    { type: 'retransmit', ts: 3, family: 4, local: { address: '1.2.3.4', port: 80 }, remote: { address: '5.6.7.8', port: 9 }, pid: null, process: null, kind: 'data', state: 'ESTABLISHED', failed: true, error: 'EBUSY', segments: null },
  ];
  for (const e of events) assert.equal(traceEventJson(e), JSON.stringify(e));
});
