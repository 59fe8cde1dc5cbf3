/**
 * The fleet engines for tests, started from Debian's packages as plain processes (no systemd
 * here) on loopback ports of the namespace they run in, with their data in a temp dir; stopped
 * by PID and removed by t.after, also when the test fails. Each can be stopped and started
 * again on the same port and data (a receiver outage).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/** What the helpers need of a test: somewhere to register cleanups (a TestContext, or a bench's own list). */
export interface Cleanups {
  after(fn: () => void | Promise<void>): void;
}

export function missingEngine(...tools: string[]): string | null {
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) return `needs ${tool} (apt-get install -y --no-install-recommends ${tool === 'clickhouse-server' ? 'clickhouse-server clickhouse-client' : tool})`;
  }
  return null;
}

/** A port free on 127.0.0.1 of this namespace now (the kernel picks it; the engine binds it next). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Engine {
  readonly name: string;
  /** Base URL: http://127.0.0.1:PORT */
  readonly url: string;
  readonly dataDir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** GET a URL where the engine runs (a namespace's loopback needs a client inside it: NsHttp). */
export type Get = (url: string) => Promise<{ readonly status: number; readonly body: string }>;

export const hostGet: Get = async (url) => {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
  } catch (error: unknown) {
    return { status: 0, body: String(error) };
  }
};

async function waitReady(url: string, get: Get, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${url}: the engine exited: ${log()}`);
    if ((await get(url)).status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}: not ready within ${timeoutMs} ms: ${log()}`);
}

function engine(t: Cleanups, name: string, url: string, readyPath: string, dataDir: string, argv: () => readonly string[], o: EngineOptions): Engine {
  const exec = o.exec ?? [];
  const get = o.get ?? hostGet;
  let child: ChildProcess | null = null;
  let log = '';
  const self: Engine = {
    name,
    url,
    dataDir,
    async start() {
      const full = [...exec, ...argv()];
      log = '';
      const c = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
      c.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
      await waitReady(`${url}${readyPath}`, get, c, () => log, 60_000);
    },
    async stop() {
      const c = child;
      child = null;
      if (c === null || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  t.after(async () => {
    await self.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return self;
}

export interface EngineOptions {
  /** argv prefix that runs the engine inside a network namespace. */
  readonly exec?: readonly string[];
  /** The port (inside a namespace of the test's own, any); default: a free one here. */
  readonly port?: number;
  /** The address to bind (default 127.0.0.1; a namespace's own address for agents in other namespaces). */
  readonly host?: string;
  readonly get?: Get;
}

export async function victoriaMetrics(t: Cleanups, o: EngineOptions = {}): Promise<Engine> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-vm-'));
  const host = o.host ?? '127.0.0.1';
  const e = engine(t, 'VictoriaMetrics', `http://${host}:${port}`, '/health', dir, () => [
    'victoria-metrics', `-httpListenAddr=${host}:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=1', '-loggerLevel=ERROR',
    // Samples are searchable at once instead of after the 30 s default cache of recent series.
    '-search.latencyOffset=0s', '-search.disableCache',
  ], o);
  await e.start();
  return e;
}

export async function prometheus(t: Cleanups, o: EngineOptions = {}): Promise<Engine> {
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  const host = o.host ?? '127.0.0.1';
  const e = engine(t, 'Prometheus', `http://${host}:${port}`, '/-/ready', dir, () => [
    'prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=${host}:${port}`, '--web.enable-remote-write-receiver', '--log.level=error',
  ], o);
  await e.start();
  return e;
}

/** ClickHouse with its own config: HTTP and native ports on 127.0.0.1, data under a temp dir, the default user without a password from loopback only. */
export async function clickhouse(t: Cleanups, o: EngineOptions = {}): Promise<Engine> {
  const port = o.port ?? (await freePort());
  const nativePort = o.port === undefined ? await freePort() : port + 1;
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-ch-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  writeFileSync(join(dir, 'users.xml'), `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip>${o.host === undefined ? '' : `<ip>${o.host}/16</ip>`}</networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`);
  const config = join(dir, 'config.xml');
  writeFileSync(config, `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${port}</http_port>
  <tcp_port>${nativePort}</tcp_port>
  <listen_host>${o.host ?? '127.0.0.1'}</listen_host>
  <path>${data}/</path>
  <tmp_path>${data}/tmp/</tmp_path>
  <user_files_path>${data}/user_files/</user_files_path>
  <format_schema_path>${data}/format_schemas/</format_schema_path>
  <users_config>${join(dir, 'users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`);
  const e = engine(t, 'ClickHouse', `http://${o.host ?? '127.0.0.1'}:${port}`, '/', dir, () => ['clickhouse-server', `--config-file=${config}`], o);
  await e.start();
  return e;
}

export interface PromResult {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

/** One PromQL instant query (a vector, or a matrix of raw samples for `metric[range]`). */
export async function promql(get: Get, base: string, query: string): Promise<PromResult[]> {
  const r = await get(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = JSON.parse(r.body) as { status: string; data: { result: PromResult[] } };
  if (body.status !== 'success') throw new Error(`${query}: ${r.body}`);
  return body.data.result;
}

/** A ClickHouse read query's rows (GET, FORMAT JSON). */
export async function chQuery<T = Record<string, unknown>>(get: Get, base: string, sql: string): Promise<T[]> {
  const r = await get(`${base}/?query=${encodeURIComponent(`${sql} FORMAT JSON`)}`);
  if (r.status !== 200) throw new Error(`${sql}: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { data: T[] }).data;
}
