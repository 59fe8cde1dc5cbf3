/**
 * The source contract, checked the same way against every backend (the shape of Hono's
 * router/common.case.test.ts): each backend's *.test.ts beside this file calls
 * `snapshotConformance` or `eventConformance` with its sources and the features it does not
 * support, each with the reason; those checks skip with that reason, every other one runs.
 *
 * What is checked is what source.ts promises: a snapshot is `{ data, issues, takenAtMs }` with
 * coded issues and never a throw for a missing capability (also run as an unprivileged user);
 * an aborted collect rejects with the signal's reason; one source answers many collects; the
 * data is the kernel's (compared with ss and prlimit on sockets this test made). An event
 * source delivers in time order with a numeric loss count, closes idempotently, and leaves no
 * tracefs instance and no child process behind, also when opening is aborted.
 */
import { test as nodeTest } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { ERROR_CODES } from '../../src/errors.js';
import type { Issue } from '../../src/model/issue.js';
import type { TcpSocket } from '../../src/model/socket.js';
import type { ListenerSummary } from '../../src/model/listener.js';
import type { CounterSample } from '../../src/model/counters.js';
import type { ProcessResources } from '../../src/model/process.js';
import type { Sysctls } from '../../src/model/sysctl.js';
import type { BackendName, EventSource, EventSourceSummary, Snapshot, SnapshotSource } from '../../src/sources/source.js';
import type { ListenerQuery, ProcessQuery, SocketQuery } from '../../src/sources/index.js';
import { listenWithoutAccepting } from '../../src/assist/server/no-accept.js';
import { isRoot } from '../../src/platform/capabilities.js';

export type SnapshotFeature = 'tcpInfo' | 'backlog';

export interface SnapshotCase {
  readonly backend: BackendName;
  /** Why this backend cannot run here at all (no addon), or undefined. */
  readonly unavailable?: string | undefined;
  /** Features this backend cannot give, and why: each check of one skips with that reason. */
  readonly unsupported: Partial<Record<SnapshotFeature, string>>;
  readonly sockets: () => SnapshotSource<TcpSocket[], SocketQuery>;
  readonly listeners: () => SnapshotSource<ListenerSummary[], ListenerQuery>;
  readonly counters: () => SnapshotSource<CounterSample, void>;
  /** Sources only procfs gives (sysctls, process limits); undefined for the others. */
  readonly sysctls?: () => SnapshotSource<Sysctls, void>;
  readonly processes?: () => SnapshotSource<ProcessResources[], ProcessQuery>;
}

export function assertIssues(issues: readonly Issue[]): void {
  for (const i of issues) {
    assert.ok(i.code in ERROR_CODES, `issue code ${i.code} is one of ERROR_CODES`);
    assert.ok(i.message.length > 0 && !i.message.includes('\n'), `one-line message: ${i.message}`);
    if (i.hint !== undefined) assert.ok(i.hint.length > 0, 'a hint, when given, says something');
  }
}

async function collectChecked<T, Q>(source: SnapshotSource<T, Q>, query: Q): Promise<Snapshot<T>> {
  const before = Date.now();
  const snapshot = await source.collect(new AbortController().signal, query);
  assert.ok(snapshot.takenAtMs >= before && snapshot.takenAtMs <= Date.now(), 'takenAtMs falls inside the collect');
  assertIssues(snapshot.issues);
  return snapshot;
}

/** A listener that never accepts (backlog 3) with two connections waiting in its accept queue, and one accepted connection elsewhere. */
async function loopbackSockets(): Promise<{ parkedPort: number; servedPort: number; close: () => Promise<void> }> {
  const parked = await listenWithoutAccepting('127.0.0.1', 0, 3);
  const held: net.Socket[] = [];
  const served = net.createServer((c) => {
    held.push(c);
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => served.listen(0, '127.0.0.1', r));
  const servedPort = (served.address() as net.AddressInfo).port;
  const connect = (port: number): Promise<net.Socket> => new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.on('error', reject);
  });
  const clients = [await connect(parked.port), await connect(parked.port), await connect(servedPort)];
  while (held.length < 1) await new Promise((r) => setTimeout(r, 5));
  return {
    parkedPort: parked.port,
    servedPort,
    close: async () => {
      for (const c of [...clients, ...held]) c.destroy();
      await new Promise<void>((r) => served.close(() => r()));
      await parked.close();
    },
  };
}

/** `ss -tanH` for one local or remote port: states and ports, ss's own view of the same sockets. */
function ssView(port: number): string[] {
  const result = spawnSync('ss', ['-tanH', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const SS_STATES: Record<string, string> = {
    ESTAB: 'ESTABLISHED', LISTEN: 'LISTEN', 'SYN-RECV': 'SYN_RECV', 'SYN-SENT': 'SYN_SENT', 'TIME-WAIT': 'TIME_WAIT',
    'CLOSE-WAIT': 'CLOSE_WAIT', 'FIN-WAIT-1': 'FIN_WAIT1', 'FIN-WAIT-2': 'FIN_WAIT2', 'LAST-ACK': 'LAST_ACK', CLOSING: 'CLOSING',
  };
  return result.stdout.trim().split('\n').filter((l) => l !== '').map((line) => {
    const [state, , , local, remote] = line.trim().split(/\s+/);
    // ss prints a listener's wildcard peer as `*`; the kernel's port there is 0.
    return `${SS_STATES[state!] ?? state} ${local} ${remote!.replace(/:\*$/, ':0')}`;
  }).sort();
}

const view = (s: TcpSocket): string => `${s.state} ${s.local.address}:${s.local.port} ${s.remote.address}:${s.remote.port}`;

/** `prlimit`'s RLIMIT_NOFILE of a process: soft and hard. */
function prlimitNofile(pid: number): [number, number] {
  const result = spawnSync('prlimit', ['--pid', String(pid), '--nofile', '--raw', '--noheadings', '--output', 'SOFT,HARD'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const [soft, hard] = result.stdout.trim().split(/\s+/).map(Number);
  return [soft!, hard!];
}

const COLLECT_AS = fileURLToPath(new URL('./collect-as.js', import.meta.url));

/** Run one collect in a child process as uid/gid 65534 (nobody), or as ourselves when we are not root. */
function collectUnprivileged(backend: BackendName, kind: string): { status: number | null; stdout: string; stderr: string } {
  const command = isRoot()
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, COLLECT_AS, backend, kind]] as const
    : [process.execPath, [COLLECT_AS, backend, kind]] as const;
  const result = spawnSync(command[0], command[1], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function snapshotConformance(c: SnapshotCase): void {
  const name = c.backend;
  const skipReason = (feature: SnapshotFeature): string | undefined => c.unsupported[feature];
  // A backend that cannot run here skips every check, saying why.
  const test = (title: string, fn: (t: TestContext) => void | Promise<void>): void => {
    nodeTest(title, { timeout: 60_000 }, (t) => (c.unavailable !== undefined ? t.skip(c.unavailable) : fn(t)));
  };

  test(`${name}: an aborted signal rejects every collect with its reason`, async () => {
    const reason = new Error('stop: conformance');
    const sources: Array<SnapshotSource<unknown, never>> = [c.sockets(), c.listeners(), c.counters()];
    if (c.sysctls) sources.push(c.sysctls());
    if (c.processes) sources.push(c.processes());
    for (const source of sources) {
      await assert.rejects(source.collect(AbortSignal.abort(reason), {} as never), (e) => e === reason);
    }
  });

  test(`${name}: the socket table holds exactly the sockets ss shows, with their owner, and one source answers many collects`, async () => {
    const live = await loopbackSockets();
    try {
      const source = c.sockets();
      assert.equal(source.backend, name);
      for (let round = 0; round < 2; round++) {
        const snapshot = await collectChecked(source, { withInfo: false, withOwners: true });
        const ours = snapshot.data.filter((s) => [live.parkedPort, live.servedPort].some((p) => s.local.port === p || s.remote.port === p));
        assert.deepEqual(ours.map(view).sort(), [...ssView(live.parkedPort), ...ssView(live.servedPort)].sort());
        // Our client sockets and the served side are ours; the parked ones are not accepted (no fd).
        const clients = ours.filter((s) => s.state === 'ESTABLISHED' && (s.remote.port === live.parkedPort || s.remote.port === live.servedPort));
        assert.equal(clients.length, 3);
        for (const s of clients) assert.equal(s.pid, process.pid, `owner of ${view(s)}`);
      }
    } finally {
      await live.close();
    }
  });

  test(`${name}: a state query returns only those states`, async () => {
    const snapshot = await collectChecked(c.sockets(), { filter: { states: ['LISTEN'] }, withInfo: false, withOwners: false });
    assert.ok(snapshot.data.length > 0);
    assert.ok(snapshot.data.every((s) => s.state === 'LISTEN'));
    for (const s of snapshot.data) assert.deepEqual(s.owners, [], 'no owner scan was asked for');
  });

  test(`${name}: tcp_info comes with each connected socket when asked for`, async (t) => {
    const reason = skipReason('tcpInfo');
    const live = await loopbackSockets();
    try {
      const snapshot = await collectChecked(c.sockets(), { filter: { states: ['ESTABLISHED'] }, withInfo: true, withOwners: false });
      const ours = snapshot.data.filter((s) => s.remote.port === live.servedPort);
      assert.equal(ours.length, 1);
      if (reason !== undefined) {
        // What it cannot give is said, with a code, instead of failing.
        assert.equal(ours[0]!.tcpInfo, null);
        assert.ok(snapshot.issues.some((i) => i.code === 'TCPDIAG_FIELD_UNAVAILABLE' || i.code === 'TCPDIAG_ADDON_MISSING'), JSON.stringify(snapshot.issues));
        return t.skip(reason);
      }
      assert.ok(ours[0]!.tcpInfo !== null && ours[0]!.tcpInfo.rttMs >= 0 && ours[0]!.tcpInfo.mss > 0);
    } finally {
      await live.close();
    }
  });

  test(`${name}: a listener shows its accept queue and children as ss does, with its owner`, async (t) => {
    const live = await loopbackSockets();
    try {
      const snapshot = await collectChecked(c.listeners(), {});
      const parked = snapshot.data.find((l) => l.local.port === live.parkedPort);
      const served = snapshot.data.find((l) => l.local.port === live.servedPort);
      assert.ok(parked && served);
      // ss -ltn: Recv-Q is the accept queue, Send-Q the backlog.
      const ss = spawnSync('ss', ['-ltnH', `sport = :${live.parkedPort}`], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
      assert.equal(parked.acceptQueue, Number(ss[1]));
      assert.equal(parked.acceptQueue, 2);
      assert.equal(parked.established, 2, 'both waiting connections are established children');
      assert.equal(served.established, 1);
      assert.equal(served.pid, process.pid);
      assert.equal(parked.pid, process.pid, 'the parked listener is held by a worker thread of this process');
      const reason = skipReason('backlog');
      if (reason !== undefined) {
        assert.equal(parked.backlog, null);
        assert.ok(snapshot.issues.some((i) => i.code === 'TCPDIAG_FIELD_UNAVAILABLE' || i.code === 'TCPDIAG_ADDON_MISSING'));
        return t.skip(reason);
      }
      assert.equal(parked.backlog, Number(ss[2]));
      assert.equal(parked.backlog, 3);
    } finally {
      await live.close();
    }
  });

  test(`${name}: counters move with real connections and every state is counted`, async () => {
    const source = c.counters();
    const before = await collectChecked(source, undefined);
    const live = await loopbackSockets();
    try {
      const after = await collectChecked(source, undefined);
      assert.ok(after.data.counters.ActiveOpens! - before.data.counters.ActiveOpens! >= 3);
      assert.ok(after.data.monotonicMs > before.data.monotonicMs);
      assert.ok(after.data.states.LISTEN >= 2 && after.data.states.ESTABLISHED >= 6);
      assert.equal(Object.keys(after.data.states).length, 11);
    } finally {
      await live.close();
    }
  });

  if (c.sysctls !== undefined) {
    const sysctls = c.sysctls;
    test(`${name}: sysctls read as the kernel prints them`, async () => {
      const snapshot = await collectChecked(sysctls(), undefined);
      assert.equal(snapshot.data['net.core.somaxconn'], readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
      assert.match(snapshot.data['net.ipv4.tcp_rmem'] ?? '', /^\d+ \d+ \d+$/);
    });
  }

  if (c.processes !== undefined) {
    const processes = c.processes;
    test(`${name}: a process's open files and RLIMIT_NOFILE agree with /proc and prlimit`, async () => {
      const snapshot = await collectChecked(processes(), { pids: [process.pid, 999_999_999] });
      assert.equal(snapshot.data.length, 1, 'a pid that does not exist is left out');
      const self = snapshot.data[0]!;
      const [soft, hard] = prlimitNofile(process.pid);
      assert.equal(self.fdLimitSoft, soft);
      assert.equal(self.fdLimitHard, hard);
      assert.ok(self.openFds !== null && Math.abs(self.openFds - readdirSync('/proc/self/fd').length) <= 4);
      assert.ok(self.threads !== null && self.threads >= 1);
    });
  }

  test(`${name}: without root every source answers and says what is missing, with a code and a hint`, () => {
    for (const kind of ['sockets', 'listeners', 'counters', ...(c.processes ? ['processes'] : [])]) {
      const result = collectUnprivileged(name, kind);
      assert.equal(result.status, 0, `${kind}: ${result.stderr}`);
      const answer = JSON.parse(result.stdout) as { count: number; issues: Issue[] };
      assert.ok(answer.count > 0, `${kind} gave data`);
      assertIssues(answer.issues);
      if (isRoot() && (kind === 'sockets' || kind === 'listeners' || kind === 'processes')) {
        // Root's processes (this test runner among them) cannot be read by nobody.
        const missing = answer.issues.find((i) => i.code === 'TCPDIAG_NEEDS_ROOT');
        assert.ok(missing?.hint !== undefined && /sudo/.test(missing.hint), `${kind}: ${JSON.stringify(answer.issues)}`);
      }
    }
  });
}

export type EventFeature = 'abortWhileOpening' | 'perCpuLoss';

export interface EventCase<E> {
  readonly backend: BackendName;
  readonly unsupported: Partial<Record<EventFeature, string>>;
  /** Why this backend cannot run here at all (no root, no tool), or undefined. */
  readonly unavailable?: string | undefined;
  readonly open: (signal: AbortSignal) => Promise<EventSource<E>>;
  /** Cause events (loopback connections); for a file, nothing. */
  readonly stimulate: () => Promise<void>;
  /** The events the stimulus (or the file) must have produced, once everything is read. */
  readonly expect: (events: readonly E[]) => void;
  readonly timeNs: (event: E) => number;
}

/** tracefs instances this process owns, and child processes of this process by name. */
function leftovers(): string[] {
  const found: string[] = [];
  for (const root of ['/sys/kernel/tracing/instances', '/sys/kernel/debug/tracing/instances']) {
    try {
      for (const name of readdirSync(root)) if (name === `tcpdiag-${process.pid}`) found.push(`${root}/${name}`);
    } catch {
      // not mounted there
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // A zombie is gone for our purpose: it holds nothing but its exit status.
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z' && (comm === 'bpftrace' || comm === 'tcpdump')) found.push(`pid ${entry} (${comm})`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function readUntil<E>(source: EventSource<E>, c: EventCase<E>, deadlineMs: number): Promise<E[]> {
  const events: E[] = [];
  const keep = (e: E): void => {
    events.push(typeof e === 'object' && e !== null ? { ...e } : e); // sources may reuse the object
  };
  for (;;) {
    source.poll(keep);
    assert.equal(typeof source.lost, 'number');
    if (source.ended || Date.now() > deadlineMs) break;
    try {
      c.expect(events);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  source.drain(keep);
  return events;
}

export function eventConformance<E>(c: EventCase<E>): void {
  const name = c.backend;
  const unavailable = c.unavailable;
  const guard = (t: { skip: (reason: string) => void }, feature?: EventFeature): boolean => {
    if (unavailable !== undefined) {
      t.skip(unavailable);
      return true;
    }
    const reason = feature === undefined ? undefined : c.unsupported[feature];
    if (reason !== undefined) {
      t.skip(reason);
      return true;
    }
    return false;
  };

  nodeTest(`${name}: events arrive in time order with a loss count, close resolves once nothing is left, and a second close says the same`, { timeout: 60_000 }, async (t) => {
    if (guard(t)) return;
    const source = await c.open(new AbortController().signal);
    assert.equal(source.backend, name);
    let summary: EventSourceSummary;
    try {
      await c.stimulate();
      const events = await readUntil(source, c, Date.now() + 15_000);
      c.expect(events);
      for (let i = 1; i < events.length; i++) {
        assert.ok(c.timeNs(events[i]!) >= c.timeNs(events[i - 1]!), `event ${i} is not before event ${i - 1}`);
      }
    } finally {
      summary = await source.close();
    }
    assert.deepEqual(leftovers(), []);
    assert.ok(source.ended, 'closed means ended');
    for (const n of [summary.lostReported, summary.kernelLost]) assert.ok(Number.isInteger(n) && n >= 0);
    assert.deepEqual(await source.close(), summary);
  });

  nodeTest(`${name}: closing reports the kernel's loss counters of every CPU buffer`, async (t) => {
    if (guard(t, 'perCpuLoss')) return;
    const source = await c.open(new AbortController().signal);
    const summary = await source.close();
    const cpus = summary.perCpu.map((p) => p.cpu);
    assert.ok(cpus.length >= 1 && new Set(cpus).size === cpus.length, JSON.stringify(summary.perCpu));
    assert.equal(summary.kernelLost, summary.perCpu.reduce((n, p) => n + p.overrun + p.dropped, 0));
  });

  nodeTest(`${name}: an aborted signal rejects the open and leaves nothing behind`, async (t) => {
    if (guard(t)) return;
    const reason = new Error('stop: conformance');
    await assert.rejects(c.open(AbortSignal.abort(reason)), (e) => e === reason);
    assert.deepEqual(leftovers(), []);
  });

  nodeTest(`${name}: an abort while it opens rejects at once and leaves nothing behind`, { timeout: 60_000 }, async (t) => {
    if (guard(t, 'abortWhileOpening')) return;
    const controller = new AbortController();
    const opening = c.open(controller.signal);
    // Abort once the tool runs (it is still starting: attaching probes, opening the device).
    for (const until = Date.now() + 10_000; leftovers().length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
    assert.notDeepEqual(leftovers(), [], 'the tool was started');
    const abortedAt = Date.now();
    controller.abort(new Error('stop: conformance'));
    await assert.rejects(opening, /stop: conformance/);
    assert.ok(Date.now() - abortedAt < 5000, 'rejected within the kill timeout');
    assert.deepEqual(leftovers(), []);
  });
}
