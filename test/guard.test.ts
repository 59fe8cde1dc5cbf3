/**
 * tcpdiag guard and its plans on real loopback connections: 127.0.0.77 opens 60 connections
 * and sends nothing, 127.0.0.66 beside it talks steadily to the same echo server. guard calls
 * the first attacking and the second normal; guard plan + approval + apply blocks the
 * attacker's new connections (nft table inet tcpdiag_guard on the host's INPUT hook, SYNs from
 * 127.0.0.77 only) while the normal client keeps working; rollback leaves `nft list ruleset`
 * exactly as it was; unapproved, self-approved and edited plans are refused; a ban with a
 * short timeout disappears on time. Root, nft; holds the kernel lock (run through run-tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nftUsable } from './helpers/nft.js';
import type { GuardReport, PlanFile } from '../src/model/guard.js';
import { connectFrom, dropGuardTable, echo, guardCli, guardJson, nft, ruleset, sleep } from './guard-support.js';

const ATTACKER = '127.0.0.77';
const CLIENT = '127.0.0.66';
const IDLE_CONNS = 60;

interface Scenario {
  readonly port: number;
  readonly dir: string;
  /** The normal client's long-lived connection, echoing every 50 ms. */
  readonly steady: net.Socket;
  close(): Promise<void>;
}

async function scenario(): Promise<Scenario> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const held: net.Socket[] = [];
  for (let i = 0; i < IDLE_CONNS; i++) {
    const s = await connectFrom(port, ATTACKER, 3000);
    if (!(s instanceof net.Socket)) throw new Error(`attacker connection ${i}: ${String(s)}`);
    s.on('error', () => undefined);
    held.push(s);
  }
  const steady = await connectFrom(port, CLIENT, 3000);
  if (!(steady instanceof net.Socket)) throw new Error(`client: ${String(steady)}`);
  steady.on('error', () => undefined);
  // The normal client: a steady exchange, bounded to 3 minutes.
  const until = Date.now() + 180_000;
  const timer = setInterval(() => {
    if (Date.now() > until) return clearInterval(timer);
    steady.write(Buffer.alloc(4096, 0x63));
  }, 50);
  steady.on('data', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-guard-'));
  // The attacker's connections must have been idle past guard.idle_s (1 s in these tests).
  await sleep(1500);
  return {
    port,
    dir,
    steady,
    async close() {
      clearInterval(timer);
      for (const s of [...held, steady, ...sockets]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('guard: a source holding idle connections is attacking, a client beside it is normal; plan, approve, apply, rollback', { timeout: 180_000 }, async (t) => {
  const skip = nftUsable();
  if (skip !== null) return t.skip(skip);
  const s = await scenario();
  t.after(async () => {
    dropGuardTable();
    await s.close();
  });
  const data = ['--data', s.dir];

  const report = await guardJson<GuardReport>(['guard', '--port', String(s.port), '--duration', '2s', '--json']);
  const attacker = report.sources.find((x) => x.address === ATTACKER);
  const client = report.sources.find((x) => x.address === CLIENT);
  assert.equal(attacker?.verdict, 'attacking', JSON.stringify(attacker));
  assert.equal(attacker.metrics.idleConnections, IDLE_CONNS);
  assert.equal(attacker.metrics.perListenerMax, IDLE_CONNS);
  assert.match(attacker.reasons.join(' '), /60 idle connections/);
  assert.equal(client?.verdict, 'normal', JSON.stringify(client));
  assert.ok((client.metrics.bytesPerConnection ?? 0) > 4096, 'the client moved data');
  assert.equal(report.flood, null);

  const file = join(s.dir, 'guard.json');
  const made = await guardJson<PlanFile>(['guard', 'plan', '-o', file, '--port', String(s.port), '--duration', '1500ms', '--author', 'bob', '--ban-timeout', '120s', '--json', ...data]);
  assert.deepEqual(made.nft?.bans.map((b) => b.address), [ATTACKER], 'only the attacker is banned');
  assert.equal(made.author, 'bob');
  assert.equal(made.nft?.limits[0]?.port, s.port);
  assert.match(made.nft?.ruleset ?? '', /comment "holds 60 idle connections/);

  // Refused: unapproved, then self-approved; nothing reached the kernel.
  const before = ruleset();
  let r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /is not approved \[TCPDIAG_PLAN_REFUSED\]/);
  r = await guardCli(['plan', 'approve', file, '--by', 'bob', ...data]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /bob wrote plan .* cannot approve it/);
  r = await guardCli(['plan', 'approve', file, '--by', 'alice', ...data]);
  assert.equal(r.code, 0, r.stderr);
  // An approved plan edited afterwards (the ban moved to the normal client) is refused.
  const edited = join(s.dir, 'edited.json');
  const text = readFileSync(file, 'utf8');
  writeFileSync(edited, text.split(ATTACKER).join(CLIENT));
  r = await guardCli(['plan', 'apply', edited, ...data]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /was altered/);
  assert.equal(ruleset(), before, 'refused plans changed nothing');

  // Applied: the attacker's new connections get no SYN-ACK, the client's work.
  r = await guardCli(['plan', 'apply', file, '--json', ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { result: string }).result, 'applied');
  assert.match(nft(['list', 'set', 'inet', 'tcpdiag_guard', 'ban4']).stdout, /127\.0\.0\.77 timeout 2m/);
  assert.equal(await connectFrom(s.port, ATTACKER, 1500), 'timeout', 'the attacker cannot open a new connection');
  const fresh = await connectFrom(s.port, CLIENT, 3000);
  assert.ok(fresh instanceof net.Socket, `the client connects: ${fresh instanceof Error ? fresh.message : "timeout"}`);
  assert.ok(await echo(fresh, 1000), 'and is answered');
  fresh.destroy();
  assert.ok(await echo(s.steady, 1000), 'its open connection keeps working');
  const dropped = nft(['list', 'chain', 'inet', 'tcpdiag_guard', 'input']).stdout;
  assert.match(dropped, /@ban4 counter packets [1-9]\d* bytes \d+ drop/, 'the ban rule counted the dropped SYNs');

  // Again: re-asserted, same ban, no second saved state.
  r = await guardCli(['plan', 'apply', file, '--json', ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { result: string }).result, 'reasserted');
  assert.match(nft(['list', 'set', 'inet', 'tcpdiag_guard', 'ban4']).stdout, /127\.0\.0\.77/);

  r = await guardCli(['plan', 'rollback', '--json', ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { result: string }).result, 'rolled-back');
  assert.equal(ruleset(), before, 'nft list ruleset is exactly as before apply');
  r = await guardCli(['plan', 'rollback', made.id, '--json', ...data]);
  assert.equal((JSON.parse(r.stdout) as { result: string }).result, 'unchanged');
  const again = await connectFrom(s.port, ATTACKER, 3000);
  assert.ok(again instanceof net.Socket, 'after rollback the attacker connects again');
  again.destroy();

  const audit = readFileSync(join(s.dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; result: string; who: string });
  assert.deepEqual(audit.map((a) => `${a.action}:${a.result}`), [
    'create:ok', 'apply:refused', 'approve:refused', 'approve:ok', 'apply:refused', 'apply:ok', 'reassert:ok', 'rollback:ok', 'rollback:unchanged',
  ]);
  assert.ok(audit.every((a) => a.who === 'tester'));
});

test('guard plan: a ban with a short timeout disappears on time, by itself', { timeout: 120_000 }, async (t) => {
  const skip = nftUsable();
  if (skip !== null) return t.skip(skip);
  const s = await scenario();
  t.after(async () => {
    dropGuardTable();
    await s.close();
  });
  const data = ['--data', s.dir];
  const file = join(s.dir, 'short.json');
  await guardJson<PlanFile>(['guard', 'plan', '-o', file, '--port', String(s.port), '--duration', '1500ms', '--author', 'bob', '--ban-timeout', '3s', '--json', ...data]);
  let r = await guardCli(['plan', 'approve', file, '--by', 'carol', ...data]);
  assert.equal(r.code, 0, r.stderr);
  const before = ruleset();
  r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 0, r.stderr);
  const appliedAt = Date.now();
  assert.match(nft(['list', 'set', 'inet', 'tcpdiag_guard', 'ban4']).stdout, /127\.0\.0\.77/);
  assert.equal(await connectFrom(s.port, ATTACKER, 1000), 'timeout');
  // The element's timeout runs out 3 s after apply; the kernel stops matching it then.
  await sleep(Math.max(0, appliedAt + 3300 - Date.now()));
  assert.doesNotMatch(nft(['list', 'set', 'inet', 'tcpdiag_guard', 'ban4']).stdout, /127\.0\.0\.77/, 'the ban expired');
  const back = await connectFrom(s.port, ATTACKER, 3000);
  assert.ok(back instanceof net.Socket, `the source connects again: ${back instanceof Error ? back.message : "timeout"}`);
  back.destroy();
  // Re-applying after expiry does not bring an expired ban back.
  r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0 of 1 bans still due/);
  assert.doesNotMatch(nft(['list', 'set', 'inet', 'tcpdiag_guard', 'ban4']).stdout, /127\.0\.0\.77/);
  r = await guardCli(['plan', 'rollback', ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(ruleset(), before);
});
