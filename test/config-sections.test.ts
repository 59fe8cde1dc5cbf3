/**
 * Each command reads the configuration sections it uses and only those: a broken key in an
 * unrelated section is a warning (it stopped `analyze`); commands that read no section still
 * refuse a --config that names a missing file (stats and bench ignored it); a bad flag value
 * is blamed on the flag, not on tcp_diag.conf.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-config-sections-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const brokenAgent = join(dir, 'broken-agent.conf');
writeFileSync(brokenAgent, '[agent]\nport = "seventy"\n');
const brokenCapture = join(dir, 'broken-capture.conf');
writeFileSync(brokenCapture, '[capture]\nsnaplen = 10\n');
const fixture = join(REPO_ROOT, 'test', 'fixtures', 'pcap', 'raw-ns-be.pcap');

test('a broken [agent] key does not stop analyze: it warns and analyze runs', async () => {
  const r = await runCli(['analyze', '--config', brokenAgent, fixture, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*broken-agent\.conf: \[agent\] is not used by this command and keeps its defaults: agent\.port: expected number, got "seventy"/);
  assert.ok((JSON.parse(r.stdout) as { packets: number }).packets > 0);
});

test('a broken key in a section the command uses stops it, naming the key', async () => {
  const r = await runCli(['capture', '--config', brokenCapture, '-c', '1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken-capture\.conf: invalid configuration\n {2}capture\.snaplen: expected a value >= 64, got 10/);
});

test('stats and bench refuse a --config that does not exist, as every command does', async () => {
  for (const args of [['stats'], ['bench', '127.0.0.1:9', '-n', '1'], ['conns'], ['client', '127.0.0.1:9', 'x']]) {
    const r = await runCli([...args, '--config', '/nonexistent.conf']);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /config file \/nonexistent\.conf \(from --config\) does not exist/, args[0]);
  }
  const viaEnv = await runCli(['stats'], { env: { TCPDIAG_CONFIG: '/nonexistent.conf' } });
  assert.equal(viaEnv.code, 2);
  assert.match(viaEnv.stderr, /\(from \$TCPDIAG_CONFIG\) does not exist/);
});

test('trace --buffer-kb 4 is blamed on the flag, not on tcp_diag.conf', async () => {
  const r = await runCli(['trace', '--buffer-kb', '4']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tcpdiag: --buffer-kb: "4" is out of range: a per-CPU buffer size in KiB is 1024-1048576/);
  assert.doesNotMatch(r.stderr, /tcp_diag\.conf|configuration/);
});
