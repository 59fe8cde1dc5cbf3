/**
 * The agent's recorder on its own, on loopback: every recording puts 'recording' messages on the
 * bus (started, then stopped or failed), a capture that cannot start ends as failed with
 * tcpdump's reason, a trace with socket fields (bpftrace) records its events with their
 * detail, and the disk cap removes the oldest recordings' files first.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { rootSkipReason } from './diagnose-support.js';
import { AgentBus } from '../src/server/bus.js';
import { Recorder } from '../src/server/recorder.js';
import { HistoryStore } from '../src/store/history.js';
import { RecordingStore } from '../src/store/recordings.js';
import { Scope } from '../src/platform/scope.js';
import { diagnoseSchema, thresholdsSchema } from '../src/config/schema.js';
import { eitherPort } from '../src/model/conn-filter.js';
import type { RecordingMessage, StreamMessage } from '../src/model/stream.js';

function setup(t: test.TestContext): { recorder: Recorder; store: RecordingStore; messages: RecordingMessage[]; withCap: (maxTotalBytes: number) => Recorder } {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-recorder-'));
  const history = HistoryStore.open(join(dir, 'history.db'));
  const scope = new Scope('test');
  t.after(async () => {
    await scope.close();
    history.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bus = new AgentBus();
  const messages: RecordingMessage[] = [];
  bus.subscribe((m: StreamMessage) => {
    if (m.kind === 'recording') messages.push(m);
  }, ['recording']);
  const store = new RecordingStore(history.database);
  const withCap = (maxTotalBytes: number): Recorder => new Recorder({
    store, bus, scope, directory: join(dir, 'recordings'), maxTotalBytes, traceBufferKb: 4096, tracePollMs: 50,
    thresholds: { ...thresholdsSchema.parse({}), ...diagnoseSchema.parse({}) }, redactor: () => null, note: () => undefined,
  });
  return { recorder: withCap(1e12), store, messages, withCap };
}

async function listener(t: test.TestContext): Promise<number> {
  const server = net.createServer((s) => s.end('hello\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** COUNT connections to the port that read the greeting and close. */
async function connections(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('data', () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    });
  }
}

const base = { trigger: 'request' as const, reason: 'test', scope: { kind: 'host' as const, value: null } };

test('a capture puts started and stopped on the bus, one that cannot start ends failed with tcpdump\'s reason, and the disk cap removes the oldest file', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('tcpdump');
  if (skip !== null) return t.skip(skip);
  const { recorder, store, messages, withCap } = setup(t);
  const port = await listener(t);
  const first = recorder.startCapture({ ...base, filter: { expr: eitherPort(port) }, durationMs: 1500, maxBytes: 1e6, interface: 'lo', snaplen: 128, pcapFilter: [] });
  await first.started;
  await connections(port, 5);
  const one = await first.done;
  assert.equal(one.status, 'stopped');
  assert.equal(one.stoppedBy, 'duration');
  assert.ok(one.items >= 5 * 7, `${one.items} packets`);
  assert.deepEqual(messages.map((m) => [m.id, m.what, m.status]), [[String(one.id), 'capture', 'started'], [String(one.id), 'capture', 'stopped']]);

  const bad = recorder.startCapture({ ...base, filter: {}, durationMs: 1000, maxBytes: 1e6, interface: 'nosuch0', snaplen: 128, pcapFilter: [] });
  await assert.rejects(bad.started, /interface "nosuch0"/);
  const failed = await bad.done;
  assert.equal(failed.status, 'failed');
  assert.match(failed.error!, /nosuch0/);
  assert.deepEqual(messages.slice(2).map((m) => m.status), ['started', 'failed']);

  // With a cap that holds the second capture but not both, the first (oldest) one's file goes.
  const second = recorder.startCapture({ ...base, filter: { expr: eitherPort(port) }, durationMs: 1000, maxBytes: 1e6, interface: 'lo', snaplen: 128, pcapFilter: [] });
  await second.started;
  await connections(port, 5);
  const two = await second.done;
  assert.ok(existsSync(one.file!) && two.bytes > 24);
  withCap(two.bytes + 10).enforceDiskCap();
  assert.equal(store.get(one.id)!.status, 'expired');
  assert.equal(existsSync(one.file!), false);
  assert.equal(store.get(second.id)!.status, 'stopped');
});

test('a trace with socket fields records the listener\'s events with their detail and stops when asked', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('bpftrace');
  if (skip !== null) return t.skip(skip);
  const { recorder, messages } = setup(t);
  const port = await listener(t);
  const handle = recorder.startTrace({ ...base, filter: { expr: eitherPort(port) }, durationMs: 15_000, maxBytes: 1e6, detail: true });
  await handle.started;
  await connections(port, 3);
  await new Promise((r) => setTimeout(r, 500));
  const stopped = await recorder.stop(handle.id);
  assert.equal(stopped?.status, 'stopped');
  assert.equal(stopped.stoppedBy, 'request');
  assert.equal(stopped.details.detail, true);
  const events = readFileSync(stopped.file!, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; detail?: unknown; local: { port: number } | null; remote: { port: number } | null });
  const states = events.filter((e) => e.type === 'state');
  assert.ok(states.length >= 3 * 5, `${states.length} state events`);
  assert.ok(states.every((e) => e.detail !== undefined && (e.local?.port === port || e.remote?.port === port)));
  assert.deepEqual(messages.map((m) => m.status), ['started', 'stopped']);
});
