/**
 * tcpdiag server end to end: the contract line, modes, reply rules, IPv6, and the deliberate
 * misbehaviours checked against the kernel's own socket table (ss) and tcp_info.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { runCli } from './helpers/cli.js';
import { startCli, socketsOnPort, eventually, sleep } from './helpers/long-running.js';
import type { LongRunning } from './helpers/long-running.js';
import { tcpInfoOf } from '../src/assist/socket-options.js';
import { nativeAddon } from '../src/native/index.js';

async function startServer(args: string[]): Promise<{ server: LongRunning; port: number }> {
  const server = startCli(['server', '0', ...args]);
  const match = await server.waitFor(/^listening on (.+):(\d+)$/m);
  return { server, port: Number(match[2]) };
}

function connect(port: number, host = '127.0.0.1', options: net.NetConnectOpts = { port }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...options, port, host });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collect what the socket receives until `bytes` bytes arrived. */
function receive(socket: net.Socket, bytes: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => reject(new Error(`got ${total} of ${bytes} bytes: ${Buffer.concat(chunks).toString()}`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((l) => l.startsWith('TcpExt:'))?.split(/\s+/) ?? [];
  const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('ListenOverflows')] ?? NaN);
}

test('server prints exactly "listening on ADDRESS:PORT" first and echoes bytes in echo mode', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1', '--mode', 'echo', '--hex-dump']);
  try {
    assert.match(server.stdout(), /^listening on 127\.0\.0\.1:\d+\n/);
    assert.ok(port > 0);
    const client = await connect(port);
    const payload = Buffer.from([0x48, 0x69, 0x00, 0xff, 0x0a]);
    client.write(payload);
    assert.deepEqual(await receive(client, payload.length), payload);
    client.end();
    await server.waitFor(/#1 closed: in 5 B, out 5 B/);
    // The received bytes are shown as escaped text and as a hex dump.
    assert.match(server.stdout(), /#1 <- 5 bytes: Hi\\x00\\xff\\n/);
    assert.match(server.stdout(), /00000000 {2}48 69 00 ff 0a {2}/);
  } finally {
    await server.stop();
  }
});

test('server --mode echo does not log every byte by default (a benchmark against it measured the logger)', async () => {
  const exchanges = 2000;
  const run = async (args: string[]): Promise<string> => {
    const { server, port } = await startServer(['--host', '127.0.0.1', '--mode', 'echo', ...args]);
    try {
      const client = await connect(port);
      client.setNoDelay(true);
      const message = Buffer.alloc(100, 0x61);
      // One message at a time, each echoed before the next: one read and one write per message.
      for (let i = 0; i < exchanges; i++) {
        const reply = receive(client, message.length);
        client.write(message);
        await reply;
        client.removeAllListeners('data');
      }
      client.end();
      await server.waitFor(new RegExp(`#1 closed: in ${exchanges * 100} B, out ${exchanges * 100} B`));
      return server.stdout();
    } finally {
      await server.stop();
    }
  };
  const quiet = await run([]);
  const lines = quiet.split('\n').filter((l) => l !== '');
  assert.ok(lines.length < 20, `${lines.length} lines:\n${quiet.slice(0, 2000)}`);
  assert.match(quiet, /#1 <- 100 bytes: a{100}\n/, 'the first read is shown');
  assert.doesNotMatch(quiet, /00000000 {2}61/, 'no hex dump by default');
  // Every read and write not shown is counted in a traffic line.
  const counted = [...quiet.matchAll(/(\d+) more reads \((\d+) B in\), (\d+) more writes \((\d+) B out\)/g)];
  assert.equal(counted.reduce((n, m) => n + Number(m[1]), 0), exchanges - 1);
  assert.equal(counted.reduce((n, m) => n + Number(m[2]), 0), (exchanges - 1) * 100);
  assert.equal(counted.reduce((n, m) => n + Number(m[3]), 0), exchanges - 1);
  const dumped = await run(['--hex-dump']);
  assert.equal([...dumped.matchAll(/<- 100 bytes/g)].length, exchanges);
  assert.equal([...dumped.matchAll(/00000000 {2}61/g)].length, 1, 'the dump offsets count from the connection start');
});

test('reply rules fire on matches split across reads, text and hex', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1', '--reply', 'PING=>PONG\\n', '--reply', 'hex:01 02=>hex:ff fe']);
  try {
    const client = await connect(port);
    client.setNoDelay(true);
    client.write('xxPI');
    await sleep(100);
    client.write('NGyy\x01');
    await sleep(100);
    client.write('\x02');
    assert.deepEqual(await receive(client, 7), Buffer.concat([Buffer.from('PONG\n'), Buffer.from([0xff, 0xfe])]));
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('server listens on IPv6 with --host ::1', async () => {
  const { server, port } = await startServer(['--host', '::1', '--mode', 'echo']);
  try {
    assert.match(server.stdout(), /^listening on \[::1\]:\d+$/m);
    const client = await connect(port, '::1');
    client.write('v6');
    assert.equal((await receive(client, 2)).toString(), 'v6');
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('--never-close leaves the server in CLOSE_WAIT and the client in FIN_WAIT2', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1', '--never-close']);
  try {
    const client = await connect(port, '127.0.0.1', { port, allowHalfOpen: true });
    const clientPort = client.localPort;
    client.end('bye'); // FIN from the client
    await server.waitFor(/peer closed its side \(FIN\); keeping ours open/);
    const states = await eventually('CLOSE-WAIT and FIN-WAIT-2', () => {
      const sockets = socketsOnPort(port);
      const serverSide = sockets.find((s) => s.local.endsWith(`:${port}`) && s.peer.endsWith(`:${clientPort}`));
      const clientSide = sockets.find((s) => s.local.endsWith(`:${clientPort}`));
      return serverSide?.state === 'CLOSE-WAIT' && clientSide?.state === 'FIN-WAIT-2' ? { serverSide, clientSide } : undefined;
    });
    assert.equal(states.serverSide.state, 'CLOSE-WAIT');
    assert.equal(states.clientSide.state, 'FIN-WAIT-2');
    // Still there a second later: nothing on the server side closes it.
    await sleep(1000);
    assert.ok(socketsOnPort(port).some((s) => s.state === 'CLOSE-WAIT'));
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('--never-read drives the window the server advertises to zero', async (t) => {
  if (nativeAddon() === null) return t.skip('needs the native addon for tcp_info (npm run install)');
  const { server, port } = await startServer(['--host', '127.0.0.1', '--never-read']);
  try {
    const client = await connect(port);
    const block = Buffer.alloc(1 << 20, 0x61);
    // Write until the kernel's send buffer backs up, bounded at 64 MiB.
    for (let i = 0; i < 64 && client.write(block); i++);
    const info = await eventually('snd_wnd 0 in the client tcp_info', () => {
      const current = tcpInfoOf(client);
      return current !== null && current.sndWnd === 0 ? current : undefined;
    });
    assert.equal(info.sndWnd, 0);
    const serverSide = socketsOnPort(port).find((s) => s.local.endsWith(`:${port}`) && s.state === 'ESTAB');
    assert.ok(serverSide !== undefined && serverSide.recvQ > 0, `server Recv-Q holds the unread bytes: ${JSON.stringify(serverSide)}`);
    assert.doesNotMatch(server.stdout(), /<- \d+ bytes/); // nothing was read
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('--reset-after N sends RST once N bytes arrived', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1', '--reset-after', '10']);
  try {
    const client = await connect(port);
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      client.on('error', resolve);
      client.write(Buffer.alloc(64, 0x62));
    });
    assert.equal(error.code, 'ECONNRESET');
    await server.waitFor(/#1 sending RST after 10 bytes/);
    assert.match(server.stdout(), /#1 <- 10 bytes: b{10}\n/);
  } finally {
    await server.stop();
  }
});

test('--backlog 1 --no-accept overflows the accept queue', async () => {
  const before = listenOverflows();
  const { server, port } = await startServer(['--host', '127.0.0.1', '--backlog', '1', '--no-accept']);
  const clients: net.Socket[] = [];
  try {
    for (let i = 0; i < 6; i++) clients.push(net.connect({ port, host: '127.0.0.1' }).on('error', () => undefined));
    const listener = await eventually('a full accept queue', () => {
      const l = socketsOnPort(port).find((s) => s.state === 'LISTEN');
      return l !== undefined && l.recvQ >= 2 ? l : undefined;
    });
    // backlog 1 holds 2 established connections (sk_acceptq_is_full: queue > backlog).
    assert.equal(listener.recvQ, 2);
    assert.equal(listener.sendQ, 1);
    const synSent = await eventually('clients stuck in SYN-SENT', () => {
      const n = socketsOnPort(port).filter((s) => s.state === 'SYN-SENT').length;
      return n > 0 ? n : undefined;
    });
    assert.ok(synSent >= 1);
    assert.ok(listenOverflows() > before, 'ListenOverflows went up');
    assert.doesNotMatch(server.stdout(), /accepted/);
  } finally {
    for (const c of clients) c.destroy();
    await server.stop();
  }
});

test('--mss 536 makes clients send segments of at most 536 bytes', async (t) => {
  if (nativeAddon() === null) return t.skip('needs the native addon (npm run install)');
  const { server, port } = await startServer(['--host', '127.0.0.1', '--mss', '536', '--mode', 'discard']);
  try {
    const client = await connect(port);
    const info = tcpInfoOf(client);
    assert.ok(info !== null);
    assert.ok(info.mss <= 536 && info.mss >= 500, `client send MSS ${info.mss}`);
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('--accept-delay holds a new connection before the server reads it', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1', '--mode', 'echo', '--accept-delay', '400ms']);
  try {
    const client = await connect(port);
    const started = Date.now();
    client.write('x');
    await receive(client, 1);
    assert.ok(Date.now() - started >= 350, `echo came after ${Date.now() - started} ms`);
    client.destroy();
  } finally {
    await server.stop();
  }
});

test('server refuses a port in use with a clear error', async () => {
  const { server, port } = await startServer(['--host', '127.0.0.1']);
  try {
    const second = await runCli(['server', String(port), '--host', '127.0.0.1'], { timeoutMs: 10_000 });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /cannot listen on 127\.0\.0\.1:\d+: address already in use \(EADDRINUSE\)/);
  } finally {
    await server.stop();
  }
});

test('--host :: accepts IPv4 and IPv6 clients on one port', async () => {
  const { server, port } = await startServer(['--host', '::', '--mode', 'echo']);
  try {
    assert.match(server.stdout(), /^listening on \[::\]:\d+$/m);
    for (const host of ['127.0.0.1', '::1']) {
      const client = await connect(port, host);
      client.write(host);
      assert.equal((await receive(client, host.length)).toString(), host);
      client.destroy();
    }
    await server.waitFor(/#2 accepted \[::1\]:\d+/);
    assert.match(server.stdout(), /#1 accepted 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
  } finally {
    await server.stop();
  }
});

test('--json prints one event per line and the listening line on stderr', async () => {
  const server = startCli(['server', '0', '--host', '127.0.0.1', '--mode', 'echo', '--json']);
  try {
    await server.waitFor(/"type":"listening"/);
    assert.match(server.stderr(), /^listening on 127\.0\.0\.1:\d+$/m);
    const listening = JSON.parse(server.stdout().split('\n')[0] ?? '{}') as { port: number };
    const client = await connect(listening.port);
    client.end('hi');
    await receive(client, 2);
    await server.waitFor(/"type":"close"/);
    await server.stop();
    const events = server.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(events.map((e) => e.type), ['listening', 'accept', 'data', 'sent', 'peer-closed', 'close', 'summary']);
    assert.equal(events[2]?.text, 'hi');
    assert.equal(events[2]?.hex, '6869');
    assert.deepEqual({ bytesIn: events[5]?.bytesIn, bytesOut: events[5]?.bytesOut }, { bytesIn: 2, bytesOut: 2 });
  } finally {
    await server.stop();
  }
});
