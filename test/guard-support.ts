/**
 * Helpers for the guard and plan tests: the CLI with a private data directory, nft's view of
 * the ruleset, and connections from a chosen loopback address.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { runCli } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';

/** tcpdiag with the guard's idle threshold short enough for a test (1 s instead of 10 s). */
export function guardCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env: { TCPDIAG_GUARD_IDLE_S: '1', SUDO_USER: '', USER: 'tester', ...env }, timeoutMs: 60_000 });
}

export async function guardJson<T>(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const r = await guardCli(args, env);
  if (r.code !== 0) throw new Error(`tcpdiag ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function nft(args: readonly string[], prefix: readonly string[] = []): { code: number; stdout: string; stderr: string } {
  const argv = [...prefix, 'nft', ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export function ruleset(prefix: readonly string[] = []): string {
  const r = nft(['list', 'ruleset'], prefix);
  if (r.code !== 0) throw new Error(`nft list ruleset failed: ${r.stderr}`);
  return r.stdout;
}

/** Remove tcpdiag's guard table if a failed test left it (host or namespace). */
export function dropGuardTable(prefix: readonly string[] = []): void {
  nft(['delete', 'table', 'inet', 'tcpdiag_guard'], prefix);
}

/** Connect from `localAddress`; resolves the socket, or the error ('timeout' when no SYN-ACK came in `timeoutMs`). */
export function connectFrom(port: number, localAddress: string, timeoutMs: number): Promise<net.Socket | 'timeout' | Error> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (error) => {
      clearTimeout(timer);
      resolve(error);
    });
  });
}

/** One request and its echo on an open connection. */
export function echo(s: net.Socket, bytes: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    const timer = setTimeout(() => done(false), timeoutMs);
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= bytes) done(true);
    };
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.off('data', onData);
      resolve(ok);
    };
    s.on('data', onData);
    s.write(Buffer.alloc(bytes, 0x62));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
