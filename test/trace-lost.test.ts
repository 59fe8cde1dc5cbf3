/**
 * Lost events are never silent: with a small trace buffer and the reader paused (SIGSTOP), the
 * kernel overwrites events; tcpdiag must print `lost` events whose counts, added to the events
 * it did print, account for every transition the traffic caused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { closingServer, roundTrip, sleep, startTrace } from './trace-support.js';

const SKIP = isRoot() && tracefsRoot() !== null ? false : 'needs root and tracefs';

test('events the kernel overwrote are reported as lost, and every transition is accounted for', { skip: SKIP, timeout: 120_000 }, async () => {
  const N = 3000;
  const { server, port } = await closingServer();
  // 1 MiB per CPU (the smallest the configuration allows) holds ~12k events; N connections make 10 N.
  const trace = await startTrace(['states', '--json', '--port', String(port), '--buffer-kb', '1024']);
  let result;
  try {
    trace.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < N; i++) await roundTrip(port);
    } finally {
      trace.child.kill('SIGCONT');
    }
    await sleep(500);
    result = await trace.stop();
  } finally {
    server.close();
  }
  assert.equal(result.code, 0, result.stderr);
  const lost = result.events.filter((e) => e.type === 'lost');
  const states = result.events.filter((e) => e.type === 'state');
  const lostCount = lost.reduce((n, e) => n + (e.count as number), 0);
  assert.ok(lost.length > 0, 'the overwrite was reported');
  assert.ok(lostCount > 0);
  assert.equal(states.length + lostCount, 10 * N, `${states.length} printed + ${lostCount} lost`);
  assert.match(result.stderr, /warning: the kernel lost \d+ events on cpu\d/);
  assert.match(result.stderr, new RegExp(`${lostCount} lost`), 'the summary counts them');
  // After a loss, durations of sockets whose history was cut are unknown rather than wrong.
  for (const s of states) assert.ok(s.durationMs === null || (s.durationMs as number) >= 0);
});
