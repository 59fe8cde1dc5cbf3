import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpdiagError } from '../errors.js';
import { readBoundedFile, readBoundedFileSync } from './read-file.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-read-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error: unknown) {
    assert.ok(error instanceof TcpdiagError, String(error));
    return `${error.code}: ${error.message}`;
  }
  return 'read';
}

async function codeAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error: unknown) {
    assert.ok(error instanceof TcpdiagError, String(error));
    return `${error.code}: ${error.message}`;
  }
  return 'read';
}

test('a regular file within the cap is read whole, both ways', async () => {
  const file = join(dir, 'ok.conf');
  const bytes = Buffer.alloc(200_000, 7); // several read(2) chunks
  writeFileSync(file, bytes);
  assert.deepEqual(readBoundedFileSync(file, 200_000, 'config file'), bytes);
  assert.deepEqual(await readBoundedFile(file, 200_000, 'config file'), bytes);
});

test('a FIFO is refused at once instead of blocking in open()', async () => {
  const fifo = join(dir, 'fifo.conf');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const started = performance.now();
  assert.match(code(() => readBoundedFileSync(fifo, 1024, 'config file')), /^TCPDIAG_FILE_REFUSED: cannot use .*fifo\.conf: the config file is a FIFO \(named pipe\), not a regular file/);
  assert.match(await codeAsync(() => readBoundedFile(fifo, 1024, 'config file')), /FIFO/);
  assert.ok(performance.now() - started < 1000);
});

test('/dev/zero and directories are refused, not read', async () => {
  assert.match(code(() => readBoundedFileSync('/dev/zero', 1024, 'payload file')), /the payload file is a character device, not a regular file/);
  assert.match(await codeAsync(() => readBoundedFile('/dev/zero', 1024, 'payload file')), /character device/);
  assert.match(code(() => readBoundedFileSync(dir, 1024, 'baseline')), /the baseline is a directory/);
});

test('a file over the cap is refused with both sizes named', async () => {
  const file = join(dir, 'big.pem');
  writeFileSync(file, Buffer.alloc(5 * 1024 * 1024));
  assert.match(code(() => readBoundedFileSync(file, 4 * 1024 * 1024, 'CA bundle')), /the CA bundle is 5 MiB, more than the 4 MiB tcpdiag reads for a CA bundle/);
  assert.match(await codeAsync(() => readBoundedFile(file, 4 * 1024 * 1024, 'CA bundle')), /5 MiB/);
});

test('a missing file is unreadable, with what it was for', () => {
  assert.match(code(() => readBoundedFileSync(join(dir, 'nope'), 10, 'config file')), /^TCPDIAG_FILE_UNREADABLE: cannot read config file .*nope: no such file or directory \(ENOENT\)/);
});
