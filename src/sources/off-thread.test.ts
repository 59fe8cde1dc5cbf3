import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { hostSource, listenerSource, socketSource } from './index.js';

async function served(): Promise<{ port: number; close: () => Promise<void> }> {
  const held: net.Socket[] = [];
  const server = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const clients = await Promise.all(Array.from({ length: 3 }, () => new Promise<net.Socket>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
  })));
  while (held.length < 3) await new Promise((r) => setTimeout(r, 5));
  return {
    port,
    close: async () => {
      for (const c of [...clients, ...held]) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const ours = (port: number) => (s: { local: { port: number }; remote: { port: number } }): boolean => s.local.port === port || s.remote.port === port;
const key = (s: { state: string; local: { port: number }; remote: { port: number }; pid: number | null }): string => `${s.state} ${s.local.port} ${s.remote.port} ${s.pid}`;

test('a collection in the worker thread gives the table, listeners and host snapshot the main thread gives', async () => {
  const live = await served();
  try {
    const signal = new AbortController().signal;
    const query = { withInfo: true, withOwners: true };
    const [main, worker] = await Promise.all([socketSource().collect(signal, query), socketSource({ offThread: true }).collect(signal, query)]);
    assert.deepEqual(worker.data.filter(ours(live.port)).map(key).sort(), main.data.filter(ours(live.port)).map(key).sort());
    assert.ok(worker.data.filter(ours(live.port)).every((s) => s.tcpInfo !== null || s.state === 'LISTEN'));
    const listeners = await listenerSource({ offThread: true }).collect(signal, {});
    assert.equal(listeners.data.find((l) => l.local.port === live.port)?.established, 3);
    const host = await hostSource({ offThread: true }).collect(signal, { sockets: query, listeners: {}, counters: true });
    assert.equal(host.data.sockets!.filter(ours(live.port)).length, 7);
    assert.ok(host.data.counters !== null && host.data.listeners!.some((l) => l.local.port === live.port));
  } finally {
    await live.close();
  }
});

test('an abort rejects an off-thread collection at once with the signal\'s reason, and the worker serves the next one', async () => {
  const reason = new Error('stop');
  const source = socketSource({ offThread: true });
  const controller = new AbortController();
  const pending = source.collect(controller.signal, {});
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(source.collect(AbortSignal.abort(reason), {}), (e) => e === reason);
  const next = await source.collect(new AbortController().signal, { filter: { states: ['LISTEN'] }, withInfo: false });
  assert.ok(next.data.length > 0 && next.data.every((s) => s.state === 'LISTEN'));
});

test('the worker does not keep a process alive once its collection is done', () => {
  const index = fileURLToPath(new URL('./index.js', import.meta.url));
  const script = `import(${JSON.stringify(index)}).then(async ({ socketSource }) => { const s = await socketSource({ offThread: true }).collect(new AbortController().signal, {}); console.log(s.data.length); })`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(Number(result.stdout.trim()) > 0);
});
