/**
 * Shared pieces of the diagnosis end-to-end tests: private network namespaces (created and
 * always removed), processes started inside them (tcpdiag itself or the tcp-actor fixture),
 * and `tcpdiag diagnose --json` run where the condition is.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import { watchChild } from './helpers/child-output.js';
import type { DiagnosisFinding, DiagnosisReport } from '../src/model/diagnosis.js';

export const ACTOR = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'programs', 'tcp-actor.js');

export function rootSkipReason(...tools: string[]): string | null {
  if (process.getuid?.() !== 0) return 'needs root: creates network namespaces and traces kernel events';
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) return `needs ${tool}`;
  }
  return null;
}

function run(file: string, args: readonly string[], input?: string): string {
  const r = spawnSync(file, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A network namespace with loopback up, removed by t.after (also when the test fails). */
export class Netns {
  private constructor(readonly name: string) {}

  static create(t: TestContext, purpose: string): Netns {
    const name = `tcpdiag-${purpose}-${process.pid}`;
    spawnSync('ip', ['netns', 'delete', name]);
    run('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    t.after(() => ns.remove());
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  ip(...args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }

  sysctl(name: string, value: string): void {
    run('ip', ['netns', 'exec', this.name, 'sysctl', '-q', '-w', `${name}=${value}`]);
  }

  /** An nft ruleset (nft -f syntax) loaded inside the namespace; it goes with the namespace. */
  nft(ruleset: string): void {
    run('ip', ['netns', 'exec', this.name, 'nft', '-f', '-'], ruleset);
  }

  /** The argv prefix that runs a command inside the namespace. */
  get exec(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  remove(): void {
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

export interface Proc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** /proc/PID/comm, what the report names it. */
  readonly comm: string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

/** Start a process (inside `ns` when given); stopped by t.after. `ip netns exec` execs the command, so the pid is the command's. */
export function startProcess(t: TestContext, argv: readonly string[], ns?: Netns): Promise<Proc> {
  const full = ns === undefined ? argv : [...ns.exec, ...argv];
  const child = spawn(full[0]!, full.slice(1), { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = watchChild(child, argv.join(' '));
  const proc: Proc = {
    child,
    pid: child.pid!,
    get comm() {
      return readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    },
    waitFor: (pattern, timeoutMs = 15_000) => output.waitFor(pattern, timeoutMs, true),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await output.exited;
        clearTimeout(timer);
      }
    },
  };
  t.after(() => proc.stop());
  return Promise.resolve(proc);
}

export function actor(t: TestContext, args: readonly string[], ns?: Netns): Promise<Proc> {
  return startProcess(t, [process.execPath, ACTOR, ...args], ns);
}

export function tcpdiagProcess(t: TestContext, args: readonly string[], ns?: Netns): Promise<Proc> {
  return startProcess(t, [process.execPath, CLI, ...args], ns);
}

/** A tcp_diag.conf with some keys overridden, in a temp dir. */
export function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-diagnose-'));
  const path = join(dir, 'tcp_diag.conf');
  writeFileSync(path, text);
  return path;
}

export interface Diagnosis {
  readonly report: DiagnosisReport;
  readonly stderr: string;
}

/**
 * `tcpdiag diagnose --json ARGS` (inside `ns` when given), expected to exit with `expectExit`. Resolves once it exits; `started`
 * resolves when the window has begun (its "watching" note), so a test can act inside it.
 */
export function diagnose(args: readonly string[], ns?: Netns, expectExit = 0): { started: Promise<void>; done: Promise<Diagnosis> } {
  const argv = [...(ns?.exec ?? []), process.execPath, CLI, 'diagnose', '--json', ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (/watching for/.test(stderr)) markStarted();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<Diagnosis>((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      markStarted();
      if (code !== expectExit) return reject(new Error(`diagnose exited ${code}, not ${expectExit}: ${stderr}`));
      try {
        resolve({ report: JSON.parse(stdout) as DiagnosisReport, stderr });
      } catch (error: unknown) {
        reject(new Error(`diagnose printed no JSON (${String(error)}): ${stdout} ${stderr}`));
      }
    });
  });
  return { started, done };
}

/** The one finding with this id (and subject, when given); fails with the whole report otherwise. */
export function finding(report: DiagnosisReport, id: string, match: (f: DiagnosisFinding) => boolean = () => true): DiagnosisFinding {
  const found = report.findings.filter((f) => f.id === id && match(f));
  const rule = report.checked.find((c) => c.id === id);
  assert.equal(found.length, 1, `one ${id} finding expected, got ${found.length}; checked: ${JSON.stringify(rule)}; findings: ${JSON.stringify(report.findings, null, 1).slice(0, 4000)}`);
  return found[0]!;
}

export function checked(report: DiagnosisReport, id: string): DiagnosisReport['checked'][number] {
  const c = report.checked.find((x) => x.id === id);
  assert.ok(c, `rule ${id} is in checked`);
  return c;
}

/** No warning or critical finding: the report's own text says which when there is one. */
export function assertNoAlarms(report: DiagnosisReport): void {
  const alarms = report.findings.filter((f) => f.severity !== 'info');
  assert.deepEqual(alarms.map((f) => `${f.id}: ${f.title}`), [], JSON.stringify(alarms, null, 1).slice(0, 4000));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
