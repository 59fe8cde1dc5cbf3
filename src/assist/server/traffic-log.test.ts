import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficLog } from './traffic-log.js';
import type { ServerEvent } from './server.js';

const peer = { id: 1, remote: '127.0.0.1:5000', local: '127.0.0.1:80' };

test('the first read and write are shown, the rest counted once a second and at close', () => {
  let now = 0;
  const events: ServerEvent[] = [];
  const log = new TrafficLog(false, (e) => events.push(e), () => now);
  log.read(peer, Buffer.from('abc'), 3);
  log.wrote(peer, 3, 'echo');
  for (let i = 0; i < 10; i++) {
    now += 150;
    log.read(peer, Buffer.from('abcd'), 0);
    log.wrote(peer, 4, 'echo');
  }
  log.closed(peer);
  assert.deepEqual(events.map((e) => e.type), ['data', 'sent', 'traffic', 'traffic']);
  const counts = events.filter((e): e is Extract<ServerEvent, { type: 'traffic' }> => e.type === 'traffic');
  assert.equal(counts.reduce((n, e) => n + e.readsIn, 0), 10);
  assert.equal(counts.reduce((n, e) => n + e.bytesOut, 0), 40);
  assert.equal(counts[0]!.periodMs, 1050);
});

test('with every read on (--hex-dump) nothing is summarised', () => {
  const events: ServerEvent[] = [];
  const log = new TrafficLog(true, (e) => events.push(e));
  for (let i = 0; i < 5; i++) log.read(peer, Buffer.from('x'), i + 1);
  log.closed(peer);
  assert.equal(events.length, 5);
});
