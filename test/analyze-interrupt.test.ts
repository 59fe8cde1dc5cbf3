/**
 * Ctrl-C during a large `analyze` stops it at once: the file is read a chunk at a time and the
 * event loop gets a turn between chunks, so the signal is handled within one chunk's analysis,
 * not after the whole file (the synchronous read loop before waited for the last byte).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import { writeBigCapture } from './helpers/big-capture.js';

const PACKETS = 4_000_000;

/** Bytes the process has read so far (/proc/PID/io rchar). */
function bytesRead(pid: number): number {
  try {
    return Number(/^rchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

test('Ctrl-C stops analyze of a 4-million-packet capture within 200 ms, with the report of what was read', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-interrupt-'));
  try {
    const file = join(dir, 'big.pcap');
    const size = writeBigCapture(file, PACKETS);
    const child = spawn(process.execPath, [CLI, 'analyze', '--json', file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Interrupt once it is well into the file (20 MB read), whatever the machine's speed.
    const deadline = Date.now() + 30_000;
    while (bytesRead(child.pid!) < 20e6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(bytesRead(child.pid!) >= 20e6, 'analyze started reading the file');
    const interruptedAt = performance.now();
    child.kill('SIGINT');
    const code = await closed;
    const tookMs = performance.now() - interruptedAt;
    assert.equal(code, 0, stderr);
    assert.ok(tookMs < 200, `exited ${tookMs.toFixed(0)} ms after SIGINT`);
    const report = JSON.parse(stdout) as { packets: number };
    assert.ok(report.packets > 0 && report.packets < PACKETS, `a report of the ${report.packets} packets read before the stop (of ${PACKETS}, ${size} bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
