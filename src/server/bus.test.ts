import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentBus } from './bus.js';
import type { StreamMessage } from '../model/stream.js';

const sample: StreamMessage = { kind: 'sample', atMs: 1, states: { ESTABLISHED: 3 }, series: {} };
const recording: StreamMessage = { kind: 'recording', atMs: 2, id: 'c1', what: 'capture', status: 'started', reason: 'alert syn-flood' };

test('subscribers get the kinds they asked for, all kinds when they named none, and nothing after unsubscribing', () => {
  const bus = new AgentBus();
  const all: StreamMessage[] = [];
  const samples: StreamMessage[] = [];
  const stopAll = bus.subscribe((m) => all.push(m));
  bus.subscribe((m) => samples.push(m), ['sample']);
  bus.publish(sample);
  bus.publish(recording);
  stopAll();
  bus.publish(sample);
  assert.deepEqual(all, [sample, recording]);
  assert.deepEqual(samples, [sample, sample]);
  assert.equal(bus.size, 1);
});

test('a subscriber that throws is reported and does not stop the others', () => {
  const errors: unknown[] = [];
  const bus = new AgentBus((e) => errors.push(e));
  const got: StreamMessage[] = [];
  bus.subscribe(() => {
    throw new Error('boom');
  });
  bus.subscribe((m) => got.push(m));
  bus.publish(sample);
  assert.deepEqual(got, [sample]);
  assert.equal((errors[0] as Error).message, 'boom');
});
