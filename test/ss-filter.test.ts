/**
 * ss's filter expression against ss itself: inside a network namespace of its own (so the
 * socket set is exactly the one conn_mesh.py made), `tcpdiag conns EXPR` must select the same
 * sockets as `ss -tan EXPR`, whether the kernel applies the filter (sock_diag bytecode) or
 * user space does (--source procfs), on IPv4, IPv6 and IPv4-mapped sockets, ports, ranges,
 * CIDRs, states, negations and ss's left-to-right and/or.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { CLI, REPO_ROOT, runCli } from './helpers/cli.js';
import { TestNetns, netnsUsable } from './helpers/netns.js';
import { findExecutable } from '../src/platform/capabilities.js';
import { parseTcpState } from '../src/model/tcp-state.js';

const SKIP = netnsUsable() ?? (findExecutable('ss') === null ? 'needs ss (apt-get install -y iproute2)' : false);

const namespaces: TestNetns[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const ns of namespaces) ns.delete();
});

/** ss prints 0.0.0.0, [::] or * for wildcard addresses and * for port 0; tcpdiag 0.0.0.0/:: and 0. */
function normalEnd(address: string, port: string | number): string {
  const bare = address.replace(/^\[|\]$/g, '');
  const wildcard = bare === '0.0.0.0' || bare === '::' || bare === '*';
  return `${wildcard ? '*' : bare}:${port === '*' ? 0 : port}`;
}

function ssKeys(ns: TestNetns, args: readonly string[]): string[] {
  const [file, ...rest] = ns.exec(['ss', '-tanH', ...args]);
  const r = spawnSync(file!, rest, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ss ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter((l) => l !== '').map((line) => {
    const fields = line.trim().split(/\s+/);
    // ss leaves the state column out when the filter keeps a single state.
    const [state, local = '', peer = ''] = /^\d+$/.test(fields[0] ?? '') ? ['?', fields[2], fields[3]] : [fields[0], fields[3], fields[4]];
    const end = (text: string): string => {
      const colon = text.lastIndexOf(':');
      return normalEnd(text.slice(0, colon), text.slice(colon + 1));
    };
    return `${parseTcpState(state ?? '') ?? state} ${end(local)} ${end(peer)}`;
  }).sort();
}

/** tcpdiag's keys compared with ss's; where ss left the state out, ours must all share one. */
function assertSameSockets(ours: string[], theirs: string[], label: string): void {
  if (theirs.length > 0 && theirs[0]!.startsWith('? ')) {
    assert.ok(new Set(ours.map((k) => k.split(' ')[0])).size <= 1, `${label}: one state`);
    ours = ours.map((k) => `? ${k.split(' ').slice(1).join(' ')}`).sort();
  }
  assert.deepEqual(ours, theirs, label);
}

interface SocketJson {
  state: string;
  local: { address: string; port: number };
  remote: { address: string; port: number };
}

const keysOf = (sockets: readonly SocketJson[]): string[] =>
  sockets.map((s) => `${s.state} ${normalEnd(s.local.address, s.local.port)} ${normalEnd(s.remote.address, s.remote.port)}`).sort();

/** What `tcpdiag conns ARGS --json` selects, through the built CLI. */
function tcpdiagKeys(ns: TestNetns, args: readonly string[]): string[] {
  const [file, ...rest] = ns.exec([process.execPath, CLI, 'conns', '--json', '--no-processes', '--no-info', ...args]);
  const r = spawnSync(file!, rest, { encoding: 'utf8', cwd: REPO_ROOT });
  assert.equal(r.status, 0, `tcpdiag conns ${args.join(' ')}: ${r.stderr}`);
  return keysOf(JSON.parse(r.stdout) as SocketJson[]);
}

/** The same for many argument lists in one process (helpers/filter-probe.ts: conns' flag parsing and source). */
function probeKeys(ns: TestNetns, argLists: readonly (readonly string[])[]): string[][] {
  const [file, ...rest] = ns.exec([process.execPath, join(REPO_ROOT, 'dist/test/helpers/filter-probe.js')]);
  const r = spawnSync(file!, rest, { encoding: 'utf8', input: JSON.stringify(argLists), maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as SocketJson[][]).map(keysOf);
}

const EXPRESSIONS: readonly (readonly string[])[] = [
  [],
  ['state', 'established'], ['state', 'listening'], ['state', 'time-wait'], ['state', 'fin-wait-2'], ['state', 'close-wait'],
  ['state', 'connected'], ['state', 'synchronized'], ['state', 'bucket'], ['state', 'big'], ['state', 'all'],
  ['exclude', 'established'], ['exclude', 'listening', 'exclude', 'time-wait'], ['state', 'established', 'state', 'close-wait'],
  ['state', 'connected', 'exclude', 'established'],
  ['sport = :8001'], ['dport = :8001'], ['sport == 80'], ['dport eq :443'], ['dport :22'], ['sport != :8002'], ['sport ne :22'],
  ['sport > :8002'], ['sport gt :8002'], ['sport < :1024'], ['sport lt :100'], ['sport >= :8003'], ['sport ge :8003'],
  ['sport <= :443'], ['sport le :443'], ['dport > :8000'], ['dport <= :8002'], ['dport >= :0'], ['dport = :0'], ['sport = *'],
  ['( sport >= :8001 and sport <= :8003 )'],
  ['src 10.1.2.3'], ['src 10.0.0.0/8'], ['dst 10.0.0.0/8'], ['src 192.168.7.0/24'], ['dst 127.0.0.1'], ['src = 127.0.0.0/8'],
  ['src 10.1.2.3:8001'], ['dst 10.1.2.3:8001'], ['src *:8002'], ['dst *:80'], ['src :443'], ['dst *'], ['src 0.0.0.0'],
  ['src [::1]'], ['dst [::1]:443'], ['src 2001:db8::/32'], ['dst 2001:db8::5/128'], ['src [2001:db8::5]:8004'], ['src ::/0'],
  ['src 0.0.0.0/0'], ['dst 0.0.0.0/0'], ['src ::ffff:127.0.0.1/128'], ['src [::ffff:127.0.0.1]:8003'], ['src ::ffff:0.0.0.0/96'],
  ['src 127.0.0.1/8'],
  ['!', 'src 10.0.0.0/8'], ['not dst [::1]'], ['not not sport = :22'], ['! ( sport = :80 or dport = :80 )'],
  ['( dport = :443 or sport = :443 )'],
  // ss gives `and` and `or` the same precedence, grouped from the left.
  ['sport = :8003 or dport = :8003 and src 127.0.0.1'], ['sport = :22 and dport > :1024 or sport = :80'],
  ['sport = :22 && dport > :1024'], ['sport = :22 || sport = :80'], ['sport = :22 & dport > :1024 | sport = :443'],
  ['src 10.1.2.3 dport = :8001'], ['src 10.1.2.3', 'dport', '=', ':8001'],
  ['state', 'established', '( dport = :8001 or sport = :8001 )'], ['state', 'established', 'dst 10.0.0.0/8 or dst [::1]'],
  ['state', 'established', '! ( sport = :80 or dport = :80 )'], ['exclude', 'listening', 'src 2001:db8::/64'],
  ['state', 'time-wait', 'src 192.168.7.1 or src [2001:db8::5]'],
  ['( src 10.0.0.0/8 or src 192.168.0.0/16 ) and ! ( dport = :8001 )'],
  ['( ( sport > :1000 and sport < :9000 ) or ( dport >= :8001 and dport <= :8004 ) ) and ! dst 127.0.0.0/8'],
];

test('conns selects the same sockets as ss on every expression, in the kernel and in user space', { skip: SKIP, timeout: 120_000 }, async (t) => {
  const ns = TestNetns.create('ssf', ['10.1.2.3/8', '192.168.7.1/24', '2001:db8::5/64']);
  namespaces.push(ns);
  const [file, ...args] = ns.exec(['python3', join(REPO_ROOT, 'test/fixtures/programs/conn_mesh.py')]);
  const mesh = spawn(file!, args);
  children.push(mesh);
  mesh.stderr.on('data', (d: Buffer) => process.stderr.write(`mesh: ${d.toString()}`));
  const first = await createInterface({ input: mesh.stdout })[Symbol.asyncIterator]().next();
  assert.equal(first.value, 'ready');

  const everything = ssKeys(ns, []);
  assert.ok(everything.length >= 30, `the mesh has its sockets: ${everything.join(', ')}`);
  const kernel = probeKeys(ns, EXPRESSIONS);
  const user = probeKeys(ns, EXPRESSIONS.map((e) => ['--source', 'procfs', ...e]));
  let nonEmpty = 0;
  EXPRESSIONS.forEach((expression, i) => {
    const expected = ssKeys(ns, expression);
    const label = expression.join(' ') || '(no expression)';
    assertSameSockets(kernel[i]!, expected, `sock_diag: ${label}`);
    assertSameSockets(user[i]!, expected, `procfs: ${label}`);
    if (expected.length > 0 && expected.length < everything.length) nonEmpty++;
  });
  // The command itself, on a few.
  for (const expression of [EXPRESSIONS[0]!, ['state', 'established', '( dport = :8001 or sport = :8001 )'], ['src ::ffff:0.0.0.0/96']]) {
    assertSameSockets(tcpdiagKeys(ns, expression), ssKeys(ns, expression), `conns: ${expression.join(' ')}`);
  }
  // Most expressions must select some sockets but not all, or the comparison proves little.
  assert.ok(nonEmpty >= EXPRESSIONS.length - 12, `${nonEmpty} of ${EXPRESSIONS.length} expressions were selective`);
  for (const family of ['-4', '-6']) {
    const expected = ssKeys(ns, [family, 'state', 'established', 'sport >= :1024']);
    assertSameSockets(tcpdiagKeys(ns, [family, 'state', 'established', 'sport >= :1024']), expected, `${family}`);
  }
  // Flags and expression together: --state counts as a `state` said first.
  assertSameSockets(tcpdiagKeys(ns, ['--state', 'listen', 'state', 'close-wait', 'sport < :1024']), ssKeys(ns, ['state', 'listening', 'state', 'close-wait', 'sport < :1024']), 'flags');
  assertSameSockets(tcpdiagKeys(ns, ['--port', '8001', 'src 127.0.0.0/8']), ssKeys(ns, ['( sport = :8001 or dport = :8001 ) and src 127.0.0.0/8']), '--port');
  t.diagnostic(`${EXPRESSIONS.length} expressions, ${everything.length} sockets`);
  mesh.stdin.end();
});

test('listeners takes the expression too, and counts children the filter does not name', { skip: SKIP, timeout: 60_000 }, async () => {
  const ns = TestNetns.create('ssl', ['10.1.2.3/8', '192.168.7.1/24', '2001:db8::5/64']);
  namespaces.push(ns);
  const [file, ...args] = ns.exec(['python3', join(REPO_ROOT, 'test/fixtures/programs/conn_mesh.py')]);
  const mesh = spawn(file!, args);
  children.push(mesh);
  const first = await createInterface({ input: mesh.stdout })[Symbol.asyncIterator]().next();
  assert.equal(first.value, 'ready');
  const run = (expression: string[]): { local: { port: number }; established: number }[] => {
    const [f, ...rest] = ns.exec([process.execPath, CLI, 'listeners', '--json', ...expression]);
    const r = spawnSync(f!, rest, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { local: { port: number }; established: number }[];
  };
  const ports = (l: { local: { port: number } }[]): number[] => l.map((x) => x.local.port).sort((a, b) => a - b);
  assert.deepEqual(ports(run(['sport < :1024'])), [22, 80, 443]);
  assert.deepEqual(ports(run(['src 10.1.2.3 or src [2001:db8::5]'])), [8001, 8004]);
  // A wildcard listener's children have other local addresses; they are still counted.
  const wildcard = run(['sport = :8002']);
  assert.equal(wildcard.length, 1);
  assert.equal(wildcard[0]!.established, 2);
  assert.deepEqual(ports(run(['! src *:8003', 'sport >= :8000'])), [8001, 8002, 8004]);
  mesh.stdin.end();
});

test('malformed expressions are one-line usage errors that name the word and show an example', async () => {
  const cases: [string[], RegExp][] = [
    [['dport', '=', ':44x3'], /word 3 ":44x3".*not a port.*e\.g\. dport = :443/],
    [['( sport = :22'], /at the end .*expected "\)"/],
    [['sport = :22 )'], /word 4 "\)".*without a "\("/],
    [['dst', '2001:db8::1'], /ambiguous.*\[2001:db8::1\]/],
    [['state', 'open'], /"state" needs a state name/],
    [['dport = :443', 'state', 'established'], /state and exclude come before/],
    [['src', 'example.com'], /is a name: tcpdiag does not resolve names/],
    [['dport', '=', ':http'], /service name/],
    [['src', '10.0.0.0/33'], /prefix length must be an integer 0-32/],
    [['src', '<', '10.0.0.1'], /addresses compare with = or != only/],
    [['autobound'], /not supported by tcpdiag/],
    [['and', 'sport = :1'], /needs a condition before it/],
    [['frobnicate'], /expected a condition/],
  ];
  for (const [expression, pattern] of cases) {
    const r = await runCli(['conns', ...expression]);
    assert.equal(r.code, 2, expression.join(' '));
    assert.match(r.stderr, pattern, expression.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const trace = await runCli(['trace', 'conect']);
  assert.equal(trace.code, 2);
  assert.match(trace.stderr, /"conect" is neither a mode/);
});
