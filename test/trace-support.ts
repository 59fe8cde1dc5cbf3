/**
 * Helpers for the trace tests: run `tcpdiag trace` in the background until it says it is
 * tracing, stop it with SIGINT like a user's Ctrl-C, and parse its JSON lines; run commands
 * inside a private network namespace so kernel counters there count only our traffic.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { CLI, REPO_ROOT } from './helpers/cli.js';

export interface BackgroundTrace {
  readonly child: ChildProcess;
  /** Stop with SIGINT and collect everything it printed. */
  stop(): Promise<{ code: number | null; stdout: string; stderr: string; events: Array<Record<string, unknown>> }>;
}

export async function startTrace(args: readonly string[], readyTimeoutMs = 20_000): Promise<BackgroundTrace> {
  const child = spawn(process.execPath, [CLI, 'trace', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trace did not start: ${stderr}`)), readyTimeoutMs);
    const check = () => {
      if (stderr.includes('Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`trace exited ${code} before starting: ${stderr}`));
    });
  });
  return {
    child,
    async stop() {
      // Give the poll loop (100 ms) time to read the last events before asking it to stop.
      await sleep(300);
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      // Parsed on first use: a trace in text mode has no JSON lines to parse.
      return { code, stdout, stderr, get events() { return parseJsonLines(stdout); } };
    },
  };
}

export function parseJsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A loopback server on an ephemeral port that closes each connection after `reply`. */
export async function closingServer(reply = 'bye'): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end(reply);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** Open a connection, read until the server closes, close our side. */
export function roundTrip(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    c.on('data', () => undefined);
    c.on('end', () => c.end());
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

/** A port nobody listens on: bind, note the port, close. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function run(file: string, args: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000, ...(input === undefined ? {} : { input }) });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** /proc/net/snmp + netstat of a network namespace, as name -> value. */
export function netnsCounters(ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ['/proc/net/snmp', '/proc/net/netstat']) {
    const text = run('ip', ['netns', 'exec', ns, 'cat', file]).stdout;
    const lines = text.split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      if (names[0] !== values[0]) continue;
      names.slice(1).forEach((n, j) => {
        const v = Number(values[j + 1]);
        if (n !== '' && Number.isFinite(v)) out[n] = v;
      });
    }
  }
  return out;
}
