/**
 * deploy/tcpdiag.service and `tcpdiag serve --install-service`.
 *
 * No systemd runs here, so the unit is checked statically (`systemd-analyze verify` on the unit
 * as installed, which resolves ExecStart) and its capability set dynamically: the agent runs
 * under setpriv with exactly the unit's CapabilityBoundingSet (uid 0, no_new_privs, as systemd
 * would start it) and must still name the owner of a socket held by another user, read
 * tcp_info without CAP_NET_ADMIN, and run tcpdump as the tcpdump user; and without the two
 * /proc capabilities it must not name that owner, so the unit grants nothing it does not use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { CLI, REPO_ROOT, runCli } from './helpers/cli.js';
import { Netns, actor, rootSkipReason, startProcess } from './diagnose-support.js';
import type { Proc } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { NsHttp } from './serve-support.js';

const UNIT = join(REPO_ROOT, 'deploy', 'tcpdiag.service');

function unitCapabilities(): string[] {
  const line = readFileSync(UNIT, 'utf8').split('\n').find((l) => l.startsWith('CapabilityBoundingSet='));
  assert.ok(line !== undefined, 'the unit sets CapabilityBoundingSet');
  return line.slice('CapabilityBoundingSet='.length).trim().split(/\s+/).map((c) => c.replace(/^CAP_/, '').toLowerCase());
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
}

test('--install-service writes the unit and the default configuration under --install-root, then leaves them alone', async (t) => {
  const root = tempDir(t, 'install');
  const first = await runCli(['serve', '--install-service', '--install-root', root]);
  assert.equal(first.code, 0, first.stderr);
  const unitPath = join(root, 'etc/systemd/system/tcpdiag.service');
  const configPath = join(root, 'etc/tcpdiag/tcp_diag.conf');
  assert.match(first.stdout, new RegExp(`unit created: ${unitPath}`));
  assert.match(first.stdout, /systemctl daemon-reload\n\s+systemctl enable --now tcpdiag\.service/);
  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${CLI} --config /etc/tcpdiag/tcp_diag.conf serve$`, 'm'), 'runs this node and this tcpdiag');
  assert.deepEqual(readFileSync(configPath), readFileSync(join(REPO_ROOT, 'deploy', 'tcp_diag.conf')));
  if (has('systemd-analyze')) {
    // Statically: every key known, ExecStart executable, the sandbox settings valid for this systemd.
    const verify = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'systemd-analyze verify says nothing');
  } else t.diagnostic('systemd-analyze not installed: the unit was not verified statically');

  const again = await runCli(['serve', '--install-service', '--install-root', root]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /unit unchanged/);
  assert.match(again.stdout, /configuration kept as it was/);

  // An administrator's edit is never overwritten silently.
  const edited = `${unit}\n# local change\n`;
  writeFileSync(unitPath, edited);
  writeFileSync(configPath, '[agent]\nport = 9999\n');
  const refused = await runCli(['serve', '--install-service', '--install-root', root]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /tcpdiag\.service was changed since tcpdiag wrote it .*left as it is \[TCPDIAG_FILE_CHANGED\]/);
  assert.match(refused.stderr, /--force/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(readFileSync(unitPath, 'utf8'), edited, 'the changed unit is byte for byte as it was');
  const forced = await runCli(['serve', '--install-service', '--install-root', root, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(readFileSync(unitPath, 'utf8'), unit, 'replaced by the unit tcpdiag writes');
  assert.equal(readFileSync(`${unitPath}.bak`, 'utf8'), edited, 'the changed one is kept');
  assert.equal(readFileSync(configPath, 'utf8'), '[agent]\nport = 9999\n', 'the configuration is the administrator\'s: never replaced');
});

test('--install-root and --force without --install-service are refused in one line', async () => {
  const r = await runCli(['serve', '--force']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--install-root and --force go with --install-service \[TCPDIAG_USAGE\]/);
});

test('the default /etc configuration is valid and its commented values are the defaults', async (t) => {
  const text = readFileSync(join(REPO_ROOT, 'deploy', 'tcp_diag.conf'), 'utf8');
  const dir = tempDir(t, 'default-config');
  // Uncomment every `# key = value` line: the resolved configuration must not change.
  const uncommented = text.split('\n').map((l) => l.replace(/^# ([a-z0-9_]+ = .*?)(\s+#.*)?$/, '$1')).join('\n');
  assert.notEqual(uncommented, text);
  const { resolveConfig } = await import('../src/config/resolve.js');
  const asShipped = resolveConfig({ configPath: writeConfig(dir, text), env: {} });
  assert.deepEqual(asShipped.warnings, []);
  const shipped = resolveConfig({ configPath: writeConfig(dir, uncommented), env: {} }).config;
  const defaults = resolveConfig({ configPath: writeConfig(dir, ''), env: {} }).config;
  assert.deepEqual(shipped, defaults);
});

/** The agent in `ns` with the capabilities `caps` only (bounding set; uid 0; no_new_privs). */
async function confinedAgent(t: test.TestContext, ns: Netns, dir: string, caps: readonly string[]): Promise<{ proc: Proc; url: string }> {
  const bounding = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  const config = writeConfig(dir, '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n');
  const proc = await startProcess(t, ['setpriv', `--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs', '--', process.execPath, CLI, '--config', config, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], ns);
  const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000);
  return { proc, url: m[1]! };
}

test('the unit\'s capabilities are enough for the agent, and the /proc ones are needed to name another user\'s process', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'setpriv');
  if (skip !== null) return t.skip(skip);
  const caps = unitCapabilities();
  assert.ok(!caps.includes('net_admin') && !caps.includes('sys_admin') && !caps.includes('dac_override'), `not granted: ${caps.join(' ')}`);
  const ns = Netns.create(t, 'unitcaps');
  const dir = tempDir(t, 'unit-caps');
  // A listener of `nobody` with a client connected: its /proc/PID/fd is that user's, mode 0500.
  const script = "const s=require('net').createServer(()=>{}).listen(0,'127.0.0.1',()=>console.log('listening on 127.0.0.1:'+s.address().port));process.stdin.resume().on('end',()=>process.exit(0))";
  const owner = await startProcess(t, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', script], ns);
  const port = Number((await owner.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(port), '1'], ns)).waitFor(/ready/);

  mkdirSync(join(dir, 'full'));
  const agent = await confinedAgent(t, ns, join(dir, 'full'), caps);
  const http = new NsHttp(t, ns);
  type Conns = { total: number; connections: { state: string; owners: { pid: number }[]; tcpInfo: { rttMs: number } | null }[] };
  const listening = await http.json<Conns>(`${agent.url}/api/v1/connections?state=listening&sport=${port}&owners=1`);
  assert.equal(listening.total, 1);
  assert.deepEqual(listening.connections[0]!.owners.map((o) => o.pid), [owner.pid], 'the owner of a socket of nobody is named');
  const established = await http.json<Conns>(`${agent.url}/api/v1/connections?state=established&dport=${port}&fresh=1`);
  assert.equal(established.total, 1);
  assert.ok((established.connections[0]!.tcpInfo?.rttMs ?? 0) > 0, `tcp_info without CAP_NET_ADMIN: ${JSON.stringify(established.connections[0])}`);
  await agent.proc.stop();

  mkdirSync(join(dir, 'less'));
  const without = await confinedAgent(t, ns, join(dir, 'less'), caps.filter((c) => c !== 'sys_ptrace' && c !== 'dac_read_search'));
  const unnamed = await http.json<Conns>(`${without.url}/api/v1/connections?state=listening&sport=${port}&owners=1`);
  assert.equal(unnamed.total, 1);
  assert.deepEqual(unnamed.connections[0]!.owners, [], 'without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH the owner stays unknown');
});

test('under the unit\'s capabilities tcpdump captures as the tcpdump user', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'setpriv', 'tcpdump');
  if (skip !== null) return t.skip(skip);
  if (!readFileSync('/etc/passwd', 'utf8').includes('\ntcpdump:')) return t.skip('needs the tcpdump user (Debian\'s tcpdump package creates it)');
  const ns = Netns.create(t, 'unitcap');
  const dir = tempDir(t, 'unit-capture');
  const bounding = ['-all', ...unitCapabilities().map((c) => `+${c}`)].join(',');
  const pcap = join(dir, 'out.pcap');
  const capture = await startProcess(t, ['setpriv', `--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs', '--', process.execPath, CLI, 'capture', '-i', 'lo', '-c', '4', '-w', pcap, '--duration', '20s'], ns);
  await new Promise((r) => setTimeout(r, 1500));
  // Any four packets on the namespace's loopback: a connection attempt to a closed port (SYN, RST) twice.
  for (let i = 0; i < 2; i++) spawnSync(ns.exec[0]!, [...ns.exec.slice(1), process.execPath, '-e', "require('net').connect(1,'127.0.0.1').on('error',()=>{})"]);
  await new Promise<void>((resolve) => (capture.child.exitCode !== null ? resolve() : capture.child.on('close', () => resolve())));
  assert.equal(capture.child.exitCode, 0, 'capture ended after its packets');
  assert.ok(existsSync(pcap) && readFileSync(pcap).length > 24 + 4 * 16, 'four packets written');
});
