/**
 * The agent's WebSocket stream against a real `tcpdiag serve` (with a token) inside a private
 * network namespace, read by a real ws client in the same namespace: the token rule (header or
 * subprotocol), the kind filter, samples once a second whose CLOSE_WAIT count is ss's, each
 * arriving within 1 s of its timestamp, and the CLOSE_WAIT alert as it fires.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { Netns, actor, rootSkipReason, startProcess, tcpdiagProcess } from './diagnose-support.js';
import type { Proc } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { ssCount, until } from './serve-support.js';
import { REPO_ROOT } from './helpers/cli.js';
import type { StreamFrame } from '../src/model/stream-wire.js';

const WS_CLIENT = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'programs', 'ws-client.js');
const LEAK = 4;
const CONFIG = `[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n[alerts]\nstate_file = ""\n[alerts.rules.close-wait-leak]\nmetric = "close_wait"\nthreshold = ${LEAK - 1}\nfor_s = 1\nkeep_firing_for_s = 1\nseverity = "P2"\nsummary = "sockets left in CLOSE_WAIT"\n`;

interface Line {
  readonly refused?: number;
  readonly open?: string;
  readonly receivedMs?: number;
  readonly frame?: StreamFrame;
}

async function client(t: Parameters<typeof startProcess>[0], ns: Netns, args: readonly string[]): Promise<{ proc: Proc; lines: () => Line[] }> {
  const proc = await startProcess(t, [process.execPath, WS_CLIENT, ...args], ns);
  let text = '';
  proc.child.stdout.on('data', (d: string) => (text += d));
  return { proc, lines: () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line) };
}

test('the stream of a real serve: token, kinds, samples as ss counts them within 1 s, the alert as it fires', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'stream');
  const dir = tempDir(t, 'stream');
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, CONFIG), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token'], ns);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const ws = `ws://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}/api/v1/stream`;

  const none = await client(t, ns, [ws, '--seconds', '3']);
  const wrong = await client(t, ns, [ws, '--token', 'not-the-token', '--as', 'protocol', '--seconds', '3']);
  await until('both refused', 5000, () => Promise.resolve(none.lines().length > 0 && wrong.lines().length > 0 ? true : undefined));
  assert.deepEqual(none.lines()[0], { refused: 401 });
  assert.deepEqual(wrong.lines()[0], { refused: 401 });

  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const samples = await client(t, ns, [`${ws}?kinds=sample`, '--token', token, '--as', 'protocol', '--seconds', '8']);
  const alerts = await client(t, ns, [`${ws}?kinds=alert`, '--token', token, '--as', 'header', '--seconds', '20']);
  const leak = await actor(t, ['hold', '127.0.0.1', String(port), String(LEAK), '--end'], ns);
  await leak.waitFor(/ready/);
  await until('ss sees the leak', 5000, () => Promise.resolve(ssCount(ns, 'close-wait') === LEAK ? true : undefined));
  const leakAtMs = Date.now();

  await until('the alert', 20_000, () => Promise.resolve(alerts.lines().some((l) => l.frame?.kind === 'alert') ? true : undefined));
  const alert = alerts.lines().find((l) => l.frame?.kind === 'alert')!;
  assert.ok(alert.frame?.kind === 'alert' && alert.frame.transition.rule === 'close-wait-leak' && alert.frame.transition.status === 'firing');
  assert.ok(alerts.lines().every((l) => l.frame === undefined || l.frame.kind === 'alert' || l.frame.kind === 'hello'), 'only the kinds asked for');
  console.log(`alert on the stream ${alert.receivedMs! - alert.frame.atMs} ms after its timestamp`);

  await samples.proc.waitFor(/"receivedMs"[\s\S]*"receivedMs"[\s\S]*"receivedMs"[\s\S]*"receivedMs"/, 10_000);
  const got = samples.lines();
  assert.deepEqual(got[0], { open: 'tcpdiag.v1' });
  const s = got.filter((l) => l.frame?.kind === 'sample');
  assert.ok(s.every((l) => l.frame?.kind === 'sample'));
  const latencies = s.map((l) => l.receivedMs! - l.frame!.atMs);
  console.log(`${s.length} samples, latency (bus timestamp -> client) max ${Math.max(...latencies)} ms`);
  assert.ok(Math.max(...latencies) < 1000);
  const after = s.filter((l) => l.frame!.atMs > leakAtMs + 100);
  assert.ok(after.length > 0, 'samples after the leak');
  for (const l of after) assert.equal(l.frame?.kind === 'sample' ? l.frame.states.CLOSE_WAIT : -1, LEAK, 'CLOSE_WAIT as ss counts it');
});
