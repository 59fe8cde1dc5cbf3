/**
 * Shared pieces of the alert tests: `tcpdiag watch --json` run inside a private network
 * namespace (its kernel counters are the namespace's own, so nothing else on the machine moves
 * them), a webhook receiver beside it, and a request made from inside the namespace.
 */
import { watchChild } from './helpers/child-output.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import type { Netns } from './diagnose-support.js';
import { startProcess } from './diagnose-support.js';
import type { AlertLine } from '../src/model/alert.js';

export const RECEIVER = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'programs', 'webhook-receiver.js');

/** A temp dir removed by t.after. */
export function tempDir(t: TestContext, purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tcpdiag-${purpose}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeConfig(dir: string, text: string): string {
  const path = join(dir, 'tcp_diag.conf');
  writeFileSync(path, text);
  return path;
}

export interface Watch {
  readonly pid: number;
  lines(): AlertLine[];
  stderr(): string;
  /** The first line matching, printed already or to come. */
  waitForLine(match: (l: AlertLine) => boolean, timeoutMs: number): Promise<AlertLine>;
  /** SIGTERM and wait for the exit; the exit code. */
  stop(): Promise<number | null>;
}

export async function startWatch(t: TestContext, ns: Netns, args: readonly string[]): Promise<Watch> {
  const argv = [...ns.exec, process.execPath, CLI, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = watchChild(child, `tcpdiag ${args.join(' ')}`);
  const lines = (): AlertLine[] => output.stdout().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AlertLine);
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const watch: Watch = {
    pid: child.pid!,
    lines,
    stderr: output.stderr,
    waitForLine: (match, timeoutMs) => output.waitUntil(() => lines().find(match), timeoutMs, 'the line'),
    async stop() {
      if (!gone()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const { code } = await output.exited;
        clearTimeout(timer);
        return code;
      }
      return (await output.exited).code;
    },
  };
  t.after(() => watch.stop());
  await output.waitUntil(() => (/watching \d+ rules/.test(output.stderr()) ? true : undefined), 30_000, 'its start (watching N rules)');
  return watch;
}

export interface Receiver {
  readonly url: string;
  /** The JSON bodies received so far. */
  bodies(): unknown[];
}

/** The webhook receiver fixture inside the namespace: `answer` replies 200, `hang` never replies. */
export async function startReceiver(t: TestContext, ns: Netns, mode: 'answer' | 'hang'): Promise<Receiver> {
  const proc = await startProcess(t, [process.execPath, RECEIVER, mode], ns);
  const port = Number((await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  let text = '';
  proc.child.stdout.on('data', (d: string) => (text += d));
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    bodies: () => text.split('\n').filter((l) => l.startsWith('REQUEST POST ')).map((l) => JSON.parse(l.replace(/^REQUEST POST \S+ /, '')) as unknown),
  };
}

/** GET a URL from inside the namespace (where the service listens on its loopback). */
export function getInNs(ns: Netns, url: string): { status: number; body: string } {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { process.stdout.write(r.status + '\\n' + await r.text()); }, (e) => { process.stdout.write('0\\n' + String(e)); })`;
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
  const [status = '0', ...rest] = r.stdout.split('\n');
  return { status: Number(status), body: rest.join('\n') };
}
