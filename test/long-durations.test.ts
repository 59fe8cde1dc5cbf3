/**
 * Durations of 2^31 ms (24.8 days) or more: Node's setTimeout fires those after 1 ms, which
 * removed `fault loss --duration 9999h`'s rule at once and stopped `capture -d 600h` at once.
 * Both must keep running (root: nft, tcpdump; run under the kernel lock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { findExecutable, isRoot } from '../src/platform/capabilities.js';
import { startCli, sleep } from './helpers/long-running.js';

const FAULT_SKIP = !isRoot() ? 'needs root (nftables)' : findExecutable('nft') === null ? 'needs nft (apt-get install -y nftables)' : false;
const CAPTURE_SKIP = !isRoot() ? 'needs root (tcpdump)' : findExecutable('tcpdump') === null ? 'needs tcpdump (apt-get install -y tcpdump)' : false;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const tableExists = (name: string): boolean => spawnSync('nft', ['list', 'table', 'inet', name], { stdio: 'ignore' }).status === 0;

test('fault loss --duration 9999h keeps its rule instead of removing it at once', { skip: FAULT_SKIP }, async () => {
  const port = await freePort();
  const fault = startCli(['fault', 'loss', '--port', String(port), '--percent', '1', '--duration', '9999h']);
  const table = `tcpdiag_fault_${fault.child.pid}`;
  try {
    await fault.waitFor(/^installed loss 1% on tcp port \d+ .* for 9999 h \(Ctrl-C ends it sooner\)/m);
    await sleep(1500);
    assert.ok(tableExists(table), 'the rule is still in place 1.5 s later');
    assert.equal(fault.child.exitCode, null, 'still running');
    await fault.stop('SIGTERM');
    assert.equal(tableExists(table), false, 'removed once stopped');
    assert.match(fault.stdout(), /\(signal\)/);
  } finally {
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
  }
});

test('capture --duration 600h keeps capturing instead of stopping at once', { skip: CAPTURE_SKIP }, async () => {
  const port = await freePort();
  const capture = startCli(['capture', '-i', 'lo', '-q', '--duration', '600h', 'tcp', 'port', String(port)]);
  try {
    await eventuallyStarted(() => capture.stderr());
    await sleep(1500);
    assert.equal(capture.child.exitCode, null, `still running: ${capture.stderr()}`);
    const exit = await capture.stop('SIGINT');
    assert.equal(exit.code, 0, capture.stderr());
    assert.match(capture.stderr(), /stopped by signal/);
  } finally {
    capture.child.kill('SIGKILL');
  }
});

async function eventuallyStarted(stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (stderr().includes('capturing on')) return;
    await sleep(50);
  }
  assert.fail(`capture did not start: ${stderr()}`);
}
