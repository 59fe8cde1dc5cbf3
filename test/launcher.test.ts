/**
 * The bin (dist/src/cli/launcher.cjs) runs stats, conns and listeners from their CommonJS
 * start-up bundles and everything else from the ES modules. Both paths must be the same CLI:
 * same help, same options, same JSON shape, same errors.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { CLI, REPO_ROOT, runCli } from './helpers/cli.js';

const ES_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const BUNDLED = ['stats', 'conns', 'listeners'];

function runEsMain(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [ES_MAIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** NODE_DEBUG=esm makes Node log each ES module it loads; a bundled command loads none. */
async function loadsEsModules(args: readonly string[]): Promise<boolean> {
  const r = await runCli(args, { env: { NODE_DEBUG: 'esm' } });
  return /^ESM \d+:/m.test(r.stderr);
}

test('stats, conns and listeners run from their bundles without the ES module loader; other commands from the ES modules', async () => {
  for (const name of BUNDLED) assert.equal(await loadsEsModules([name, '--help']), false, `${name} should run from dist/fast/${name}.cjs`);
  assert.equal(await loadsEsModules(['probe', '--help']), true, 'probe has no bundle: it runs main.js');
  assert.equal(await loadsEsModules(['--help']), true, 'the full help loads every command from the ES modules');
});

test('each bundled command has the same help and the same JSON shape as the ES module build', async () => {
  for (const name of BUNDLED) {
    const bundled = await runCli([name, '--help']);
    const es = runEsMain([name, '--help']);
    assert.equal(bundled.code, 0);
    assert.equal(bundled.stdout, es.stdout, `${name} --help differs between the bundle and main.js`);
  }
  const bundled = await runCli(['stats', '--json']);
  const es = runEsMain(['stats', '--json']);
  assert.equal(bundled.code, 0, bundled.stderr);
  assert.equal(es.code, 0, es.stderr);
  const a = JSON.parse(bundled.stdout) as Record<string, Record<string, unknown>>;
  const b = JSON.parse(es.stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const key of ['states', 'counters', 'sysctl']) assert.deepEqual(Object.keys(a[key]!).sort(), Object.keys(b[key]!).sort(), key);
  // The bundle loads the native addon from native/build (netlink), not the /proc/net/tcp fallback.
  assert.equal(bundled.stderr, '', 'no fallback warning from the bundle');
});

test('a global --config before the command still selects the bundle, and a bad config is reported the same way', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-launcher-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Broken TOML stops every command; a bad key in a section conns does not read ([agent]) is a
  // warning. Both the same way on both paths.
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, '[agent]\nport = = 8\n');
  const bundled = await runCli(['--config', bad, 'conns']);
  const es = runEsMain(['--config', bad, 'conns']);
  assert.notEqual(bundled.code, 0);
  assert.equal(bundled.code, es.code);
  assert.equal(bundled.stderr, es.stderr);
  assert.match(bundled.stderr, /bad\.conf:2:\d+: not valid TOML/);
  const unused = join(dir, 'unused.conf');
  writeFileSync(unused, '[agent]\nport = "eighty"\n');
  const warned = await runCli(['--config', unused, 'conns', '--json']);
  const warnedEs = runEsMain(['--config', unused, 'conns', '--json']);
  assert.equal(warned.code, 0, warned.stderr);
  assert.equal(warnedEs.code, 0);
  assert.match(warned.stderr, /\[agent\] is not used by this command and keeps its defaults: agent\.port/);
  assert.equal(warned.stderr.split('\n')[0], warnedEs.stderr.split('\n')[0]);
});

test('usage errors and unknown commands exit 2 on both paths', async () => {
  const unknownOption = await runCli(['stats', '--no-such-option']);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /unknown option/);
  const typo = await runCli(['statz']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /Did you mean stats\?/);
});

test('a trace whose reader has gone exits promptly on Ctrl-C instead of spinning on stderr write errors', async (t) => {
  if (!isRoot() || tracefsRoot() === null) return t.skip('needs root and tracefs');
  const child = spawn(process.execPath, [CLI, 'trace', 'states', '--json', '--port', '1'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('Ctrl-C to stop')) resolve();
    });
    setTimeout(() => reject(new Error(`trace did not start: ${stderr}`)), 20_000).unref();
  });
  // The reading side dies (a killed test runner, a closed terminal): both pipes lose their reader.
  child.stdout.destroy();
  child.stderr.destroy();
  child.kill('SIGINT'); // the summary line on stderr now fails with EPIPE
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const { signal } = await exited;
  clearTimeout(killer);
  assert.equal(signal, null, 'exited by itself, not killed after 10 s');
});
