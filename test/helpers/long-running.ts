/**
 * Long-running CLI processes for end-to-end tests (tcpdiag server, proxy, fault): start one,
 * wait for a line on its stdout, stop it with a signal, and read the kernel's socket table
 * with `ss` to check the states a command promises.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI, REPO_ROOT } from './cli.js';
import { watchChild } from './child-output.js';

export interface LongRunning {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolve with the first match of `pattern` in stdout (already printed or still to come). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The exit, when it comes by itself. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send a signal and wait for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): LongRunning {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = watchChild(child, `tcpdiag ${args.join(' ')}`);
  return {
    child,
    stdout: output.stdout,
    stderr: output.stderr,
    exited: output.exited,
    waitFor: (pattern, timeoutMs = 10_000) => output.waitFor(pattern, timeoutMs),
    async stop(signal = 'SIGINT', graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await output.exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface SsSocket {
  readonly state: string;
  readonly recvQ: number;
  readonly sendQ: number;
  readonly local: string;
  readonly peer: string;
}

/** TCP sockets whose local or peer port is `port`, from `ss -tanH` (the kernel's socket table). */
export function socketsOnPort(port: number): SsSocket[] {
  const text = execFileSync('ss', ['-tanH', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [state = '', recvQ = '0', sendQ = '0', local = '', peer = ''] = line.trim().split(/\s+/);
      return { state, recvQ: Number(recvQ), sendQ: Number(sendQ), local, peer };
    });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
