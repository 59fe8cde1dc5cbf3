/**
 * kill -9 of each long-running command (root): nothing it started stays active after its
 * deadline. Its guards remove its tracefs instance and fault table as soon as it is gone, its
 * children (tcpdump, bpftrace) die with it, and when the guards are killed too, fault rules
 * stop matching at their deadline by themselves (the lease) and `tcpdiag cleanup --dry-run`
 * lists what is left, which `tcpdiag cleanup` removes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { runCli } from './helpers/cli.js';
import { startCli } from './helpers/long-running.js';
import type { LongRunning } from './helpers/long-running.js';
import { guardsOf, killAndWait, ownedBy, until } from './helpers/owned.js';
import { findExecutable, hasKernelBtf, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { isRunning } from '../src/platform/owners.js';

const ROOT = tracefsRoot();
const SKIP_TRACE = isRoot() && ROOT !== null ? false : 'needs root and tracefs';
const SKIP_DETAIL = SKIP_TRACE || (findExecutable('bpftrace') === null ? 'needs bpftrace' : !hasKernelBtf() ? 'needs kernel BTF' : false);
const SKIP_CAPTURE = isRoot() && findExecutable('tcpdump') !== null ? false : 'needs root and tcpdump';
const SKIP_NFT = isRoot() && findExecutable('nft') !== null ? false : 'needs root and nft';

interface LeftoversJson {
  tracefsInstances: Array<{ name: string; pid: number; removed?: boolean }>;
  nftTables: Array<{ name: string; pid: number; active: boolean; removed?: boolean }>;
  processes: Array<{ pid: number; ownerPid: number; command: string; removed?: boolean }>;
}

async function waitText(run: LongRunning, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  await until(() => pattern.test(run.stdout() + run.stderr()), timeoutMs, `no ${pattern}: stdout=${run.stdout()} stderr=${run.stderr()}`);
}

async function cleanupJson(args: readonly string[]): Promise<LeftoversJson> {
  const result = await runCli(['cleanup', ...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as LeftoversJson;
}

function tableExists(name: string): boolean {
  return spawnSync('nft', ['list', 'table', 'inet', name], { stdio: 'ignore' }).status === 0;
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

async function listen(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** 'connected', 'timeout', or the errno code of the failure. */
function connectWithin(port: number, timeoutMs: number): Promise<string> {
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

test('kill -9 of trace: its guard removes the tracefs instance at once', { skip: SKIP_TRACE }, async () => {
  const trace = startCli(['trace', 'states']);
  const pid = trace.child.pid!;
  const instance = `${ROOT}/instances/tcpdiag-${pid}`;
  try {
    await waitText(trace, /Ctrl-C to stop/);
    assert.ok(existsSync(instance));
    assert.equal(guardsOf(pid).length, 1, 'one guard for the one instance');
    await trace.stop('SIGKILL');
    const ms = await until(() => !existsSync(instance), 3_000, `${instance} still there after kill -9`);
    assert.ok(ms < 3_000);
    await until(() => ownedBy(pid).length === 0, 6_000, 'the guard exits once its work is done');
  } finally {
    await trace.stop('SIGKILL');
  }
});

test('kill -9 of trace and its guard: root commands warn, cleanup --dry-run lists the instance and cleanup removes it', { skip: SKIP_TRACE }, async () => {
  const trace = startCli(['trace', 'states']);
  const pid = trace.child.pid!;
  const name = `tcpdiag-${pid}`;
  try {
    await waitText(trace, /Ctrl-C to stop/);
    await killAndWait(guardsOf(pid).map((g) => g.pid));
    await trace.stop('SIGKILL');
    assert.ok(existsSync(`${ROOT}/instances/${name}`), 'nothing removed it: it is still tracing');
    const stats = await runCli(['stats', '--json', '--no-sysctl']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stderr, new RegExp(`warning: tracefs instances of dead tcpdiag processes are still tracing: .*${name}.*tcpdiag cleanup`));
    assert.equal(stats.stderr.trim().split('\n').length, 1, 'one line');
    const dry = await cleanupJson(['--dry-run']);
    assert.deepEqual(dry.tracefsInstances.filter((i) => i.pid === pid).map((i) => i.name), [name]);
    assert.ok(existsSync(`${ROOT}/instances/${name}`), '--dry-run removes nothing');
    const done = await cleanupJson([]);
    assert.deepEqual(done.tracefsInstances.filter((i) => i.pid === pid).map((i) => [i.name, i.removed]), [[name, true]]);
    assert.equal(existsSync(`${ROOT}/instances/${name}`), false);
    const after = await runCli(['stats', '--json', '--no-sysctl']);
    assert.doesNotMatch(after.stderr, new RegExp(name));
  } finally {
    await trace.stop('SIGKILL');
    spawnSync('rmdir', [`${ROOT}/instances/${name}`], { stdio: 'ignore' });
  }
});

test('kill -9 of trace --detail: bpftrace dies with it', { skip: SKIP_DETAIL, timeout: 90_000 }, async () => {
  const trace = startCli(['trace', 'states', '--detail']);
  const pid = trace.child.pid!;
  try {
    await waitText(trace, /Ctrl-C to stop/, 60_000);
    const children = ownedBy(pid).filter((p) => /bpftrace/.test(p.command));
    assert.equal(children.length, 1, 'bpftrace carries TCPDIAG_PARENT');
    await trace.stop('SIGKILL');
    await until(() => !isRunning(children[0]!.pid), 3_000, 'bpftrace still running after its parent was killed');
    assert.deepEqual(ownedBy(pid), []);
    assert.deepEqual((await cleanupJson(['--dry-run'])).processes.filter((p) => p.ownerPid === pid), []);
  } finally {
    await trace.stop('SIGKILL');
  }
});

test('kill -9 of capture: tcpdump, running as its own user, dies with it', { skip: SKIP_CAPTURE }, async () => {
  const capture = startCli(['capture', '-i', 'lo', 'tcp', 'port', '9']);
  const pid = capture.child.pid!;
  try {
    await waitText(capture, /tcpdump pid (\d+)/);
    const tcpdumpPid = Number(/tcpdump pid (\d+)/.exec(capture.stderr())?.[1]);
    assert.deepEqual(ownedBy(pid).map((p) => p.pid), [tcpdumpPid]);
    // The privilege drop Debian's tcpdump does itself is kept (setpriv does it, see children.ts).
    const tcpdumpUser = spawnSync('id', ['-u', 'tcpdump'], { encoding: 'utf8' });
    if (tcpdumpUser.status === 0) assert.equal(uidOf(tcpdumpPid), Number(tcpdumpUser.stdout.trim()));
    await capture.stop('SIGKILL');
    await until(() => !isRunning(tcpdumpPid), 3_000, 'tcpdump still running after its parent was killed');
    assert.deepEqual((await cleanupJson(['--dry-run'])).processes.filter((p) => p.ownerPid === pid), []);
  } finally {
    await capture.stop('SIGKILL');
  }
});

for (const kind of ['loss', 'synack-drop'] as const) {
  const args = (port: number): string[] => ['fault', kind, '--port', String(port), '--percent', '100'];

  test(`kill -9 of fault ${kind}: its guard deletes the table at once`, { skip: SKIP_NFT }, async () => {
    const { server, port } = await listen();
    const fault = startCli(args(port));
    const table = `tcpdiag_fault_${fault.child.pid}`;
    try {
      await fault.waitFor(/^installed/m);
      assert.equal(await connectWithin(port, 800), 'timeout', 'the fault is in place');
      await fault.stop('SIGKILL');
      await until(() => !tableExists(table), 3_000, `${table} still there after kill -9`);
      assert.equal(await connectWithin(port, 2_000), 'connected');
    } finally {
      await fault.stop('SIGKILL');
      spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
      server.close();
    }
  });

  test(`kill -9 of fault ${kind} and its guard: the rules stop at the deadline, cleanup lists and removes the table`, { skip: SKIP_NFT, timeout: 60_000 }, async () => {
    const { server, port } = await listen();
    const fault = startCli([...args(port), '--duration', '3s']);
    const table = `tcpdiag_fault_${fault.child.pid}`;
    try {
      await fault.waitFor(/^installed/m);
      const started = Date.now();
      await killAndWait(guardsOf(fault.child.pid!).map((g) => g.pid));
      await fault.stop('SIGKILL');
      assert.ok(tableExists(table));
      assert.equal(await connectWithin(port, 800), 'timeout', 'still dropping before the deadline');
      const before = (await cleanupJson(['--dry-run'])).nftTables.find((t) => t.name === table);
      assert.deepEqual(before && { active: before.active, pid: before.pid }, { active: true, pid: fault.child.pid });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3_300 - (Date.now() - started))));
      assert.equal(await connectWithin(port, 2_000), 'connected', 'nothing dropped after the deadline');
      const after = (await cleanupJson(['--dry-run'])).nftTables.find((t) => t.name === table);
      assert.equal(after?.active, false, 'listed, and inert');
      const done = await cleanupJson([]);
      assert.equal(done.nftTables.find((t) => t.name === table)?.removed, true);
      assert.equal(tableExists(table), false);
    } finally {
      await fault.stop('SIGKILL');
      spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
      server.close();
    }
  });
}

test('kill -9 of fault without --duration and of its guard: the rules stop within the 10 s lease', { skip: SKIP_NFT, timeout: 60_000 }, async () => {
  const { server, port } = await listen();
  const fault = startCli(['fault', 'synack-drop', '--port', String(port)]);
  const table = `tcpdiag_fault_${fault.child.pid}`;
  try {
    await fault.waitFor(/^installed/m);
    await killAndWait(guardsOf(fault.child.pid!).map((g) => g.pid));
    await fault.stop('SIGKILL');
    const killed = Date.now();
    assert.equal(await connectWithin(port, 800), 'timeout');
    // The lease runs at most 10 s ahead; renewed every 3 s, so it lapses 7-10 s after the kill.
    await until(() => {
      const text = spawnSync('nft', ['list', 'set', 'inet', table, 'lease'], { encoding: 'utf8' }).stdout;
      return !/elements/.test(text);
    }, 11_000, 'the lease did not run out within 10 s');
    assert.ok(Date.now() - killed <= 10_500, `lapsed ${Date.now() - killed} ms after the kill`);
    assert.equal(await connectWithin(port, 2_000), 'connected');
  } finally {
    await fault.stop('SIGKILL');
    spawnSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
    server.close();
  }
});

test('kill -9 of server: its port is free at once and nothing of it is left', async () => {
  const server = startCli(['server', '0', '--host', '127.0.0.1']);
  const pid = server.child.pid!;
  try {
    const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    assert.equal(await connectWithin(Number(port), 2_000), 'connected');
    await server.stop('SIGKILL');
    assert.equal(await connectWithin(Number(port), 2_000), 'ECONNREFUSED');
    assert.deepEqual(ownedBy(pid), []);
    if (isRoot()) {
      const left = await cleanupJson(['--dry-run']);
      assert.deepEqual([...left.tracefsInstances, ...left.nftTables].filter((x) => x.pid === pid), []);
      assert.deepEqual(left.processes.filter((p) => p.ownerPid === pid), []);
    }
  } finally {
    await server.stop('SIGKILL');
  }
});

test('a process whose tcpdiag is gone is listed by cleanup --dry-run and stopped by cleanup', { skip: isRoot() ? false : 'needs root: cleanup' }, async () => {
  // A tool that outlived its tcpdiag (one started without setpriv, or that changed its
  // credentials): here a sleep marked with the pid of a process that has exited.
  const gone = spawnSync('true');
  const deadPid = gone.pid;
  assert.ok(deadPid !== undefined && !isRunning(deadPid));
  const orphan = spawn('sleep', ['60'], { env: { ...process.env, TCPDIAG_PARENT: String(deadPid) }, stdio: 'ignore' });
  try {
    await until(() => ownedBy(deadPid).length === 1, 2_000, 'the marked process is not seen');
    const dry = await cleanupJson(['--dry-run']);
    assert.deepEqual(dry.processes.filter((p) => p.ownerPid === deadPid).map((p) => [p.pid, p.command]), [[orphan.pid, 'sleep 60']]);
    assert.ok(isRunning(orphan.pid!), '--dry-run stops nothing');
    const text = await runCli(['cleanup', '--dry-run']);
    assert.match(text.stdout, new RegExp(`process ${orphan.pid} \\(started by tcpdiag pid ${deadPid}, gone\\): sleep 60: would remove`));
    const done = await cleanupJson([]);
    assert.equal(done.processes.find((p) => p.pid === orphan.pid)?.removed, true);
    await until(() => orphan.exitCode !== null || orphan.signalCode !== null, 3_000, 'the orphan still runs');
    assert.equal(orphan.signalCode, 'SIGTERM');
  } finally {
    orphan.kill('SIGKILL');
  }
});
