import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { decodeInetDiagDump, countStatesInDump } from './inet-diag.js';
import { loadNative } from '../../native/index.js';
import { MalformedInputError } from '../../errors.js';

test('a message that overruns the buffer is a MalformedInputError with the offset', () => {
  const buf = Buffer.alloc(32);
  buf.writeUInt32LE(5000, 0); // nlmsg_len far past the end
  buf.writeUInt16LE(20, 4);
  assert.throws(() => decodeInetDiagDump(buf), (e: unknown) => e instanceof MalformedInputError && e.offset === 0);
  const tiny = Buffer.alloc(32);
  tiny.writeUInt32LE(4, 0); // shorter than its own header
  assert.throws(() => decodeInetDiagDump(tiny), MalformedInputError);
});

test('empty and DONE-only dumps decode to nothing', () => {
  assert.deepEqual(decodeInetDiagDump(Buffer.alloc(0)), []);
  const done = Buffer.alloc(20);
  done.writeUInt32LE(20, 0);
  done.writeUInt16LE(3, 4); // NLMSG_DONE
  assert.deepEqual(decodeInetDiagDump(done), []);
});

test('a live dump finds our own listener and connection with tcp_info', async (t) => {
  const { addon, error } = loadNative();
  if (addon === null) return t.skip(`native addon not built: ${error}`);
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  client.write('ping');
  await new Promise((r) => client.once('data', r));
  try {
    const dump = addon.sockDiagDump(2, -1, true);
    const sockets = decodeInetDiagDump(dump);
    const listener = sockets.find((s) => s.state === 'LISTEN' && s.local.port === port);
    assert.ok(listener);
    assert.equal(listener.sendQ, 511); // Node's default backlog, as sk_max_ack_backlog
    const mine = sockets.find((s) => s.local.port === client.localPort && s.remote.port === port);
    assert.ok(mine?.tcpInfo);
    assert.equal(mine.state, 'ESTABLISHED');
    assert.equal(mine.tcpInfo.bytesAcked, 5); // 4 bytes + SYN
    assert.equal(mine.tcpInfo.bytesReceived, 4);
    assert.ok(mine.memory && mine.memory.sndBuf > 0);
    assert.ok(mine.congestion && mine.congestion.length > 0);
    const counts = countStatesInDump(addon.sockDiagDump(2, -1, false));
    assert.ok((counts.LISTEN ?? 0) >= 1 && (counts.ESTABLISHED ?? 0) >= 2);
  } finally {
    client.destroy();
    server.close();
  }
});

test('the one-walk dump (family 0) returns exactly the sockets of the IPv4 and IPv6 dumps, with tcp_info', async (t) => {
  const { addon, error } = loadNative();
  if (addon === null) return t.skip(`native addon not built: ${error}`);
  const servers = [net.createServer(), net.createServer()];
  await new Promise<void>((r) => servers[0]!.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => servers[1]!.listen(0, '::1', r));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  const clients = [net.connect(ports[0]!, '127.0.0.1'), net.connect(ports[1]!, '::1')];
  await Promise.all(clients.map((c) => new Promise((r) => c.once('connect', r))));
  try {
    // Exactly our listeners and both ends of our two connections: a port alone is not ours (a
    // socket of another test, or a TIME_WAIT left on that port, may share it; CI once saw 7).
    const endpoints = [
      `127.0.0.1:${ports[0]!}`, `::1:${ports[1]!}`,
      `127.0.0.1:${clients[0]!.localPort!}`, `::1:${clients[1]!.localPort!}`,
    ];
    const pairs = new Set([
      `${endpoints[0]!} *`, `${endpoints[1]!} *`,
      `${endpoints[0]!} ${endpoints[2]!}`, `${endpoints[2]!} ${endpoints[0]!}`,
      `${endpoints[1]!} ${endpoints[3]!}`, `${endpoints[3]!} ${endpoints[1]!}`,
    ]);
    const ours = (s: { state: string; local: { address: string; port: number }; remote: { address: string; port: number } }) =>
      pairs.has(`${s.local.address}:${s.local.port} ${s.state === 'LISTEN' ? '*' : `${s.remote.address}:${s.remote.port}`}`);
    const key = (s: { family: number; state: string; local: { address: string; port: number }; remote: { address: string; port: number } }) =>
      `${s.family} ${s.state} ${s.local.address}:${s.local.port} ${s.remote.address}:${s.remote.port}`;
    const oneWalk = decodeInetDiagDump(addon.sockDiagDump(0, -1, true)).filter(ours);
    const perFamily = [...decodeInetDiagDump(addon.sockDiagDump(2, -1, true)), ...decodeInetDiagDump(addon.sockDiagDump(10, -1, true))].filter(ours);
    assert.deepEqual(oneWalk.map(key).sort(), perFamily.map(key).sort());
    // Two listeners and both ends of two connections, one pair per family.
    assert.equal(oneWalk.length, 6);
    assert.deepEqual([...new Set(oneWalk.map((s) => s.family))].sort(), [4, 6]);
    for (const s of oneWalk.filter((x) => x.state === 'ESTABLISHED')) assert.ok(s.tcpInfo !== null && s.tcpInfo.mss > 0, key(s));
  } finally {
    for (const c of clients) c.destroy();
    for (const s of servers) s.close();
  }
});
