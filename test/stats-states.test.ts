/**
 * stats counts ESTABLISHED and TIME_WAIT from the kernel's running totals (tcpCurrEstab,
 * sockstat's tw) and dumps only the other states. In a private network namespace, where a
 * known mix of sockets is all there is, those counts must equal the full table's exactly,
 * including orphaned FIN_WAIT2 sockets (timewait sockets that sockstat's tw also counts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'node:test';
import { CLI, REPO_ROOT } from './helpers/cli.js';

const NAMESPACE = `tcpdiag-stats-${process.pid}`;

function inNamespace(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', NAMESPACE, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('stats state counts equal the full table in a namespace holding a known mix of states', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: creates a network namespace');
  if (spawnSync('ip', ['netns', 'add', NAMESPACE]).status !== 0) return t.skip('cannot create a network namespace here');
  t.after(() => spawnSync('ip', ['netns', 'delete', NAMESPACE]));
  assert.equal(spawnSync('ip', ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']).status, 0);

  const mix = spawn('ip', ['netns', 'exec', NAMESPACE, 'python3', join(REPO_ROOT, 'test/fixtures/programs/state_mix.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => mix.stdin.end());
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: mix.stdout }).once('line', resolve);
    mix.once('exit', (code) => reject(new Error(`state_mix.py exited ${code}`)));
  });
  const expected = JSON.parse(line) as Record<string, number>;

  const stats = inNamespace(['stats', '--json', '--no-sysctl']);
  assert.equal(stats.code, 0, stats.stderr);
  const states = (JSON.parse(stats.stdout) as { states: Record<string, number> }).states;
  const table = inNamespace(['conns', '--json', '--no-processes']);
  assert.equal(table.code, 0, table.stderr);
  const fromTable: Record<string, number> = {};
  for (const s of JSON.parse(table.stdout) as { state: string }[]) fromTable[s.state] = (fromTable[s.state] ?? 0) + 1;

  for (const [state, count] of Object.entries(expected)) {
    assert.equal(fromTable[state], count, `conns: ${state}`);
    assert.equal(states[state], count, `stats: ${state}`);
  }
  for (const [state, count] of Object.entries(states)) assert.equal(count, fromTable[state] ?? 0, `stats vs conns: ${state}`);
});
