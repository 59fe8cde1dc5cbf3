import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ERROR_CODES } from '../errors.js';
import { hostSource } from './index.js';

async function served(): Promise<{ port: number; close: () => Promise<void> }> {
  const held: net.Socket[] = [];
  const server = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = await new Promise<net.Socket>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
  });
  while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
  return {
    port,
    close: async () => {
      for (const c of [client, ...held]) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('one host snapshot holds sockets with owners, listeners from the same table, counters, sysctls and the owners\' processes', async () => {
  const live = await served();
  try {
    const before = Date.now();
    const { data, issues, takenAtMs } = await hostSource().collect(new AbortController().signal, {
      sockets: { withInfo: true, withOwners: true }, listeners: {}, counters: true, sysctls: true, processes: 'owners',
    });
    assert.ok(before <= takenAtMs && data.window.startMs === takenAtMs && data.window.endMs <= Date.now());
    for (const i of issues) assert.ok(i.code in ERROR_CODES);
    const ours = data.sockets!.filter((s) => s.local.port === live.port || s.remote.port === live.port);
    assert.deepEqual(ours.map((s) => s.state).sort(), ['ESTABLISHED', 'ESTABLISHED', 'LISTEN']);
    const listener = data.listeners!.find((l) => l.local.port === live.port);
    assert.equal(listener?.established, 1);
    assert.equal(listener?.pid, process.pid);
    assert.ok(data.counters!.states.LISTEN >= 1 && data.counters!.counters.ActiveOpens! > 0);
    assert.ok(data.sysctls!['net.core.somaxconn']);
    const self = data.processes!.find((p) => p.pid === process.pid);
    assert.ok(self && self.openFds! > 0, 'this process owns sockets, so it is among the processes');
  } finally {
    await live.close();
  }
});

test('listeners the table cannot stand in for (it holds other states) are read apart, in the same snapshot', async () => {
  const live = await served();
  try {
    const { data } = await hostSource().collect(new AbortController().signal, { sockets: { filter: { states: ['ESTABLISHED'] }, withInfo: false }, listeners: {} });
    assert.ok(data.sockets!.every((s) => s.state === 'ESTABLISHED'));
    assert.equal(data.listeners!.find((l) => l.local.port === live.port)?.established, 1);
    assert.equal(data.counters, null, 'what was not asked for is null');
  } finally {
    await live.close();
  }
});
