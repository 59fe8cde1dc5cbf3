import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventDetail, formatEventLine, TRACE_HEADER } from './event-line.js';
import type { TraceEvent } from '../../analysis/trace/events.js';

const base = { ts: Date.UTC(2026, 0, 2, 3, 4, 5, 67.8), family: 4 as const, local: { address: '10.0.0.1', port: 80 }, remote: { address: '10.0.0.2', port: 5555 }, pid: 42, process: 'a-very-long-process-name' };

test('one fixed-width line per event under the header, process names cut to 15 characters', () => {
  const line = formatEventLine({ ...base, type: 'state', oldState: 'SYN_RECV', newState: 'ESTABLISHED', durationMs: 0.0504 });
  const expected = ` ${'state'.padEnd(14)} ${'42'.padStart(7)} a-very-long-pro ${'10.0.0.1:80'.padEnd(21)} ${'10.0.0.2:5555'.padEnd(21)} SYN_RECV -> ESTABLISHED (after 0.050ms)\n`;
  assert.match(line.slice(0, 12), /^\d\d:\d\d:\d\d\.067$/);
  assert.equal(line.slice(12), expected);
  assert.equal(line.indexOf('10.0.0.1'), TRACE_HEADER.indexOf('LOCAL'));
  assert.equal(line.indexOf('SYN_RECV'), TRACE_HEADER.indexOf('DETAIL'));
});

test('details say what each event means', () => {
  const e = (x: Partial<TraceEvent>) => ({ ...base, ...x }) as TraceEvent;
  assert.equal(eventDetail(e({ type: 'connect-failed', reason: 'timeout', durationMs: 1503.2, synRetransmits: 1 })), 'timeout after 1503ms, 1 SYN retransmits');
  assert.equal(eventDetail(e({ type: 'reset', direction: 'sent', reason: 'NO_SOCKET', state: null })), 'sent reason=NO_SOCKET');
  assert.equal(eventDetail(e({ type: 'close', durationMs: 12.5, bytesSent: null, bytesReceived: null, origin: 'passive' })), 'after 12.500ms (passive) tx=? rx=?');
  assert.equal(eventDetail(e({ type: 'lost', count: 7, cpu: 1 })), 'WARNING: the kernel lost 7 events on cpu1');
  assert.equal(eventDetail(e({ type: 'state', oldState: 'CLOSE', newState: 'SYN_SENT', durationMs: null })), 'CLOSE -> SYN_SENT (since ?)');
});
