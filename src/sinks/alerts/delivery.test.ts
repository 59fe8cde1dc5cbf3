import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeliveryQueue, PermanentFailure, postJson } from './delivery.js';

const options = (errors: string[], over: Partial<{ timeoutMs: number; retries: number; backoffMs: number; capacity: number }> = {}) => ({
  timeoutMs: 1000,
  retries: 2,
  backoffMs: 10,
  capacity: 10,
  onError: (m: string) => errors.push(m),
  ...over,
});

test('push returns at once even when the receiver hangs, and close gives up at its deadline', async () => {
  const errors: string[] = [];
  const queue = new DeliveryQueue<number>('hung', (_item, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))), options(errors, { timeoutMs: 60_000 }));
  const started = performance.now();
  for (let i = 0; i < 5; i++) queue.push(i);
  assert.ok(performance.now() - started < 20, 'enqueueing does not wait for delivery');
  const closing = performance.now();
  await queue.close(200);
  assert.ok(performance.now() - closing < 1000);
  assert.match(errors.join('\n'), /5 alert\(s\) not delivered before exit/);
});

test('a failure is retried with backoff; a permanent one is not', async () => {
  const errors: string[] = [];
  let calls = 0;
  const flaky = new DeliveryQueue<string>('flaky', () => (++calls < 3 ? Promise.reject(new Error('refused')) : Promise.resolve()), options(errors));
  flaky.push('a');
  await flaky.close(5000);
  assert.equal(calls, 3);
  assert.equal(flaky.delivered, 1);
  let permanentCalls = 0;
  const bad = new DeliveryQueue<string>('bad', () => {
    permanentCalls += 1;
    return Promise.reject(new PermanentFailure('400 bad request'));
  }, options(errors));
  bad.push('a');
  await bad.close(5000);
  assert.equal(permanentCalls, 1);
  assert.match(errors.join('\n'), /bad: not delivered: 400 bad request/);
});

test('a full queue drops the oldest and says so', async () => {
  const errors: string[] = [];
  const sent: number[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const queue = new DeliveryQueue<number>('slow', async (item) => {
    await gate;
    sent.push(item);
  }, options(errors, { capacity: 3 }));
  for (let i = 0; i < 6; i++) queue.push(i);
  release();
  await queue.close(5000);
  assert.deepEqual(sent, [0, 3, 4, 5], 'the item in flight, then the newest that fit');
  assert.equal(errors.filter((e) => /queue full/.test(e)).length, 2);
});

test('postJson: 2xx is delivered, 4xx is permanent, 5xx is retryable', async () => {
  let status = 200;
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.statusCode = status;
      res.end('nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await postJson(url, { a: 1 }, AbortSignal.timeout(2000));
    assert.deepEqual(bodies, ['{"a":1}']);
    status = 400;
    await assert.rejects(postJson(url, {}, AbortSignal.timeout(2000)), (e: unknown) => e instanceof PermanentFailure && /answered 400: nope/.test(e.message));
    status = 503;
    await assert.rejects(postJson(url, {}, AbortSignal.timeout(2000)), (e: unknown) => !(e instanceof PermanentFailure));
  } finally {
    server.close();
  }
});
