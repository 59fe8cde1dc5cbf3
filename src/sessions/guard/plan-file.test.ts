import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlanRefusedError } from '../../errors.js';
import type { GuardReport } from '../../model/guard.js';
import type { Finding } from '../../model/finding.js';
import { alteration, approve, canonicalJson, checkApplicable, readPlan, writePlan } from './plan-file.js';
import { makeGuardPlan, makeTunePlan } from './make-plan.js';
import { guardRuleset, safeComment } from './ruleset.js';

const NOW = Date.UTC(2026, 11, 1, 18, 0, 0);

const REPORT: GuardReport = {
  window: { startMs: NOW - 10_000, endMs: NOW, durationMs: 10_000, snapshots: 40 },
  flood: null,
  issues: [],
  sources: [
    { address: '127.0.0.77', family: 4, verdict: 'attacking', reasons: ['holds 60 idle connections'], listeners: ['127.0.0.1:8080'], allowlisted: false, metrics: { synPerS: 6, connections: 60, newConnections: 60, completed: 60, halfOpenOnly: 0, completionRatio: 1, halfOpenMax: 0, concurrentMax: 60, perListenerMax: 60, busiestListener: '127.0.0.1:8080', lifetimeMsMedian: 9000, bytesPerConnection: 0, idleMsMedian: 9000, idleConnections: 60 } },
    { address: '127.0.0.1', family: 4, verdict: 'normal', reasons: ['nothing abnormal'], listeners: ['127.0.0.1:8080'], allowlisted: false, metrics: { synPerS: 1, connections: 10, newConnections: 10, completed: 10, halfOpenOnly: 0, completionRatio: 1, halfOpenMax: 0, concurrentMax: 2, perListenerMax: 2, busiestListener: '127.0.0.1:8080', lifetimeMsMedian: 20, bytesPerConnection: 5000, idleMsMedian: 1, idleConnections: 0 } },
  ],
};

const OPTIONS = { author: 'bob', nowMs: NOW, expiresInMs: 3_600_000, netns: null, dryRun: false, banTimeoutMs: 600_000, minConnectionsPerSource: 20, minSynPerSecondPerSource: 20, sysctls: {} };

test('the hash does not depend on key order or formatting', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  const plan = makeGuardPlan(REPORT, OPTIONS);
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-plan-'));
  try {
    const path = join(dir, 'p.json');
    writeFileSync(path, JSON.stringify(plan));
    assert.equal(alteration(readPlan(path)), null);
    writePlan(path, plan);
    assert.equal(alteration(readPlan(path)), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a guard plan bans the attacker with a timeout, limits the listener above what normal clients used, and comments each rule', () => {
  const plan = makeGuardPlan(REPORT, OPTIONS);
  assert.match(plan.id, /^guard-20261201T180000Z-[0-9a-f]{6}$/);
  assert.deepEqual(plan.nft?.bans.map((b) => [b.address, b.timeoutMs]), [['127.0.0.77', 600_000]]);
  assert.deepEqual(plan.nft?.limits.map((l) => [l.port, l.maxConnectionsPerSource, l.synPerSecondPerSource]), [[8080, 20, 20]]);
  assert.match(plan.nft?.ruleset ?? '', /elements = \{ 127\.0\.0\.77 timeout 600000ms comment "holds 60 idle connections" \}/);
  assert.match(plan.nft?.ruleset ?? '', /tcp flags & \(syn \| ack\) == syn ip saddr @ban4 counter drop comment/);
  assert.match(plan.nft?.ruleset ?? '', /add @conn4_8080 \{ ip saddr ct count over 20 \} counter drop/);
  assert.ok(plan.undo.some((u) => /tcpdiag_guard/.test(u)));
  assert.equal(plan.sysctls.length, 0);
});

test('a dry-run plan counts and never drops', () => {
  const plan = makeGuardPlan(REPORT, { ...OPTIONS, dryRun: true });
  assert.doesNotMatch(plan.nft?.ruleset ?? '', /drop comment/);
  assert.match(plan.nft?.ruleset ?? '', /@ban4 counter comment "dry run, would drop/);
});

test('a spoofed flood gets SYN cookies and queue settings, never bans', () => {
  const report: GuardReport = { ...REPORT, sources: [], flood: { kind: 'spoofed', reasons: [], sources: 200, seenOnceShare: 1, halfOpenMax: 256, completionRatio: 0, synPerS: 900, syncookiesSent: 10, reqQueueFullDrops: 0, listenOverflows: 0, listeners: ['10.0.0.1:80'] } };
  const plan = makeGuardPlan(report, { ...OPTIONS, sysctls: { 'net.ipv4.tcp_syncookies': '0', 'net.ipv4.tcp_max_syn_backlog': '128', 'net.ipv4.tcp_synack_retries': '5' } });
  assert.equal(plan.nft, null);
  assert.deepEqual(plan.sysctls.map((s) => [s.name, s.current, s.value]), [
    ['net.ipv4.tcp_syncookies', '0', '1'],
    ['net.ipv4.tcp_max_syn_backlog', '128', '4096'],
    ['net.ipv4.tcp_synack_retries', '5', '2'],
  ]);
  assert.ok(plan.sysctls.every((s) => s.whenNot.length > 0 && s.reason.includes('spoofed')));
});

test('apply refuses unapproved, self-approved, expired and edited plans, each with its reason', () => {
  const plan = makeGuardPlan(REPORT, OPTIONS);
  const refused = (p: typeof plan, at: number, pattern: RegExp) =>
    assert.throws(() => checkApplicable(p, at), (e: unknown) => e instanceof PlanRefusedError && e.exitCode === 3 && pattern.test(e.message));
  refused(plan, NOW, /not approved/);
  refused(approve(plan, 'bob', 'bob', NOW), NOW, /own author/);
  const approved = approve(plan, 'alice', 'alice', NOW);
  checkApplicable(approved, NOW + 1000);
  refused(approved, NOW + 3_600_001, /expired/);
  const edited = { ...approved, nft: { ...approved.nft!, ruleset: approved.nft!.ruleset.replace('127.0.0.77', '127.0.0.1') } };
  refused(edited, NOW, /altered/);
  // Resealing the edit (a new hash) still does not carry the old approval.
  const resealed = { ...edited, hash: makeGuardPlan(REPORT, OPTIONS).hash };
  refused(resealed, NOW, /altered|changed after/);
});

test('a tune plan takes each sysctl advice once, with current and new value, reason and when not to apply; persistence names its file', () => {
  const finding = (id: string, name: string, current: string, suggested: string): Finding => ({
    id, severity: 'warning', title: `${id} fired`, subject: name, explanation: '', evidence: {}, source: 'diagnose', atMs: NOW,
    advice: [{ text: 'do it', command: `sysctl -w ${name}=${/\s/.test(suggested) ? `"${suggested}"` : suggested}`, current, suggested }],
  });
  const findings = [
    finding('sysctl-tcp_tw_reuse', 'net.ipv4.tcp_tw_reuse', '0', '1'),
    finding('sysctl-ip_local_port_range', 'net.ipv4.ip_local_port_range', '40000 40100', '10000 65000'),
    finding('port-exhaustion', 'net.ipv4.tcp_tw_reuse', '0', '1'),
    finding('fd-exhaustion', 'fs.file-max', '1000', '100000'),
  ];
  const host = makeTunePlan(findings, { author: 'bob', nowMs: NOW, expiresInMs: 1000, netns: null, persistDir: '/tmp/x' });
  assert.deepEqual(host.sysctls.map((s) => [s.name, s.current, s.value, s.finding]), [
    ['net.ipv4.tcp_tw_reuse', '0', '1', 'sysctl-tcp_tw_reuse'],
    ['net.ipv4.ip_local_port_range', '40000 40100', '10000 65000', 'sysctl-ip_local_port_range'],
    ['fs.file-max', '1000', '100000', 'fd-exhaustion'],
  ]);
  assert.match(host.sysctls[0]!.whenNot, /timestamps/);
  assert.equal(host.persist?.path, `/tmp/x/90-tcpdiag-${host.id}.conf`);
  assert.match(host.persist?.content ?? '', /^net\.ipv4\.ip_local_port_range = 10000 65000$/m);
  assert.ok(host.commands.includes('sysctl -w net.ipv4.ip_local_port_range="10000 65000"'));
  const ns = makeTunePlan(findings, { author: 'bob', nowMs: NOW, expiresInMs: 1000, netns: { path: '/run/netns/x', name: 'x' }, persistDir: null });
  assert.deepEqual(ns.sysctls.map((s) => s.name), ['net.ipv4.tcp_tw_reuse', 'net.ipv4.ip_local_port_range'], 'a namespace plan keeps its own net.* only');
  assert.ok(ns.commands[0]?.startsWith('nsenter --net=/run/netns/x -- sysctl -w'));
});

test('nothing in an address or evidence can inject nft syntax', () => {
  assert.equal(safeComment('a"; flush ruleset; {x}\n'), 'a flush ruleset x');
  assert.throws(() => guardRuleset({ planId: 'p', dryRun: false, limits: [], bans: [{ address: '1.2.3.4 }; flush ruleset; {', family: 4, timeoutMs: 1, remainingMs: 1, evidence: '' }] }), /not an IPv4 address/);
  const text = guardRuleset({ planId: 'p', dryRun: false, limits: [], bans: [{ address: '1.2.3.4', family: 4, timeoutMs: 1000, remainingMs: -5, evidence: 'x' }] });
  assert.doesNotMatch(text, /1\.2\.3\.4/, 'an expired ban is left out');
});

test('a plan file that is not a plan is refused in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-plan-'));
  try {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"format":"other"}');
    assert.throws(() => readPlan(path), /format is not "tcpdiag-plan\/1"/);
    writeFileSync(path, 'not json');
    assert.throws(() => readPlan(path), /not JSON/);
    const plan = makeGuardPlan(REPORT, OPTIONS);
    writePlan(path, plan);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).hash, plan.hash);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
