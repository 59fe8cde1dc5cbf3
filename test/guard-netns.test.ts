/**
 * tcpdiag guard and tune plans inside network namespaces the test creates and removes:
 * - a hping3 --rand-source SYN flood in namespace B against a listener in namespace A, joined by
 *   their own veth pair and nothing else (no interface of either reaches the host; B drops the
 *   SYN-ACKs addressed to the forged sources, since it does not forward), is classified as
 *   spoofed, and its plan proposes SYN cookies and queue settings, not bans; applied and rolled
 *   back in A only;
 * - a tune plan from a namespace whose ephemeral ports are held in TIME_WAIT (a narrow
 *   ip_local_port_range, tcp_tw_reuse=0) changes those namespace-local sysctls and its sysctl.d
 *   file (in a temporary directory), and rollback leaves every sysctl as it was.
 * Root, ip, hping3, nft; holds the kernel lock (run through run-tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, actor, rootSkipReason, startProcess } from './diagnose-support.js';
import type { GuardReport, PlanFile } from '../src/model/guard.js';
import { guardCli, guardJson, ruleset } from './guard-support.js';

/** Every net.* sysctl of a namespace (or the host), minus the ones that move on their own. */
function netSysctls(exec: readonly string[]): Map<string, string> {
  const r = spawnSync(exec.length === 0 ? 'sysctl' : exec[0]!, exec.length === 0 ? ['-a'] : [...exec.slice(1), 'sysctl', '-a'], { encoding: 'utf8' });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(net\.[^ ]+) = (.*)$/.exec(line);
    // Counters and hash seeds are state, not settings.
    if (m !== null && !/nf_conntrack_count|stable_secret|\.base_reachable_time|^net\.netfilter\.nf_conntrack_buckets/.test(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).map((k) => `${k}: ${a.get(k)} -> ${b.get(k)}`);
}

test('a --rand-source SYN flood in an isolated pair of namespaces is spoofed, and its plan proposes SYN cookies, not bans', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'hping3', 'nft', 'timeout');
  if (skip !== null) return t.skip(skip);
  const a = Netns.create(t, 'gflood-a');
  const b = Netns.create(t, 'gflood-b');
  const va = `tga${process.pid % 100000}`;
  const vb = `tgb${process.pid % 100000}`;
  // The veth pair is created inside A with its peer moved to B: no end is ever in the host's namespace.
  spawnSync('ip', ['-n', a.name, 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb, 'netns', b.name]);
  a.ip('addr', 'add', '10.203.0.1/24', 'dev', va);
  a.ip('link', 'set', va, 'up');
  b.ip('addr', 'add', '10.203.0.2/24', 'dev', vb);
  b.ip('link', 'set', vb, 'up');
  // A answers the forged sources through B, which drops them: B has no other interface and
  // does not forward (net.ipv4.ip_forward is 0 in a new namespace).
  a.ip('route', 'add', 'default', 'via', '10.203.0.2');
  a.sysctl('net.ipv4.tcp_syncookies', '0');
  const forwarding = spawnSync('ip', ['netns', 'exec', b.name, 'sysctl', '-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(forwarding, '0', 'B must not forward the SYN-ACKs anywhere');
  const server = await actor(t, ['serve', '8080', '--host', '10.203.0.1'], a);
  await server.waitFor(/^ready 8080/m);
  const hostBefore = netSysctls([]);
  const aBefore = netSysctls(a.exec);
  const rulesetBefore = ruleset(a.exec);

  // Bounded twice: 8000 SYNs at one per 500 us (4 s), and timeout kills it at 12 s.
  const flood = await startProcess(t, [...b.exec, 'timeout', '12', 'hping3', '-q', '-S', '-p', '8080', '--rand-source', '-i', 'u500', '-c', '8000', '10.203.0.1']);
  flood.child.stderr.on('data', () => undefined);
  await new Promise((r) => setTimeout(r, 500));
  const report = await guardJson<GuardReport>(['guard', '-N', a.name, '--port', '8080', '--duration', '1500ms', '--json']);
  assert.equal(report.flood?.kind, 'spoofed', JSON.stringify(report.flood));
  assert.ok(report.flood.sources >= 32, `${report.flood.sources} sources`);
  assert.ok(report.flood.seenOnceShare >= 0.8);
  assert.equal(report.sources.filter((s) => s.verdict === 'attacking').length, 0, 'no single forged address is an attacker');

  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-gflood-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = ['--data', dir];
  const file = join(dir, 'flood.json');
  const plan = await guardJson<PlanFile>(['guard', 'plan', '-N', a.name, '-o', file, '--port', '8080', '--duration', '1500ms', '--author', 'bob', '--json', ...data]);
  await flood.stop();
  assert.equal(plan.nft, null, 'no bans, no limits');
  assert.deepEqual(plan.sysctls.find((s) => s.name === 'net.ipv4.tcp_syncookies')?.value, '1');
  assert.ok(plan.sysctls.some((s) => s.name === 'net.ipv4.tcp_synack_retries'));
  assert.equal(plan.netns?.name, a.name);

  let r = await guardCli(['plan', 'approve', file, '--by', 'alice', ...data]);
  assert.equal(r.code, 0, r.stderr);
  r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 0, r.stderr);
  const aApplied = netSysctls(a.exec);
  assert.equal(aApplied.get('net.ipv4.tcp_syncookies'), '1');
  assert.equal(aApplied.get('net.ipv4.tcp_synack_retries'), '2');
  assert.deepEqual(diff(hostBefore, netSysctls([])), [], 'the host\'s sysctls did not change');
  r = await guardCli(['plan', 'rollback', ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(diff(aBefore, netSysctls(a.exec)), [], 'every sysctl of A is as it was');
  assert.equal(ruleset(a.exec), rulesetBefore);
});

test('a tune plan from a namespace short of ports is applied and rolled back, leaving every sysctl as it was', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'gtune');
  ns.sysctl('net.ipv4.ip_local_port_range', '40000 40099');
  ns.sysctl('net.ipv4.tcp_tw_reuse', '0');
  const server = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const port = (await server.waitFor(/^ready (\d+)/m))[1]!;
  // 90 connections closed by the client: 90 of its 100 ports wait out TIME_WAIT (60 s).
  const client = await actor(t, ['connect-loop', '127.0.0.1', port, '90'], ns);
  await client.waitFor(/^done 90/m, 30_000);

  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-gtune-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = ['--data', dir];
  const before = netSysctls(ns.exec);
  const hostBefore = netSysctls([]);
  const file = join(dir, 'tune.json');
  const plan = await guardJson<PlanFile>(['tune', 'plan', '-N', ns.name, '-o', file, '--duration', '1s', '--no-events', '--persist', '--persist-dir', dir, '--author', 'bob', '--json', ...data]);
  const names = plan.sysctls.map((s) => s.name).sort();
  assert.deepEqual(names, ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse'], JSON.stringify(plan.summary));
  for (const s of plan.sysctls) {
    assert.ok(s.current !== null && s.reason.length > 0 && s.whenNot.length > 0, JSON.stringify(s));
  }
  assert.equal(plan.persist?.path, join(dir, `90-tcpdiag-${plan.id}.conf`));

  let r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 3, 'unapproved');
  r = await guardCli(['plan', 'approve', file, '--by', 'alice', ...data]);
  assert.equal(r.code, 0, r.stderr);
  r = await guardCli(['plan', 'apply', file, ...data]);
  assert.equal(r.code, 0, r.stderr);
  const applied = netSysctls(ns.exec);
  for (const s of plan.sysctls) assert.equal(applied.get(s.name)?.replace(/\s+/g, ' '), s.value, s.name);
  assert.match(readFileSync(plan.persist?.path ?? "", 'utf8'), /^net\.ipv4\.tcp_tw_reuse = 1$/m);
  assert.deepEqual(diff(hostBefore, netSysctls([])), [], 'the host\'s sysctls did not change');

  r = await guardCli(['plan', 'rollback', plan.id, ...data]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(diff(before, netSysctls(ns.exec)), [], 'every sysctl is back');
  assert.equal(existsSync(plan.persist?.path ?? ""), false, 'the sysctl.d file is gone');
  r = await guardCli(['plan', 'rollback', plan.id, '--json', ...data]);
  assert.equal((JSON.parse(r.stdout) as { result: string }).result, 'unchanged');
});
