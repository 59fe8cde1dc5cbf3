/**
 * Shell completion and the man page, generated from the command tree: bash run with the
 * completion loaded and COMP_WORDS set offers the real subcommands, flags and values; fish's
 * `complete -C` does the same for the fish script; zsh registers its function through compinit;
 * `man -l` renders the page without a warning; the set-up step installs both, idempotently.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { findExecutable } from '../src/platform/capabilities.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const r = await runCli(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, `tcpdiag.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** What bash offers for the words typed so far (the last one is being completed). */
function bashComplete(file: string, words: string[], cwd = dir): string[] {
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _tcpdiag; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', program, 'bash', file, ...words], { encoding: 'utf8', cwd });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter((l) => l !== '');
}

test('bash completion offers the real subcommands, flags and values', async () => {
  const file = await script('bash');
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'con']), ['conns']);
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'fault', '']).sort(), ['clear', 'delay', 'list', 'loss', 'reorder', 'synack-drop']);
  const connsFlags = bashComplete(file, ['tcpdiag', 'conns', '-']);
  for (const flag of ['-t', '-a', '-n', '-p', '-i', '-e', '-o', '-H', '-l', '--watch', '--config', '--help']) assert.ok(connsFlags.includes(flag), `conns ${flag}`);
  assert.ok(!connsFlags.includes('--count'), 'flags of another command are not offered');
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'fault', 'loss', '--p']).sort(), ['--percent', '--port']);
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'conns', '--source', '']).sort(), ['procfs', 'sockdiag']);
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'capture', '-c', '5', '--direction', '']).sort(), ['both', 'in', 'out']);
  assert.ok(bashComplete(file, ['tcpdiag', 'trace', '']).includes('retrans'), 'trace modes');
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'completion', '']).sort(), ['bash', 'fish', 'zsh']);
  // A flag's value is not taken for a command: `--port 80 -` still completes trace's flags.
  assert.ok(bashComplete(file, ['tcpdiag', 'trace', '-P', '80', '-']).includes('--timestamp'));
  // Paths where the value is a file.
  writeFileSync(join(dir, 'capture-one.pcap'), '');
  assert.deepEqual(bashComplete(file, ['tcpdiag', 'analyze', 'capture-']), ['capture-one.pcap']);
  assert.deepEqual(bashComplete(file, ['tcpdiag', '--config', 'capture-']), ['capture-one.pcap']);
});

const FISH_SKIP = findExecutable('fish') === null ? 'needs fish (apt-get install -y fish)' : false;

test('fish completion offers the same subcommands and flags', { skip: FISH_SKIP }, async () => {
  const file = await script('fish');
  const complete = (line: string): string[] => {
    const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C${JSON.stringify(line)}`], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0] ?? '');
  };
  assert.deepEqual(complete('tcpdiag con'), ['conns']);
  assert.deepEqual(complete('tcpdiag fault ').sort(), ['clear', 'delay', 'list', 'loss', 'reorder', 'synack-drop']);
  assert.ok(complete('tcpdiag bench -').includes('-R'), 'bench -R');
  assert.deepEqual(complete('tcpdiag conns --source ').sort(), ['procfs', 'sockdiag']);
  assert.ok(complete('tcpdiag trace ').includes('connect'));
});

const ZSH_SKIP = findExecutable('zsh') === null ? 'needs zsh (apt-get install -y zsh)' : false;

test('zsh completion offers the same subcommands, flags and values', { skip: ZSH_SKIP }, async () => {
  const file = await script('zsh');
  const syntax = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const fpath = join(dir, 'zfunc');
  mkdirSync(fpath, { recursive: true });
  writeFileSync(join(fpath, '_tcpdiag'), readFileSync(file));
  const complete = (line: string): string[] => {
    const r = spawnSync('zsh', ['-f', join(REPO_ROOT, 'test', 'helpers', 'zsh-complete.zsh'), line, fpath], { encoding: 'utf8', cwd: dir, timeout: 20_000 });
    assert.equal(r.status, 0, `${line}: ${r.stderr}`);
    return [...new Set(r.stdout.split('\n').filter((l) => l !== ''))].sort();
  };
  assert.deepEqual(complete('tcpdiag con'), ['conns']);
  assert.deepEqual(complete('tcpdiag fault '), ['clear', 'delay', 'list', 'loss', 'reorder', 'synack-drop']);
  assert.deepEqual(complete('tcpdiag conns --so'), ['--sort', '--source']);
  assert.deepEqual(complete('tcpdiag conns --source '), ['procfs', 'sockdiag']);
  assert.deepEqual(complete('tcpdiag capture -c 5 --direction '), ['both', 'in', 'out']);
  const bench = complete('tcpdiag bench -');
  for (const flag of ['-c', '-d', '-t', '-R', '--latency']) assert.ok(bench.includes(flag), `bench ${flag}`);
});

test('the man page renders with man -l without a warning and documents every command', async () => {
  const r = await runCli(['manpage'], { env: { SOURCE_DATE_EPOCH: '1767225600' } });
  assert.equal(r.code, 0, r.stderr);
  const page = join(dir, 'tcpdiag.1');
  writeFileSync(page, r.stdout);
  assert.match(r.stdout, /^\.TH TCPDIAG 1 "2026-01-01"/m);
  const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', page], { encoding: 'utf8' });
  assert.equal(groff.stderr, '', 'groff -ww: no warnings');
  const man = spawnSync('man', ['--warnings', '-l', page], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(man.status, 0);
  assert.equal(man.stderr, '', 'man --warnings: no warnings');
  for (const command of ['conns', 'listeners', 'stats', 'trace', 'capture', 'analyze', 'client', 'server', 'probe', 'bench', 'proxy', 'fault loss', 'completion']) {
    assert.match(man.stdout, new RegExp(`^ {3}${command}$`, 'm'), `a section for ${command}`);
  }
  assert.match(man.stdout, /-R, --rate per-second/);
  assert.match(man.stdout, /a bare number is seconds/);
});

test('the set-up step installs the completion and the man page, and a second run changes nothing', () => {
  const dest = join(dir, 'root');
  const run = (): string => {
    const r = spawnSync(join(REPO_ROOT, 'scripts', 'install-shell-docs.sh'), [], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest } });
    assert.equal(r.status, 0, r.stderr);
    return r.stderr;
  };
  assert.match(run(), /installed bash completion: .*\/(usr\/share\/bash-completion\/completions|etc\/bash_completion\.d)\/tcpdiag\n.*installed man page: .*\/usr\/local\/share\/man\/man1\/tcpdiag\.1/);
  const again = run();
  assert.match(again, /bash completion up to date/);
  assert.match(again, /man page up to date/);
  const installed = spawnSync('man', ['-l', join(dest, 'usr', 'local', 'share', 'man', 'man1', 'tcpdiag.1')], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(installed.status, 0);
  assert.match(installed.stdout, /TCPDIAG\(1\)/);
});
