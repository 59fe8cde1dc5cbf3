/**
 * Run the built CLI as an unprivileged user (nobody, uid 65534), optionally holding a few
 * capabilities as ambient ones, the way a systemd unit's AmbientCapabilities= grants them:
 * `setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+CAP --ambient-caps=+CAP`.
 *
 * nobody must be able to reach the checkout: a checkout inside a directory of mode 0700 (a
 * `mktemp -d` folder, /root) is not. Then the parts the CLI runs from (dist, node_modules, the
 * addon, package.json) are hard-linked into a fresh directory under /tmp that nobody can enter,
 * removed when the test process exits. When even that cannot run (node itself unreachable,
 * no setpriv), `nobodySkip()` says why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from './cli.js';
import type { CliResult } from './cli.js';
import { findExecutable, isRoot } from '../../src/platform/capabilities.js';

export const NOBODY = 65534;
const DROP = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
const RUNTIME = ['dist', 'node_modules', 'package.json', 'native', 'tcp_diag.conf'];

let prepared: { cli: string } | { skip: string } | null = null;

function nobodyCanRun(cli: string): string | null {
  const r = spawnSync('setpriv', [...DROP, process.execPath, cli, '--version'], { cwd: '/', encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return null;
  return (r.stderr || r.error?.message || `exit ${r.status}`).split('\n')[0] ?? 'failed';
}

/** The CLI path nobody runs: the checkout's, or that of a reachable copy. */
function prepare(): { cli: string } | { skip: string } {
  if (!isRoot()) return { skip: 'needs root to drop to an unprivileged user' };
  if (findExecutable('setpriv') === null) return { skip: 'needs setpriv (util-linux)' };
  const direct = nobodyCanRun(CLI);
  if (direct === null) return { cli: CLI };
  const copy = mkdtempSync(join(tmpdir(), 'tcpdiag-nobody-'));
  chmodSync(copy, 0o755);
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  for (const part of RUNTIME) {
    if (!existsSync(join(REPO_ROOT, part))) continue;
    // Hard links: instant and no extra space; cp -a where linking is refused (another filesystem).
    const linked = spawnSync('cp', ['-al', join(REPO_ROOT, part), copy]);
    if (linked.status !== 0 && spawnSync('cp', ['-a', join(REPO_ROOT, part), copy]).status !== 0) return { skip: `cannot copy ${part} to ${copy}` };
  }
  const cli = join(copy, 'dist', 'src', 'cli', 'launcher.cjs');
  const why = nobodyCanRun(cli);
  return why === null ? { cli } : { skip: `nobody cannot run tcpdiag here, not even from a copy in ${copy}: ${why} (checkout: ${direct})` };
}

function reachable(): { cli: string } | { skip: string } {
  prepared ??= prepare();
  return prepared;
}

/** Why the CLI cannot be run as nobody here, or null when it can. */
export function nobodySkip(): string | null {
  const r = reachable();
  return 'skip' in r ? r.skip : null;
}

export interface NobodyOptions {
  /** Capabilities held as ambient ones, as setpriv names them: 'net_raw', 'dac_override'. */
  readonly capabilities?: readonly string[];
  readonly timeoutMs?: number;
}

/** Run the CLI as nobody (call nobodySkip() first). */
export function runAsNobody(args: readonly string[], options: NobodyOptions = {}): Promise<CliResult> {
  const r = reachable();
  if ('skip' in r) throw new Error(r.skip);
  const caps = (options.capabilities ?? []).map((c) => `+${c}`).join(',');
  const capArgs = caps === '' ? [] : [`--inh-caps=${caps}`, `--ambient-caps=${caps}`];
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [...DROP, ...capArgs, process.execPath, r.cli, ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
