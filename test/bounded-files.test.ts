/**
 * Every file tcpdiag reads because the user named it — config, payload, baseline, CA bundle —
 * is refused when it is not a regular file or is larger than its cap: a FIFO as config blocked
 * forever, /dev/zero was read until memory ran out (7.7 GB for client --file /dev/zero).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-bounded-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fifo = join(dir, 'fifo');
assert.equal(spawnSync('mkfifo', [fifo]).status, 0);

async function refused(args: string[], pattern: RegExp): Promise<void> {
  const started = Date.now();
  const r = await runCli(args, { timeoutMs: 15_000 });
  assert.notEqual(r.signal, 'SIGKILL', `${args.join(' ')} hung`);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, pattern, args.join(' '));
  assert.match(r.stderr, /\[TCPDIAG_FILE_REFUSED\]/);
  assert.ok(Date.now() - started < 10_000);
}

test('a FIFO as config is refused at once instead of blocking forever', async () => {
  await refused(['conns', '--config', fifo], /the config file is a FIFO \(named pipe\), not a regular file/);
  await refused(['analyze', '--config', fifo, '/nonexistent.pcap'], /FIFO/);
});

test('/dev/zero as config, payload, baseline or CA bundle is refused, not read without limit', async () => {
  await refused(['listeners', '--config', '/dev/zero'], /the config file is a character device/);
  await refused(['client', '127.0.0.1:9', '--file', '/dev/zero'], /the payload file is a character device/);
  await refused(['bench', '127.0.0.1:9', '-n', '1', '--baseline', '/dev/zero'], /the baseline is a character device/);
  await refused(['probe', '127.0.0.1:9', '--ca', '/dev/zero'], /the CA bundle is a character device/);
});

test('a config file over 1 MiB is refused with its size', async () => {
  const big = join(dir, 'big.conf');
  writeFileSync(big, '');
  truncateSync(big, 2 * 1024 * 1024);
  await refused(['conns', '--config', big], /the config file is 2 MiB, more than the 1 MiB tcpdiag reads for a config file/);
});
