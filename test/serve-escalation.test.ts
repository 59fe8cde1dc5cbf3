/**
 * The agent's detailed tiers end to end, each test with the agent inside a private network
 * namespace: a CLOSE_WAIT leak on a real listener fires the close-wait-growth alert, which
 * escalates to a trace and a capture narrowed to that listener that stop on time, are listed
 * with their reason, download as the pcap written (read back by tcpdump) and carry the analysis
 * `tcpdiag analyze --json` gives on the same file; the loopback ring's minutes before the alert
 * are frozen into a recording; actions are refused unless agent.actions enables them; captures
 * and traces started through the API stop on request and when the agent stops, and a kill -9
 * leaves no tcpdump, tracefs instance or running row behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { Netns } from './diagnose-support.js';
import { Netns as NetnsClass, actor, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { NsHttp, startAgent, until } from './serve-support.js';
import type { Recording } from '../src/model/recording.js';

const FAST = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n';
const DURATION_S = 6;

interface Listing {
  recordings: Recording[];
  escalation: { active: string[]; cooldowns: Record<string, number>; decisions: { outcome: string; reason: string; scope: { kind: string; value: string | null } }[] };
  rings: { interface: string; running: boolean }[];
}

/** curl inside the namespace: the status, the content type and the body as bytes. */
function curl(ns: Netns, args: readonly string[]): { status: number; type: string; body: Buffer } {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'curl', '-sS', '-w', '\n%{http_code} %{content_type}', ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`curl ${args.join(' ')} failed (exit ${r.status}, ${r.error?.message ?? ''}): ${r.stderr.toString()}`);
  const out = r.stdout;
  const cut = out.lastIndexOf(0x0a);
  const [status = '0', type = ''] = out.subarray(cut + 1).toString().split(' ');
  return { status: Number(status), type, body: out.subarray(0, cut) };
}

async function leakyListener(t: test.TestContext, ns: Netns, clients: number): Promise<number> {
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(port), String(clients), '--end'], ns)).waitFor(/ready/);
  return port;
}

/** Every packet tcpdump reads from the file, as its -nn lines. */
function tcpdumpLines(file: string): string[] {
  const r = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

test('a firing alert escalates to a trace and a capture of its listener that stop on time, listed with their reason, downloadable and analysed as tcpdiag analyze does', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'tcpdump', 'curl');
  if (skip !== null) return t.skip(skip);
  const ns = NetnsClass.create(t, 'escal');
  const dir = tempDir(t, 'serve-escalation');
  const data = join(dir, 'data');
  const config = writeConfig(dir, `${FAST}[alerts]\nstate_file = ""\n[alerts.rules.close-wait-growth]\nthreshold = 3\nfor_s = 1\nkeep_firing_for_s = 300\n` +
    `[escalation]\nduration_s = ${DURATION_S}\ntrace_detail = false\nmax_concurrent = 4\ncooldown_s = 600\ncapture_max_mb = 5\n` +
    'ring_interfaces = ["lo"]\nring_before_s = 120\nring_max_mb = 2\nring_file_mb = 0.5\n');
  const agent = await startAgent(t, ns, data, config);
  const http = new NsHttp(t, ns);
  // The ring runs before anything goes wrong, so the leak's handshakes are in it.
  await until('the ring on lo runs', 10_000, async () => ((await http.json<Listing>(`${agent.url}/api/v1/recordings`)).rings[0]?.running === true ? true : undefined));
  const port = await leakyListener(t, ns, 5);
  const scope = `127.0.0.1:${port}`;

  const ours = (l: Listing, kind: string, trigger = 'alert'): Recording | undefined => l.recordings.find((r) => r.kind === kind && r.trigger === trigger && r.scope.value === scope);
  const started = await until('the alert escalates and both record', 20_000, async () => {
    const l = await http.json<Listing>(`${agent.url}/api/v1/recordings`);
    const trace = ours(l, 'trace');
    const capture = ours(l, 'capture');
    return trace?.details.recordingSinceMs !== undefined && capture?.details.recordingSinceMs !== undefined ? { trace, capture } : undefined;
  });
  // Traffic to the listener while both record: three more clients that send and close.
  await (await actor(t, ['hold', '127.0.0.1', String(port), '3', '--send', '200', '--end'], ns)).waitFor(/ready/);

  const ended = await until('both stop', 20_000, async () => {
    const l = await http.json<Listing>(`${agent.url}/api/v1/recordings`);
    const trace = ours(l, 'trace');
    const capture = ours(l, 'capture');
    const ring = ours(l, 'capture', 'ring');
    return trace?.status === 'stopped' && capture?.status === 'stopped' && capture.analyzed && ring?.analyzed === true ? { l, trace, capture, ring } : undefined;
  });
  for (const r of [ended.trace, ended.capture]) {
    assert.match(r.reason, new RegExp(`^alert close-wait-growth \\(P3\\) firing on 127\\.0\\.0\\.1:${port}: close_wait \\d+, threshold 3$`));
    assert.deepEqual(r.scope, { kind: 'listener', value: scope });
    assert.equal(r.stoppedBy, 'duration');
    assert.equal(r.deadlineMs, r.startedAtMs + DURATION_S * 1000);
    // On time: its own timer, from the start, whatever the tool's start-up took.
    assert.ok(r.stoppedAtMs! >= r.deadlineMs && r.stoppedAtMs! - r.deadlineMs < 1500, `stopped ${r.stoppedAtMs! - r.deadlineMs} ms after its deadline`);
    assert.ok(r.file !== null && existsSync(r.file) && r.bytes === readFileSync(r.file).length && r.items > 0, JSON.stringify(r));
    assert.equal(r.error, null);
    assert.equal(started[r.kind].id, r.id);
  }
  assert.match(ended.capture.filter, new RegExp(`${port}`));

  // The trace: JSON lines of kernel events, every one on the listener's port.
  const events = readFileSync(ended.trace.file!, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; local: { port: number } | null; remote: { port: number } | null });
  assert.equal(events.length, ended.trace.items);
  assert.ok(events.some((e) => e.type === 'state' || e.type === 'accept' || e.type === 'close'), JSON.stringify(events.slice(0, 3)));
  assert.ok(events.filter((e) => e.local !== null).every((e) => e.local?.port === port || e.remote?.port === port), 'narrowed to the listener');

  // The capture: the pcap downloads byte for byte, tcpdump reads it, every packet is the listener's.
  const download = curl(ns, [`${agent.url}/api/v1/recordings/download?id=${ended.capture.id}`]);
  assert.equal(download.status, 200);
  assert.equal(download.type, 'application/vnd.tcpdump.pcap');
  assert.ok(download.body.equals(readFileSync(ended.capture.file!)), 'the file as written');
  const lines = tcpdumpLines(ended.capture.file!);
  assert.equal(lines.length, ended.capture.items);
  assert.ok(lines.every((l) => l.includes(`.${port}`)), lines.find((l) => !l.includes(`.${port}`)));
  assert.ok(lines.some((l) => / Flags \[S\]/.test(l)), 'the new clients\' SYNs');
  // Its analysis is what tcpdiag analyze --json prints for the same file.
  const stored = await http.json(`${agent.url}/api/v1/recordings/analysis?id=${ended.capture.id}`);
  const cli = await runCli(['--config', config, 'analyze', '--json', ended.capture.file!]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(stored, JSON.parse(cli.stdout));

  // The ring: the minutes before the alert, frozen; they hold the leak's first handshakes.
  const ring = ended.ring;
  assert.match(ring.reason, /^alert close-wait-growth .*: the 120 s before it fired$/);
  assert.ok(ring.items > 0 && ring.stoppedBy === 'frozen');
  const ringAnalysis = await http.json<{ connections: { server: { port: number } }[] }>(`${agent.url}/api/v1/recordings/analysis?id=${ring.id}`);
  assert.ok(ringAnalysis.connections.some((c) => c.server.port === port), 'the leak\'s connections, captured before the alert fired');
  const ringCli = await runCli(['analyze', '--json', ring.file!]);
  assert.deepEqual(ringAnalysis, JSON.parse(ringCli.stdout));

  // Debounced: the alert keeps firing, the scope is cooling down, nothing escalated twice.
  assert.ok(ended.l.escalation.cooldowns[`listener:${scope}`]! > Date.now());
  assert.equal(ended.l.escalation.decisions.filter((d) => d.scope.value === scope && d.outcome === 'started').length, 1);
  assert.equal(ended.l.recordings.filter((r) => r.scope.value === scope && r.trigger === 'alert').length, 2);
  assert.equal((await http.request('GET', `${agent.url}/api/v1/recordings/analysis?id=${ended.trace.id}`)).status, 404);
  assert.equal(JSON.parse((await http.request('GET', `${agent.url}/api/v1/recordings/download?id=999999`)).body).error.code, 'TCPDIAG_NOT_FOUND');
});

test('with agent.actions off, captures and traces through the API are refused naming the key; an upload is analysed as tcpdiag analyze does; too big is 413, garbage 400', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'curl');
  if (skip !== null) return t.skip(skip);
  const ns = NetnsClass.create(t, 'escoff');
  const dir = tempDir(t, 'serve-actions-off');
  const agent = await startAgent(t, ns, join(dir, 'data'), writeConfig(dir, `${FAST}[escalation]\nupload_max_mb = 0.1\n`));
  const http = new NsHttp(t, ns);
  for (const path of ['captures', 'traces']) {
    const r = await http.request('POST', `${agent.url}/api/v1/${path}`);
    assert.equal(r.status, 403, r.body);
    const error = (JSON.parse(r.body) as { error: { code: string; hint: string } }).error;
    assert.equal(error.code, 'TCPDIAG_ACTION_DISABLED');
    assert.match(error.hint, new RegExp(`\\[agent\\] actions = \\["${path.slice(0, -1)}"\\]`));
  }
  assert.equal((await http.json<Listing>(`${agent.url}/api/v1/recordings`)).recordings.length, 0, 'nothing started');

  for (const name of ['edge-cases-ns.pcap', 'pcapng-two-interfaces.pcapng', 'icmp-errors-us-le.pcap']) {
    const file = join(REPO_ROOT, 'test', 'fixtures', 'pcap', name);
    const up = curl(ns, ['-X', 'POST', '--data-binary', `@${file}`, `${agent.url}/api/v1/analyze?name=${name}`]);
    assert.equal(up.status, 200, up.body.toString());
    const cli = await runCli(['analyze', '--json', file]);
    assert.deepEqual({ ...(JSON.parse(up.body.toString()) as object), file: null }, { ...(JSON.parse(cli.stdout) as object), file: null }, name);
    assert.equal((JSON.parse(up.body.toString()) as { file: string }).file, name);
  }
  const big = join(dir, 'big.pcap');
  spawnSync('sh', ['-c', 'head -c 200000 /dev/zero > "$1"', 'sh', big]);
  for (const chunked of [false, true]) {
    const r = curl(ns, ['-X', 'POST', ...(chunked ? ['-H', 'Transfer-Encoding: chunked'] : []), '--data-binary', `@${big}`, `${agent.url}/api/v1/analyze`]);
    assert.equal(r.status, 413, `chunked ${chunked}: ${r.body.toString()}`);
    assert.equal((JSON.parse(r.body.toString()) as { error: { code: string } }).error.code, 'TCPDIAG_FILE_REFUSED');
  }
  const garbage = curl(ns, ['-X', 'POST', '--data-binary', 'this is no capture at all', `${agent.url}/api/v1/analyze`]);
  assert.equal(garbage.status, 400);
  const error = (JSON.parse(garbage.body.toString()) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'TCPDIAG_MALFORMED_INPUT');
  assert.match(error.message, /^the upload: not a pcap or pcapng file/);
  const empty = curl(ns, ['-X', 'POST', '--data-binary', '', `${agent.url}/api/v1/analyze`]);
  assert.equal(empty.status, 400);
  assert.equal(readdirSync(join(dir, 'data', 'recordings')).length, 0, 'no upload left on disk');
});

test('captures and traces on request stop when asked and when the agent stops; after a kill -9 nothing runs and the next start marks them interrupted', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'tcpdump', 'curl');
  if (skip !== null) return t.skip(skip);
  const ns = NetnsClass.create(t, 'escreq');
  const dir = tempDir(t, 'serve-requests');
  const data = join(dir, 'data');
  const config = writeConfig(dir, `${FAST}actions = ["capture", "trace"]\n[escalation]\nenabled = false\ntrace_detail = false\n`);
  let agent = await startAgent(t, ns, data, config);
  let http = new NsHttp(t, ns);
  const post = (path: string, body: unknown): { status: number; json: { recording?: Recording; error?: { code: string; message: string } } } => {
    const r = curl(ns, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body), `${agent.url}${path}`]);
    return { status: r.status, json: JSON.parse(r.body.toString()) as never };
  };
  const bad = post('/api/v1/captures', { duration_s: 'soon' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error!.message, /^duration_s: /);
  const badFilter = post('/api/v1/captures', { filter: 'port eighty', duration_s: 5 });
  assert.equal(badFilter.status, 400, JSON.stringify(badFilter.json));
  assert.match(badFilter.json.error!.message, /bad capture filter/);

  const capture = post('/api/v1/captures', { expr: 'dport = :9', duration_s: 60, reason: 'checking port 9' });
  assert.equal(capture.status, 200, JSON.stringify(capture.json));
  assert.equal(capture.json.recording!.trigger, 'request');
  assert.equal(capture.json.recording!.reason, 'requested: checking port 9');
  const trace = post('/api/v1/traces', { port: 9, duration_s: 60 });
  assert.equal(trace.status, 200, JSON.stringify(trace.json));
  const stop = await http.json<{ recording: Recording; wasRunning: boolean }>(`${agent.url}/api/v1/recordings/stop?id=${capture.json.recording!.id}`, 'POST');
  assert.equal(stop.wasRunning, true);
  assert.equal(stop.recording.status, 'stopped');
  assert.equal(stop.recording.stoppedBy, 'request');

  // SIGTERM: the running trace ends as stopped by the agent's stop, nothing of it left.
  const tracePid = agent.proc.pid;
  await agent.proc.stop();
  assert.equal(agent.proc.child.exitCode, 0);
  agent = await startAgent(t, ns, data, config);
  http = new NsHttp(t, ns);
  const afterStop = await http.json<Listing>(`${agent.url}/api/v1/recordings?id=${trace.json.recording!.id}`);
  assert.equal(afterStop.recordings[0]!.status, 'stopped');
  assert.equal(afterStop.recordings[0]!.stoppedBy, 'agent-stop');
  assert.equal(existsSync(`/sys/kernel/tracing/instances/tcpdiag-${tracePid}`), false);

  // kill -9 while a capture and a trace run: the death signal and the guards leave nothing.
  const c2 = post('/api/v1/captures', { duration_s: 60 });
  const t2 = post('/api/v1/traces', { duration_s: 60 });
  assert.equal(c2.status, 200);
  assert.equal(t2.status, 200);
  const killed = agent.proc.pid;
  process.kill(killed, 'SIGKILL');
  await until('the killed agent\'s tcpdump and tracefs instance are gone', 5000, async () => {
    const r = await runCli(['cleanup', '--dry-run', '--json']);
    const found = JSON.parse(r.stdout) as { processes: { ownerPid: number }[]; tracefsInstances: { pid: number }[] };
    const left = found.processes.filter((p) => p.ownerPid === killed).length + found.tracefsInstances.filter((i) => i.pid === killed).length;
    return left === 0 && !existsSync(`/sys/kernel/tracing/instances/tcpdiag-${killed}`) ? true : undefined;
  });
  agent = await startAgent(t, ns, data, config);
  http = new NsHttp(t, ns);
  const after = await http.json<Listing>(`${agent.url}/api/v1/recordings`);
  for (const id of [c2.json.recording!.id, t2.json.recording!.id]) {
    const r = after.recordings.find((x) => x.id === id)!;
    assert.equal(r.status, 'interrupted');
    assert.equal(r.stoppedBy, 'agent-died');
  }
});
