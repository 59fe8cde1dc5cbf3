/**
 * The fleet exporters' cost and the engines' bytes, the figures deploy/fleet/README.md's sizing
 * rests on:
 * - the agent's added CPU for the exporters at 1 s resolution: two `tcpdiag serve` run side by
 *   side for the same window, one plain and one pushing every second to VictoriaMetrics and
 *   ClickHouse; the difference of their CPU (utime + stime, /proc/PID/stat) as a share of a core;
 * - bytes per sample as VictoriaMetrics stores them (its own vm_data_size_bytes over vm_rows for
 *   the storage parts, after /internal/force_flush);
 * - bytes per event row as ClickHouse stores them (system.parts bytes_on_disk over rows after
 *   OPTIMIZE ... FINAL), for `rows` rows shaped like the agent's (alerts with evidence, the
 *   event collector's kernel events with their endpoints and detail, per-peer rollup rows; many
 *   hosts and peers), built by the exporter's own rowsOf() and inserted as it does (JSONEachRow
 *   batches); and the same for the rows the exporting agent itself wrote in the window.
 * The reference is the target itself (the arithmetic): no other exporter runs here.
 *
 * Usage: node dist/bench/fleet.js [seconds=60] [rows=200000]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { clickhouse, hostGet, victoriaMetrics } from '../test/helpers/engines.js';
import { createTableSql, rowsOf } from '../src/sinks/clickhouse/rows.js';
import type { AlertTransition } from '../src/model/alert.js';
import { launcherNodeFlags } from './fixtures/launcher-flags.js';
import { TICKS_PER_S, cpuTicks } from './fixtures/proc-cpu.js';

const seconds = Number(process.argv[2] ?? 60);
const rows = Number(process.argv[3] ?? 200_000);
const CLI = join(fileURLToPath(new URL('../src/cli/launcher.cjs', import.meta.url)));

async function serve(args: readonly string[], config: string, data: string, children: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...launcherNodeFlags(CLI), CLI, '--config', config, 'serve', '--listen', '127.0.0.1:0', '--data', data, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (/listening on/.test(line)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdiag serve exited ${code}`)));
  });
  return child;
}

function metric(text: string, pattern: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function chPost(url: string, sql: string, body?: string): Promise<string> {
  const r = await fetch(body === undefined ? url : `${url}/?query=${encodeURIComponent(sql)}`, { method: 'POST', body: body ?? sql });
  const text = await r.text();
  if (!r.ok) throw new Error(`${sql}: ${r.status} ${text}`);
  return text;
}

/**
 * Rows as the agents write them, through the exporter's rowsOf(): one in ten an alert with
 * evidence, one in ten a per-peer rollup minute (up to three rows: resets, retransmits, failed),
 * the rest the event collector's kernel events (model/agent-event.ts); 1,000 hosts, 5,000 peers.
 */
function syntheticRows(n: number, startMs: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = `web-${String(i % 1000).padStart(4, '0')}`;
    const peer = `10.${(i >> 8) % 20}.${i % 250}.${(i * 7) % 250}`;
    const atMs = startMs + i * 37;
    if (i % 10 === 0) {
      const t: AlertTransition = {
        status: 'firing', repeat: false, rule: 'packet-loss', metric: 'loss_percent', severity: 'P2', scopeKind: 'peer', scope: peer, value: 5 + (i % 13), threshold: 5,
        atMs, startsAtMs: atMs, activeSinceMs: atMs - 60_000, summary: 'share of bytes sent to one peer that had to be resent',
        evidence: { counters: { OutSegsPerS: 1200 + (i % 100), RetransSegsPerS: 70 + (i % 9) }, topListeners: [{ listener: '10.0.0.5:8080', sockets: 12, backlog: 4096, acceptQueue: 0, process: { pid: 1234, process: 'nginx' } }], topSources: [{ source: peer, sockets: 12 }], sockets: [] },
      };
      lines.push(...rowsOf(host, { kind: 'alert', atMs, transition: t }).map((r) => JSON.stringify(r)));
    } else if (i % 10 === 5) {
      const minute = { ts: atMs - (atMs % 60_000), by: 'peer' as const, key: peer, opened: 40 + (i % 9), closed: 39, resets: i % 3, retransmits: 12 + (i % 17), failed: i % 2, bytesSent: 1_200_000 + i, bytesReceived: 80_000, rttMeanMs: 0.8, rttMaxMs: 3.1, rttSamples: 12 };
      lines.push(...rowsOf(host, { kind: 'rollup', atMs, rows: [minute] }).map((r) => JSON.stringify(r)));
    } else {
      const event = i % 3 === 0 ? 'reset' : 'retransmit';
      const data = {
        ts: atMs, kind: event, family: 4, local: { address: '10.0.0.5', port: 8080 }, remote: { address: peer, port: 30_000 + (i % 30_000) },
        direction: event === 'reset' ? 'sent' : 'data', state: 'ESTABLISHED', reason: event === 'reset' ? 'NOT_SPECIFIED' : null, detail: event === 'reset' ? {} : { srtt_ms: 1.2, retrans: 1 + (i % 4) },
      };
      lines.push(...rowsOf(host, { kind: 'event', atMs, event, data }).map((r) => JSON.stringify(r)));
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const cleanups: (() => void | Promise<void>)[] = [];
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-bench-fleet-'));
  try {
    const vm = await victoriaMetrics({ after: (fn) => cleanups.push(fn) });
    const ch = await clickhouse({ after: (fn) => cleanups.push(fn) });
    const config = join(dir, 'tcp_diag.conf');
    writeFileSync(config, '[agent]\ndiagnose_interval_s = 0\n[fleet]\nremote_write_interval_s = 1\nevents_flush_interval_s = 1\n');
    const plain = await serve([], config, join(dir, 'plain'), children);
    const exporting = await serve(['--remote-write', `${vm.url}/api/v1/write`, '--clickhouse', ch.url, '--host-label', 'bench'], config, join(dir, 'exporting'), children);
    await new Promise((r) => setTimeout(r, 6000));
    const before = [cpuTicks(plain.pid!), cpuTicks(exporting.pid!)];
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wall = (performance.now() - t0) / 1000;
    const share = (pid: number, from: number) => ((cpuTicks(pid) - from) / TICKS_PER_S / wall) * 100;
    const plainCpu = share(plain.pid!, before[0]!);
    const exportingCpu = share(exporting.pid!, before[1]!);

    await hostGet(`${vm.url}/internal/force_flush`);
    await new Promise((r) => setTimeout(r, 2000));
    const vmMetrics = (await hostGet(`${vm.url}/metrics`)).body;
    const vmRows = metric(vmMetrics, /^vm_rows\{type="storage\/(small|big)"\}/);
    const vmBytes = metric(vmMetrics, /^vm_data_size_bytes\{type="storage\/(small|big)"\}/);

    await chPost(`${ch.url}/?allow_experimental_low_cardinality_type=1`, createTableSql('default', 'bench_events'), createTableSql('default', 'bench_events'));
    const lines = syntheticRows(rows, Date.now() - rows * 37);
    const insertT0 = performance.now();
    for (let i = 0; i < lines.length; i += 10_000) await chPost(ch.url, 'INSERT INTO default.bench_events FORMAT JSONEachRow', lines.slice(i, i + 10_000).join('\n') + '\n');
    const insertS = (performance.now() - insertT0) / 1000;
    await chPost(ch.url, 'OPTIMIZE TABLE default.bench_events FINAL');
    const parts = JSON.parse(await chPost(ch.url, "SELECT toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE table = 'bench_events' AND active FORMAT JSON")) as { data: { rows: string; bytes: string }[] };
    const chRows = Number(parts.data[0]?.rows);
    const chBytes = Number(parts.data[0]?.bytes);
    const jsonBytes = lines.reduce((n, l) => n + l.length + 1, 0);
    // What the exporting agent itself wrote in the window (its alerts, kernel events, rollups): few rows, so an upper bound.
    await chPost(ch.url, 'OPTIMIZE TABLE default.tcpdiag_events FINAL').catch(() => '');
    const own = JSON.parse(await chPost(ch.url, "SELECT toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE table = 'tcpdiag_events' AND active FORMAT JSON")) as { data: { rows: string; bytes: string }[] };
    const ownRows = Number(own.data[0]?.rows ?? 0);
    const ownBytes = Number(own.data[0]?.bytes ?? 0);

    const line = (label: string, value: string): void => console.log(`${label.padEnd(52)} ${value}`);
    console.log(`fleet exporters, ${seconds} s window, remote write and events every 1 s`);
    line('agent CPU, plain (% of a core)', plainCpu.toFixed(2));
    line('agent CPU, exporting (% of a core)', exportingCpu.toFixed(2));
    line('added by the exporters (% of a core)', (exportingCpu - plainCpu).toFixed(2));
    line('VictoriaMetrics: samples stored', String(vmRows));
    line('VictoriaMetrics: bytes per sample (storage parts)', vmRows > 0 ? (vmBytes / vmRows).toFixed(2) : 'n/a');
    line(`ClickHouse: ${chRows} rows, JSONEachRow bytes per row`, (jsonBytes / lines.length).toFixed(1));
    line('ClickHouse: bytes per row on disk (after OPTIMIZE FINAL)', (chBytes / chRows).toFixed(1));
    line('ClickHouse: insert rate (rows/s, 10k-row batches)', Math.round(lines.length / insertS).toString());
    line(`ClickHouse: the agent's own ${ownRows} rows, bytes per row on disk`, ownRows > 0 ? (ownBytes / ownRows).toFixed(1) : 'n/a (no row in the window)');
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())));
    for (const fn of cleanups.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
