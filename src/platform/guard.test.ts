import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startGuard } from './guard.js';

const GUARD_MODULE = pathToFileURL(join(import.meta.dirname, 'guard.js')).href;

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function startHolder(target: string): ChildProcessByStdio<null, Readable, null> {
  // A holder process starts the guard and waits; kill -9 gives it no chance to clean up.
  return spawn(process.execPath, ['--input-type=module', '-e',
    `const { startGuard } = await import(${JSON.stringify(GUARD_MODULE)}); startGuard('test', ['rmdir', process.argv[1]]); console.log('ready'); setInterval(() => {}, 1000);`, target], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('a guard undoes its thing once the process that started it is killed with SIGKILL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-guard-'));
  const target = join(dir, 'instance');
  mkdirSync(target);
  const holder = startHolder(target);
  try {
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(existsSync(target), 'untouched while its owner lives');
    holder.kill('SIGKILL');
    assert.ok(await until(() => !existsSync(target), 3000), 'removed after the kill');
  } finally {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a guard retries its undo while it fails, as rmdir of an instance fails while a dying process still holds a pipe', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-guard-'));
  const target = join(dir, 'instance');
  mkdirSync(target);
  writeFileSync(join(target, 'busy'), ''); // rmdir fails (ENOTEMPTY) until it is gone
  const holder = startHolder(target);
  try {
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    holder.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(existsSync(target), 'the first tries failed');
    rmSync(join(target, 'busy'));
    assert.ok(await until(() => !existsSync(target), 2000), 'a later try succeeded');
  } finally {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dismissed guard never acts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-guard-'));
  const target = join(dir, 'instance');
  mkdirSync(target);
  try {
    const guard = startGuard('test', ['rmdir', target]);
    assert.ok(guard.pid !== undefined);
    guard.dismiss();
    guard.dismiss();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(existsSync(target), 'a dismissed guard left it alone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
