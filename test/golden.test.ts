/**
 * The JSON contracts other tools and scripts depend on stay what they were: `analyze --json` on
 * every capture fixture byte for byte (with --frames, so each verdict's frames are pinned too),
 * and the shapes (every key path and the types seen there) of `conns`, `listeners`, `stats` and
 * `trace` JSON on live loopback traffic. A deliberate change regenerates the files with
 * `TCPDIAG_UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden` and shows up in review as a diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { REPO_ROOT, runCli, runCliJson } from './helpers/cli.js';
import { isRoot } from '../src/platform/capabilities.js';
import { sleep, startTrace } from './trace-support.js';

const GOLDEN = join(REPO_ROOT, 'test', 'fixtures', 'golden');
const PCAPS = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const UPDATE = process.env.TCPDIAG_UPDATE_GOLDEN === '1';

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `${name} has no golden file: run with TCPDIAG_UPDATE_GOLDEN=1 to create it`);
  assert.equal(actual, readFileSync(path, 'utf8'), `${name} differs from its golden file`);
}

/** Objects keyed by data (counter names from the running kernel, sysctl names): their keys are one path. */
const MAP_PATHS = new Set(['$.counters', '$.sysctl', '$.rates']);

/** Every key path of a JSON value with the set of JSON types seen there; arrays merge their elements. */
export function shapeOf(value: unknown, prefix = '$', into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let kinds = into.get(prefix);
  if (kinds === undefined) into.set(prefix, (kinds = new Set()));
  kinds.add(kind);
  if (Array.isArray(value)) for (const item of value) shapeOf(item, `${prefix}[]`, into);
  else if (kind === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      shapeOf(item, MAP_PATHS.has(prefix) ? `${prefix}.*` : `${prefix}.${key}`, into);
    }
  }
  return into;
}

/**
 * A shape is compatible when it has exactly the golden key paths (but for those under fields
 * `knownNullable` names) and only types the golden file allows there.
 */
function assertShape(name: string, shape: Map<string, Set<string>>, knownNullable: readonly string[] = []): void {
  const text = JSON.stringify(Object.fromEntries([...shape].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()])), null, 1) + '\n';
  const path = join(GOLDEN, name);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  const expected = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string[]>;
  const missing = Object.keys(expected).filter((k) => !shape.has(k) && !knownNullable.some((n) => k.startsWith(n)));
  const added = [...shape.keys()].filter((k) => !(k in expected));
  assert.deepEqual({ missing, added }, { missing: [], added: [] }, `${name}: key paths changed`);
  // Types are compared apart from null: which fields happen to be null depends on the run
  // (softirq events carry no pid, close bytes need --detail); a number turning into a string does not.
  for (const [key, kinds] of shape) {
    for (const kind of kinds) {
      if (kind === 'null' || expected[key]!.every((k) => k === 'null')) continue;
      assert.ok(expected[key]!.includes(kind), `${name}: ${key} is ${kind}, golden allows ${expected[key]!.join('|')}`);
    }
  }
}

test('analyze --json --frames on every capture fixture matches its golden file byte for byte', async () => {
  const files = readdirSync(PCAPS).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
  assert.ok(files.length >= 10);
  for (const file of files) {
    const result = await runCli(['analyze', '--json', '--pretty', '--frames', join('test', 'fixtures', 'pcap', file)]);
    assert.equal(result.code, 0, result.stderr);
    golden(join('analyze', `${file}.json`), result.stdout);
  }
});

/** A listener with one established connection and one the server has closed (CLOSE_WAIT on our side). */
async function liveSockets(): Promise<{ port: number; close: () => Promise<void> }> {
  const held: net.Socket[] = [];
  const server = net.createServer((c) => {
    held.push(c);
    c.on('error', () => undefined);
    c.write('hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const clients = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.on('error', () => undefined);
  })));
  await sleep(100);
  held[0]?.end(); // the first client is now in CLOSE_WAIT, the server side in FIN_WAIT2
  await sleep(100);
  return {
    port,
    close: async () => {
      for (const c of [...clients, ...held]) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('conns, listeners and stats JSON keep their shapes', async () => {
  const live = await liveSockets();
  try {
    const conns = await runCliJson<unknown[]>(['conns', '--json', '--port', String(live.port)]);
    assert.ok(conns.length >= 5, 'a listener, two clients and two server sides');
    // Fields the kernel or the environment leaves null in some runs (no addon, no root).
    assertShape('conns.shape.json', shapeOf(conns), isRoot() ? [] : ['$[].tcpInfo', '$[].memory']);
    const listeners = await runCliJson<unknown[]>(['listeners', '--json', '--port', String(live.port)]);
    assert.equal(listeners.length, 1);
    assertShape('listeners.shape.json', shapeOf(listeners));
    const stats = await runCliJson<unknown>(['stats', '--json']);
    assertShape('stats.shape.json', shapeOf(stats));
  } finally {
    await live.close();
  }
});

test('trace JSON events keep their shapes, per event type', async (t) => {
  if (!isRoot()) return t.skip('needs root: tracefs');
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end('bye');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const trace = await startTrace(['all', '--json', '--port', String(port)]);
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        c.on('data', () => undefined);
        c.on('end', () => c.end());
        c.on('close', () => resolve());
        c.on('error', reject);
      });
    }
    // A refused connect: nothing listens on the port after it closes.
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => resolve());
      c.on('connect', () => resolve());
    });
  } finally {
    const { events } = await trace.stop();
    const byType = new Map<string, Map<string, Set<string>>>();
    for (const event of events) {
      const type = String(event.type);
      shapeOf(event, '$', byType.get(type) ?? byType.set(type, new Map()).get(type));
    }
    for (const type of ['state', 'connect', 'accept', 'reset', 'close', 'connect-failed']) {
      assert.ok(byType.has(type), `trace printed a ${type} event (${[...byType.keys()].join(', ')})`);
    }
    const merged = new Map<string, Set<string>>();
    for (const [type, shape] of byType) for (const [k, v] of shape) merged.set(`${type}${k.slice(1)}`, v);
    assertShape('trace.shape.json', merged);
  }
});
