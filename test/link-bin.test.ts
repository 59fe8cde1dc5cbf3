/**
 * The set-up's link step (scripts/link-bin.sh, run by scripts/setup.sh into /usr/local/bin):
 * `tcpdiag` on PATH is this checkout's bin, the step is idempotent, and a signal sent to the
 * `tcpdiag` a user starts reaches tcpdiag itself (through npx it did not).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from './helpers/cli.js';

const LINK_BIN = join(REPO_ROOT, 'scripts', 'link-bin.sh');

function linkBin(binDir: string): { status: number | null; stderr: string } {
  const r = spawnSync(LINK_BIN, [binDir], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('link-bin points BIN_DIR/tcpdiag at this checkout, says so once, and is silent when it already does', () => {
  const bin = mkdtempSync(join(tmpdir(), 'tcpdiag-bin-'));
  try {
    const first = linkBin(bin);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(readlinkSync(join(bin, 'tcpdiag')), CLI);
    assert.match(first.stderr, /link-bin: .*tcpdiag -> .*launcher\.cjs/);
    const again = linkBin(bin);
    assert.deepEqual(again, { status: 0, stderr: '' });
    const version = spawnSync(join(bin, 'tcpdiag'), ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('link-bin replaces a link or a file pointing elsewhere, and refuses a directory', () => {
  const bin = mkdtempSync(join(tmpdir(), 'tcpdiag-bin-'));
  try {
    symlinkSync('/nonexistent/other-checkout/launcher.cjs', join(bin, 'tcpdiag'));
    const relinked = linkBin(bin);
    assert.equal(relinked.status, 0, relinked.stderr);
    assert.match(relinked.stderr, /replacing .*was \/nonexistent\/other-checkout/);
    assert.equal(readlinkSync(join(bin, 'tcpdiag')), CLI);
    rmSync(join(bin, 'tcpdiag'));
    writeFileSync(join(bin, 'tcpdiag'), '#!/bin/sh\n');
    assert.equal(linkBin(bin).status, 0);
    assert.equal(readlinkSync(join(bin, 'tcpdiag')), CLI);
    rmSync(join(bin, 'tcpdiag'));
    mkdirSync(join(bin, 'tcpdiag'));
    const refused = linkBin(bin);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is a directory/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('a SIGTERM to the linked tcpdiag reaches tcpdiag itself: it stops, nothing keeps running', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'tcpdiag-bin-'));
  let child: ReturnType<typeof spawn> | null = null;
  try {
    assert.equal(linkBin(bin).status, 0);
    const proc = spawn(join(bin, 'tcpdiag'), ['stats', '--interval', '0.2', '--no-sysctl'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
    while (out === '') await new Promise((resolve) => setTimeout(resolve, 20));
    // The pid a user's shell gets is tcpdiag's own (env -S execs node with the shebang's flags,
    // then the script), not a wrapper's.
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
    assert.match(cmdline[0] ?? '', /(^|\/)node$/, cmdline.join(' '));
    assert.match(cmdline.slice(1).find((a) => !a.startsWith('-')) ?? '', /tcpdiag$/, cmdline.join(' '));
    proc.kill('SIGTERM');
    const exit = await Promise.race([closed, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
    assert.notEqual(exit, 'still running');
  } finally {
    // A failed assertion above must not leave `stats --interval` running (the file would hang).
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(bin, { recursive: true, force: true });
  }
});
