/**
 * tcpdiag fault end to end (root): the rule is in the kernel while the command runs, it really
 * drops packets, and the table is gone after the command ends, however it ends (duration,
 * SIGTERM, SIGINT, SIGKILL + fault clear).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { runCli } from './helpers/cli.js';
import { startCli } from './helpers/long-running.js';
import { guardsOf, killAndWait } from './helpers/owned.js';
import { isRoot, findExecutable } from '../src/platform/capabilities.js';

function whyNot(): string | null {
  if (!isRoot()) return 'needs root: nftables';
  if (findExecutable('nft') === null) return 'needs nft (apt-get install -y nftables)';
  return null;
}

function tableExists(name: string): boolean {
  return spawnSync('nft', ['list', 'table', 'inet', name], { stdio: 'ignore' }).status === 0;
}

function tableText(name: string): string {
  return spawnSync('nft', ['list', 'table', 'inet', name], { encoding: 'utf8' }).stdout;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function tryConnect(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? 'error');
    });
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`the fault table is gone after ${signal}`, async (t) => {
    const why = whyNot();
    if (why !== null) return t.skip(why);
    const port = await freePort();
    const fault = startCli(['fault', 'loss', '--port', String(port), '--percent', '30', '--duration', '60s']);
    const table = `tcpdiag_fault_${fault.child.pid}`;
    try {
      await fault.waitFor(/^installed loss 30% on tcp port \d+ in nft table inet tcpdiag_fault_\d+/m);
      assert.ok(tableExists(table), `${table} is installed while the command runs`);
      assert.match(tableText(table), new RegExp(`meta l4proto @lease tcp dport ${port} numgen random mod 100 < 30 counter packets \\d+ bytes \\d+ drop`));
      assert.match(tableText(table), /hook input/);
      const exit = await fault.stop(signal);
      assert.notEqual(exit.signal, 'SIGKILL', 'exited on its own');
      assert.equal(tableExists(table), false, `${table} removed after ${signal}`);
      assert.match(fault.stdout(), /removed nft table inet tcpdiag_fault_\d+ .*\(signal\)/);
    } finally {
      spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    }
  });
}

test('synack-drop really drops SYN-ACKs while it runs, then the port answers again', async (t) => {
  const why = whyNot();
  if (why !== null) return t.skip(why);
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const fault = startCli(['fault', 'synack-drop', '--port', String(port), '--duration', '60s', '--json']);
  const table = `tcpdiag_fault_${fault.child.pid}`;
  try {
    const installed = JSON.parse((await fault.waitFor(/^\{"type":"installed".*$/m))[0]) as { table: string; percent: number };
    assert.equal(installed.table, `inet ${table}`);
    assert.equal(installed.percent, 100);
    assert.equal(await tryConnect(port, 1200), 'timeout');
    await fault.stop('SIGTERM');
    const removed = JSON.parse(fault.stdout().trim().split('\n').at(-1) ?? '{}') as { type: string; droppedPackets: number; removed: boolean };
    assert.equal(removed.type, 'removed');
    assert.equal(removed.removed, true);
    assert.ok(removed.droppedPackets >= 1, `dropped ${removed.droppedPackets} SYN-ACKs`);
    assert.equal(tableExists(table), false);
    assert.equal(await tryConnect(port, 2000), 'connected');
  } finally {
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    server.close();
  }
});

test('the fault ends by itself after --duration and removes its table', async (t) => {
  const why = whyNot();
  if (why !== null) return t.skip(why);
  const port = await freePort();
  const started = Date.now();
  const result = await runCli(['fault', 'loss', '--port', String(port), '--percent', '10', '--duration', '700ms', '--json'], { timeoutMs: 15_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(Date.now() - started >= 700);
  const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; table?: string; endedBy?: string });
  assert.deepEqual(lines.map((l) => l.type), ['installed', 'removed']);
  assert.equal(lines[1]?.endedBy, 'duration');
  assert.equal(tableExists(String(lines[0]?.table).replace('inet ', '')), false);
});

test('fault list shows a stale table left by SIGKILL and fault clear --stale removes only ours', async (t) => {
  const why = whyNot();
  if (why !== null) return t.skip(why);
  const port = await freePort();
  const fault = startCli(['fault', 'loss', '--port', String(port), '--percent', '5']);
  const table = `tcpdiag_fault_${fault.child.pid}`;
  const foreign = `tcpdiag_test_foreign_${process.pid}`;
  spawnSync('nft', ['add', 'table', 'inet', foreign]);
  try {
    await fault.waitFor(/^installed loss/m);
    // kill -9 of tcpdiag and of its guard (which would delete the table at once) gives no
    // chance to clean up: the table stays, and list calls it stale.
    await killAndWait(guardsOf(fault.child.pid!).map((g) => g.pid));
    await fault.stop('SIGKILL');
    assert.ok(tableExists(table));
    const list = await runCli(['fault', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const entry = (JSON.parse(list.stdout) as Array<{ table: string; ownerAlive: boolean; rules: string[] }>).find((e) => e.table === table);
    assert.ok(entry, `${table} listed`);
    assert.equal(entry.ownerAlive, false);
    assert.equal(entry.rules.length, 2);
    assert.ok(!list.stdout.includes(foreign), 'foreign tables are not listed');
    const clear = await runCli(['fault', 'clear', '--stale', '--json']);
    assert.ok((JSON.parse(clear.stdout) as { removed: string[] }).removed.includes(table));
    assert.equal(tableExists(table), false);
    assert.equal(tableExists(foreign), true, 'a table tcpdiag did not install is left alone');
  } finally {
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    spawnSync('nft', ['delete', 'table', 'inet', foreign], { stdio: 'ignore' });
  }
});

test('fault rejects a percent outside 1-100 before touching nft', async () => {
  const result = await runCli(['fault', 'loss', '--port', '80', '--percent', '0']);
  assert.equal(result.code, 2);
  const missing = await runCli(['fault', 'loss', '--port', '80']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /needs --percent/);
});
