/**
 * Helpers for the `tcpdiag serve` tests: the agent started inside a test's network namespace
 * (its counters and sockets are the namespace's alone, so they can be compared exactly with ss
 * and nstat run there), and a keep-alive HTTP client in the same namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './helpers/cli.js';
import type { Netns, Proc } from './diagnose-support.js';
import { tcpdiagProcess } from './diagnose-support.js';

const HTTP_CLIENT = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'programs', 'http-client.js');

export interface Agent {
  readonly proc: Proc;
  readonly url: string;
  readonly port: number;
}

/** `tcpdiag [--config C] serve --listen 127.0.0.1:0 --data DIR ARGS` inside `ns`, once it prints where it listens. */
export async function startAgent(t: TestContext, ns: Netns, dataDir: string, config: string | null, args: readonly string[] = []): Promise<Agent> {
  const proc = await tcpdiagProcess(t, [...(config === null ? [] : ['--config', config]), 'serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...args], ns);
  const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:(\d+))/, 20_000);
  return { proc, url: m[1]!, port: Number(m[2]) };
}

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** One keep-alive connection inside `ns`: requests in order, answers in order. */
export class NsHttp {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((r: HttpReply) => void)[] = [];

  constructor(t: TestContext, ns: Netns) {
    this.child = spawn(ns.exec[0]!, [...ns.exec.slice(1), process.execPath, HTTP_CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as HttpReply));
    t.after(() => {
      this.child.stdin.end();
      this.child.kill('SIGKILL');
    });
  }

  request(method: string, url: string, auth?: string): Promise<HttpReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${method} ${url}${auth === undefined ? '' : ` ${auth}`}\n`);
    });
  }

  async json<T = Record<string, unknown>>(url: string, method = 'GET'): Promise<T> {
    const r = await this.request(method, url);
    if (r.status !== 200) throw new Error(`${method} ${url}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  }
}

/** One sample's value from Prometheus text, or undefined. `series` is the name with its labels as printed. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Sockets of the namespace in a state, as ss counts them (`ss -Htan state STATE [filter]`). */
export function ssCount(ns: Netns, state: string, filter: readonly string[] = []): number {
  // 60,000 sockets are ~6 MB of ss lines: past spawnSync's 1 MiB default, which fails the call.
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'ss', '-Htan', 'state', state, ...filter], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 || r.error !== undefined) throw new Error(`ss failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

/** The namespace's absolute kernel counters as nstat prints them (nstat -asz: absolute, no history update). */
export function nstat(ns: Netns): Map<string, number> {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'nstat', '-asz'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nstat failed: ${r.stderr}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\w+)\s+(\d+)/.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}
