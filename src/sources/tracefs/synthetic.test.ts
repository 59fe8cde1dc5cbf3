import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventFormat } from './format.js';
import { parseRingBufferPage } from './ring-buffer.js';
import type { RawTcpEvent } from '../../model/kernel-event.js';
import { syntheticStatePages } from './synthetic.js';
import { buildDecoder, TCP_TRACEPOINTS } from './tcp-events.js';
import { TraceTracker } from '../../analysis/trace/tracker.js';
import type { StateEvent, TraceEvent } from '../../analysis/trace/events.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'tracefs');
// The real kernel's format (6.18), so the records are laid out as trace_pipe_raw gives them.
const FORMAT = parseEventFormat(readFileSync(join(FIXTURES, 'inet_sock_set_state.format'), 'utf8'));
const decode = buildDecoder(TCP_TRACEPOINTS.find((t) => t.kind === 'state')!, FORMAT);

function decodeAll(connections: number, port: number): RawTcpEvent[] {
  const events: RawTcpEvent[] = [];
  for (const { cpu, page, bytes } of syntheticStatePages(FORMAT, 65536, { connections, serverPort: port, tid: 4242, startNs: 1e12 })) {
    assert.ok(bytes <= page.length);
    parseRingBufferPage(page, bytes, {
      event: (buf, offset, _length, tsNs) => {
        const e = decode(buf, offset, tsNs, cpu);
        assert.ok(e !== null, 'every record decodes as a TCP state change');
        events.push({ ...e });
      },
      lost: () => assert.fail('synthetic pages report no loss'),
    });
  }
  return events.sort((a, b) => a.tsNs - b.tsNs);
}

test('synthetic pages decode, with the kernel\'s own format, into whole connections on documentation addresses', () => {
  const events = decodeAll(600, 8443);
  // One listener, 600 connections of 10 transitions, and one more listener opening and closing.
  assert.equal(events.length, 2 + 600 * 10 + 2);
  assert.deepEqual(new Set(events.map((e) => e.cpu)), new Set([0, 1]), 'both CPUs carry events');
  assert.deepEqual([...new Set(events.map((e) => e.family))].sort(), [4, 6]);
  for (const e of events) {
    const addresses = [e.localAddress, e.remoteAddress].filter((a) => a !== '0.0.0.0');
    assert.ok(addresses.every((a) => a.startsWith('192.0.2.') || a.startsWith('2001:db8::')), `${e.localAddress} ${e.remoteAddress}`);
    assert.ok(e.localPort === 8443 || e.remotePort === 8443, 'every event is on the given port');
  }
  assert.ok(new Set(events.map((e) => e.localAddress)).size > 10, 'client addresses change along the way');
  const first = events[0]!;
  assert.deepEqual([first.oldState, first.newState, first.localPort], [7, 10, 8443], 'starts with a listener');
  // The pause after it is written as a time extend, and it decodes to the same time.
  assert.equal(events[1]!.tsNs - first.tsNs, 200e6 + 200);
});

test('the tracker follows every synthetic socket from open to close with a duration for each state', () => {
  const tracker = new TraceTracker({
    emit: new Set(['state', 'connect', 'accept', 'close', 'lost']),
    processes: { byTid: (tid) => ({ pid: tid, process: 'p' }), listenerOwner: () => ({ pid: 1, process: 'l' }), noteListener: () => undefined },
    wallOffsetMs: 0,
  });
  const out: TraceEvent[] = [];
  for (const raw of decodeAll(300, 8080)) tracker.process(raw, (e) => out.push({ ...e }));
  const states = out.filter((e): e is StateEvent => e.type === 'state');
  assert.equal(states.length, 2 + 3000 + 2);
  // Only a socket's first transition (from CLOSE, or a listener's child) has no known duration.
  const unknown = states.filter((e) => e.durationMs === null);
  assert.ok(unknown.every((e) => e.oldState === 'CLOSE' || e.oldState === 'LISTEN'));
  assert.ok(states.some((e) => e.durationMs === 0), 'some states last under the rounding');
  assert.equal(out.filter((e) => e.type === 'connect').length, 300);
  assert.equal(out.filter((e) => e.type === 'accept').length, 300);
  assert.equal(out.filter((e) => e.type === 'close').length, 600);
  assert.equal(tracker.sockets.size, 0, 'every socket reached CLOSE and was forgotten');
});
