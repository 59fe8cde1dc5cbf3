/**
 * Change plans through the agent's API, inside a network namespace the test creates: a real
 * tune plan (`tcpdiag tune plan -N NS`, a namespace short of ephemeral ports), listed, shown
 * and approved over HTTP (token, agent.actions "approve"), then applied and rolled back by the
 * CLI (`tcpdiag plan apply` accepts the agent's approval), the namespace's sysctls checked at
 * each step. Refused as JSON errors with code and hint: a self-approval, an edited plan, an
 * empty name, a request without the token, and any approval by an agent without the action.
 * Root, ip, curl; holds the kernel lock (run through run-tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, actor, rootSkipReason } from './diagnose-support.js';
import { startAgent } from './serve-support.js';
import { guardCli, guardJson } from './guard-support.js';
import type { PlanFile } from '../src/model/guard.js';

const TOKEN = 'plans-test-token-0123456789';

interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown> & { error?: { code: string; message: string; hint: string | null } };
}

/** curl inside the namespace; the answer's status and JSON body. */
function call(ns: Netns, method: string, url: string, body?: unknown, token: string | null = TOKEN): Reply {
  const args = ['-sS', '-X', method, '-w', '\n%{http_code}', ...(token === null ? [] : ['-H', `Authorization: Bearer ${token}`])];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'curl', ...args, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl ${method} ${url} failed: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), json: JSON.parse(r.stdout.slice(0, cut)) as Reply['json'] };
}

function sysctl(ns: Netns, name: string): string {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'sysctl', '-n', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sysctl ${name}: ${r.stderr}`);
  return r.stdout.trim().replace(/\s+/g, ' ');
}

function refused(r: Reply, status: number, code: string, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error?.code, code);
  assert.match(r.json.error?.message ?? '', message);
  assert.ok((r.json.error?.hint ?? '').length > 0, 'every refusal has a hint');
}

test('a tune plan is listed, shown and approved through the agent, then applied and rolled back by the CLI; self-approval and an edited plan are refused', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'curl');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'splans');
  ns.sysctl('net.ipv4.ip_local_port_range', '40000 40099');
  ns.sysctl('net.ipv4.tcp_tw_reuse', '0');
  const server = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const port = (await server.waitFor(/^ready (\d+)/m))[1]!;
  // 90 connections the client closes first: 90 of its 100 ports wait in TIME_WAIT (60 s).
  await (await actor(t, ['connect-loop', '127.0.0.1', port, '90'], ns)).waitFor(/^done 90/m, 30_000);

  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-splans-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const plans = join(dir, 'plans');
  const data = join(dir, 'guard');
  const tune = (file: string) => guardJson<PlanFile>(['tune', 'plan', '-N', ns.name, '-o', join(plans, file), '--duration', '1s', '--no-events', '--author', 'bob', '--json', '--data', data]);
  spawnSync('mkdir', ['-p', plans]);
  const plan = await tune('tune.json');
  assert.deepEqual(plan.sysctls.map((s) => s.name).sort(), ['net.ipv4.ip_local_port_range', 'net.ipv4.tcp_tw_reuse'], JSON.stringify(plan.summary));
  const before = new Map(plan.sysctls.map((s) => [s.name, sysctl(ns, s.name)]));
  // A second plan, edited after it was written (a reviewer's "small fix").
  const edited = await tune('edited.json');
  const text = readFileSync(join(plans, 'edited.json'), 'utf8');
  writeFileSync(join(plans, 'edited.json'), text.replace(/"value": "1"/, '"value": "2"'));
  assert.notEqual(readFileSync(join(plans, 'edited.json'), 'utf8'), text, 'the edit changed the file');

  const config = join(dir, 'agent.conf');
  writeFileSync(config, `[agent]\ntoken = "${TOKEN}"\nplans_dir = "${plans}"\nactions = ["approve"]\n[guard]\ndata_dir = "${data}"\n`);
  const agent = await startAgent(t, ns, join(dir, 'agent'), config);
  const api = `${agent.url}/api/v1/plans`;

  refused(call(ns, 'GET', api, undefined, null), 401, 'TCPDIAG_UNAUTHORIZED', /token/);
  const listed = call(ns, 'GET', api);
  assert.equal(listed.status, 200, JSON.stringify(listed.json));
  const rows = listed.json.plans as { id: string; status: string; author: string; hash: string; file: string }[];
  assert.deepEqual(rows.map((p) => [p.id, p.status, p.author]).sort(), [[plan.id, 'unapproved', 'bob'], [edited.id, 'altered', 'bob']].sort());
  assert.equal(listed.json.approve, true);

  let shown = call(ns, 'GET', `${api}/show?id=${plan.id}`);
  assert.equal(shown.status, 200, JSON.stringify(shown.json));
  assert.equal(shown.json.hash, plan.hash);
  assert.equal(shown.json.author, 'bob');
  assert.deepEqual((shown.json.plan as PlanFile).sysctls, plan.sysctls, 'the content as the CLI wrote it');
  assert.equal(shown.json.approval, null);

  // Refusals, each a JSON error with its code and hint, each changing nothing.
  refused(call(ns, 'POST', `${api}/approve?id=${plan.id}`, { by: 'bob' }), 409, 'TCPDIAG_PLAN_REFUSED', /bob wrote plan .* cannot approve it/);
  refused(call(ns, 'POST', `${api}/approve?id=${edited.id}`, { by: 'alice' }), 409, 'TCPDIAG_PLAN_REFUSED', /was altered: its content hash is/);
  refused(call(ns, 'POST', `${api}/approve?id=${plan.id}`, { by: '  ' }), 400, 'TCPDIAG_USAGE', /^by: expected a name/);
  refused(call(ns, 'POST', `${api}/approve?id=${plan.id}`, {}), 400, 'TCPDIAG_USAGE', /^by: /);
  refused(call(ns, 'POST', `${api}/approve?id=${plan.id}`, { by: 'alice' }, null), 401, 'TCPDIAG_UNAUTHORIZED', /token/);
  refused(call(ns, 'GET', `${api}/show?id=tune-20990101T000000Z-abcdef`), 404, 'TCPDIAG_NOT_FOUND', /no plan/);
  let r = await guardCli(['plan', 'apply', join(plans, 'tune.json'), '--data', data]);
  assert.equal(r.code, 3, `still unapproved: ${r.stderr}`);

  // An agent without the action refuses to approve at all.
  const closedConfig = join(dir, 'closed.conf');
  writeFileSync(closedConfig, `[agent]\nplans_dir = "${plans}"\n[guard]\ndata_dir = "${data}"\n`);
  const closed = await startAgent(t, ns, join(dir, 'closed'), closedConfig);
  refused(call(ns, 'POST', `${closed.url}/api/v1/plans/approve?id=${plan.id}`, { by: 'alice' }, null), 403, 'TCPDIAG_ACTION_DISABLED', /off on this agent/);
  assert.equal((call(ns, 'GET', `${closed.url}/api/v1/plans/show?id=${plan.id}`, undefined, null).json.status), 'unapproved');
  await closed.proc.stop();

  const approved = call(ns, 'POST', `${api}/approve?id=${plan.id}`, { by: 'alice' });
  assert.equal(approved.status, 200, JSON.stringify(approved.json));
  assert.equal(approved.json.approvedBy, 'alice');
  assert.equal(approved.json.hash, plan.hash);
  assert.equal(approved.json.status, 'approved');
  shown = call(ns, 'GET', `${api}/show?id=${plan.id}`);
  assert.equal(shown.json.status, 'approved');
  const audit = shown.json.audit as { action: string; result: string; by?: string; who: string }[];
  assert.deepEqual(audit.filter((a) => a.action === 'approve').map((a) => [a.result, a.by, a.who]), [['refused', 'bob', 'tcpdiag serve API'], ['ok', 'alice', 'tcpdiag serve API']]);
  for (const s of plan.sysctls) assert.equal(sysctl(ns, s.name), before.get(s.name), `approving changed nothing: ${s.name}`);

  r = await guardCli(['plan', 'apply', join(plans, 'tune.json'), '--data', data]);
  assert.equal(r.code, 0, `the CLI applies the agent's approval: ${r.stderr}`);
  for (const s of plan.sysctls) assert.equal(sysctl(ns, s.name), s.value, `applied: ${s.name}`);
  assert.equal(call(ns, 'GET', `${api}/show?id=${plan.id}`).json.status, 'applied');

  r = await guardCli(['plan', 'rollback', plan.id, '--data', data]);
  assert.equal(r.code, 0, r.stderr);
  for (const s of plan.sysctls) assert.equal(sysctl(ns, s.name), before.get(s.name), `rolled back: ${s.name}`);
  shown = call(ns, 'GET', `${api}/show?id=${plan.id}`);
  assert.equal(shown.json.status, 'rolled-back');
  assert.deepEqual((shown.json.audit as { action: string; result: string }[]).map((a) => `${a.action}:${a.result}`).filter((a) => a !== 'create:ok'),
    ['approve:refused', 'apply:refused', 'approve:ok', 'apply:ok', 'rollback:ok']);
});
