/**
 * The agent's per-second state counts leave the socket-table walk out while the kernel's
 * counters say no socket changed state (src/sources/state-walk.ts). In a private network
 * namespace, where the test's sockets are all there are: a quiet namespace reuses the walk and
 * its counts still equal the full table; half-open connections move the counters, so the next
 * read walks again and counts them, and the listener dump that takes the walk's children
 * (LISTEN sockets alone) gives the listener the half-open count ss sees.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './helpers/cli.js';

const NAMESPACE = `tcpdiag-walk-${process.pid}`;
const READER = new URL('./fixtures/programs/state-walk-reader.js', import.meta.url).pathname;
const PROGRAMS = join(REPO_ROOT, 'test', 'fixtures', 'programs');

interface Reading {
  states: Record<string, number>;
  reused: boolean;
  halfOpen: { family: number; address: string; port: number; state: string }[];
}

function inNamespace(file: string, args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', NAMESPACE, file, ...args], { encoding: 'utf8', timeout: 60_000, ...(input === undefined ? {} : { input }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ss's state names (ss.c sstate_name) in the kernel's spelling. */
const SS_STATES: Record<string, string> = {
  'ESTAB': 'ESTABLISHED', 'SYN-SENT': 'SYN_SENT', 'SYN-RECV': 'SYN_RECV', 'FIN-WAIT-1': 'FIN_WAIT1', 'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT', 'CLOSE-WAIT': 'CLOSE_WAIT', 'LAST-ACK': 'LAST_ACK', 'LISTEN': 'LISTEN', 'CLOSING': 'CLOSING',
};

/** Every socket of the namespace by state, as ss -tanH lists them. */
function ssStates(): Record<string, number> {
  const r = inNamespace('ss', ['-tanH']);
  assert.equal(r.status, 0, r.stderr);
  const counts: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const state = line.trim().split(/\s+/)[0];
    if (state === undefined || state === '') continue;
    const name = SS_STATES[state] ?? state;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** A process in the namespace that prints its first line once ready. */
async function started(t: { after: (fn: () => void) => void }, args: readonly string[]): Promise<{ line: string; child: ReturnType<typeof spawn> }> {
  const child = spawn('ip', ['netns', 'exec', NAMESPACE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
  return { line, child };
}

test('the state walk is left out while the counters stand still, and its counts and half-open children stay the table\'s', { timeout: 60_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: creates a network namespace');
  if (spawnSync('ip', ['netns', 'add', NAMESPACE]).status !== 0) return t.skip('cannot create a network namespace here');
  t.after(() => spawnSync('ip', ['netns', 'delete', NAMESPACE]));
  assert.equal(spawnSync('ip', ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']).status, 0);

  const mix = await started(t, ['python3', join(PROGRAMS, 'state_mix.py')]);
  const expected = JSON.parse(mix.line) as Record<string, number>;
  const reader = spawn('ip', ['netns', 'exec', NAMESPACE, process.execPath, READER], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => reader.kill());
  const lines = createInterface({ input: reader.stdout })[Symbol.asyncIterator]();
  const ask = async <T>(command: string): Promise<T> => {
    reader.stdin.write(`${command}\n`);
    const next = await lines.next();
    assert.equal(next.done, false, 'the reader answered');
    return JSON.parse(next.value) as T;
  };

  // Quiet: the first read walks, the next ones reuse it, and the counts are the mix's.
  const first = await ask<Reading>('read');
  assert.equal(first.reused, false);
  await new Promise((r) => setTimeout(r, 300));
  const quiet = await ask<Reading>('read');
  assert.equal(quiet.reused, true, 'nothing moved: the walk is left out');
  for (const [state, count] of Object.entries(expected)) assert.equal(quiet.states[state], count, `quiet: ${state}`);
  assert.deepEqual(quiet.states, first.states);

  // Half-open: SYN-ACKs dropped on INPUT, so request socks pile up on a listener of backlog 4.
  const rules = 'table inet t {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp flags & (syn | ack) == syn | ack drop\n  }\n}\n';
  assert.equal(inNamespace('nft', ['-f', '-'], rules).status, 0);
  const pressure = await started(t, ['python3', join(PROGRAMS, 'listen_pressure.py'), '4', '20']);
  const port = Number(pressure.line.split(' ')[1]);
  const busy = await ask<Reading>('read');
  assert.equal(busy.reused, false, 'SYNs moved the counters: the walk is made again');
  const children = busy.halfOpen.filter((c) => c.port === port);
  assert.ok(children.length >= 4, `${children.length} half-open children on :${port}`);
  assert.ok(children.every((c) => c.family === 4 && c.address === '127.0.0.1' && c.state === 'SYN_RECV'), JSON.stringify(children));
  assert.equal(busy.states.SYN_RECV, busy.halfOpen.length);
  const ss = inNamespace('ss', ['-tanH', 'state', 'syn-recv', 'sport', '=', `:${port}`]);
  const ssHalfOpen = ss.stdout.split('\n').filter((l) => l.trim() !== '').length;
  // A full SYN queue stays at its limit: further SYNs get cookies and no request sock
  // (tcp_conn_request, net/ipv4/tcp_input.c), so ss and the walk read the same count.
  assert.equal(ssHalfOpen, children.length);
  const listener = await ask<{ synRecv: number | null; established: number | null }>(`listeners ${port}`);
  assert.equal(listener.synRecv, children.length, 'the listener counts the walk\'s children');
  assert.equal(listener.established, 0);

  // Stopped: once the clients are gone and nothing moves, counts equal what ss lists.
  pressure.child.kill();
  assert.equal(inNamespace('nft', ['delete', 'table', 'inet', 't']).status, 0);
  let settled: Reading | null = null;
  for (let i = 0; i < 100 && settled === null; i++) {
    const a = await ask<Reading>('read');
    const table = ssStates();
    const b = await ask<Reading>('read');
    if (b.reused && JSON.stringify(a.states) === JSON.stringify(b.states)) {
      const nonzero = Object.fromEntries(Object.entries(b.states).filter(([, n]) => n > 0));
      assert.deepEqual(nonzero, table, 'a reused walk counts what ss lists');
      settled = b;
    } else await new Promise((r) => setTimeout(r, 100));
  }
  assert.notEqual(settled, null, 'the namespace went quiet and the walk was reused');
});
