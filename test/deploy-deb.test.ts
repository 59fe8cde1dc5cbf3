/**
 * scripts/build-deb.sh builds a Debian package that holds what it should, says what it needs,
 * passes lintian, installs into a temporary root with dpkg (never this machine's), runs from
 * there, and purges cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { REPO_ROOT } from './helpers/cli.js';
import { tempDir } from './watch-support.js';

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
}

/** Whether this machine's dpkg database has `pkg` installed at a version that satisfies `op version`. */
function installedSatisfies(pkg: string, op: string | undefined, version: string | undefined): boolean {
  const q = run('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg]);
  const m = /install ok installed (\S+)/.exec(q.stdout);
  if (m === null) return false;
  if (op === undefined) return true;
  return run('dpkg', ['--compare-versions', m[1]!, { '>=': 'ge', '<<': 'lt', '<=': 'le', '>>': 'gt', '=': 'eq' }[op]!, version!]).status === 0;
}

test('the Debian package: contents, control fields, lintian, an install into a temporary root, its tcpdiag runs, purge', { timeout: 600_000 }, (t) => {
  for (const tool of ['dpkg-deb', 'dpkg', 'strip']) if (!has(tool)) return t.skip(`needs ${tool}`);
  if (process.getuid?.() !== 0) return t.skip('needs root: dpkg --root writes files owned by root');
  const out = tempDir(t, 'deb');
  const built = run(join(REPO_ROOT, 'scripts', 'build-deb.sh'), [out]);
  assert.equal(built.status, 0, built.stderr);
  const version = `${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}-1`;
  const arch = run('dpkg', ['--print-architecture']).stdout.trim();
  const deb = join(out, `tcpdiag_${version}_${arch}.deb`);
  assert.equal(built.stdout.trim(), deb);

  // Control fields.
  const field = (name: string): string => run('dpkg-deb', ['-f', deb, name]).stdout.trim();
  assert.equal(field('Package'), 'tcpdiag');
  assert.equal(field('Version'), version);
  assert.equal(field('Architecture'), arch);
  const major = Number(process.versions.node.split('.')[0]);
  const depends = field('Depends').split(/,\s*/);
  assert.deepEqual(depends.slice(0, 2), [`nodejs (>= ${major})`, `nodejs (<< ${major + 1})`], 'the Node.js major its native bindings were built for');
  for (const tool of ['iproute2', 'tcpdump']) assert.ok(depends.includes(tool), `Depends on ${tool}`);
  assert.match(field('Recommends'), /bpftrace/);
  assert.ok(Number(field('Installed-Size')) > 1000);
  // Every dependency is satisfied on this Debian machine, so `apt install ./tcpdiag_*.deb` resolves here.
  for (const dep of depends) {
    const m = /^(\S+)(?: \((>=|<<|<=|>>|=) ([^)]+)\))?$/.exec(dep);
    assert.ok(m !== null, dep);
    assert.ok(installedSatisfies(m[1]!, m[2], m[3]), `${dep} is installed here`);
  }
  const info = run('dpkg-deb', ['-I', deb]).stdout;
  for (const script of ['postinst', 'prerm', 'postrm', 'conffiles', 'md5sums']) assert.match(info, new RegExp(`\\b${script}\\b`));

  // Contents: paths, modes, owners.
  const listing = run('dpkg-deb', ['-c', deb]).stdout.split('\n').filter((l) => l !== '');
  const entry = (path: string): string | undefined => listing.find((l) => l.endsWith(` ./${path}`) || l.includes(` ./${path} -> `));
  for (const path of ['usr/lib/tcpdiag/dist/src/cli/launcher.cjs', 'usr/lib/tcpdiag/dist/src/cli/main.js', 'usr/lib/tcpdiag/dist/fast/stats.cjs', 'usr/lib/tcpdiag/package.json', 'usr/lib/tcpdiag/deploy/tcpdiag.service', 'usr/lib/tcpdiag/node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'lib/systemd/system/tcpdiag.service', 'etc/tcpdiag/tcp_diag.conf', 'usr/share/man/man1/tcpdiag.1.gz', 'usr/share/bash-completion/completions/tcpdiag', 'usr/share/doc/tcpdiag/copyright', 'usr/share/doc/tcpdiag/examples/grafana-tcpdiag.json']) {
    assert.ok(entry(path) !== undefined, `${path} is in the package`);
  }
  assert.match(entry('usr/bin/tcpdiag')!, /^lrwxrwxrwx root\/root .* -> \.\.\/lib\/tcpdiag\/dist\/src\/cli\/launcher\.cjs$/);
  assert.match(entry('usr/lib/tcpdiag/dist/src/cli/launcher.cjs')!, /^-rwxr-xr-x root\/root /);
  assert.ok(listing.every((l) => / root\/root /.test(l)), 'everything owned by root');
  assert.ok(!listing.some((l) => /\.test\.js$|\/node_modules\/(typescript|eslint|esbuild|dependency-cruiser)\//.test(l)), 'no tests, no development dependencies');

  if (has('lintian')) {
    // lintian exits non-zero on errors; warnings are printed as "W:". The package has neither.
    const lint = run('lintian', ['--fail-on', 'error,warning', deb]);
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    assert.equal(lint.stdout.trim(), '', lint.stdout);
  } else t.diagnostic('lintian not installed: the package was not linted');

  // Install into a temporary root. The maintainer scripts honour DPKG_ROOT; this machine's
  // /etc/tcpdiag and /var/lib/tcpdiag must be as they were.
  const realBefore = ['/etc/tcpdiag', '/var/lib/tcpdiag', '/usr/bin/tcpdiag', '/lib/systemd/system/tcpdiag.service'].map((p) => [p, existsSync(p)] as const);
  const root = tempDir(t, 'deb-root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'));
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  const dpkg = (...args: string[]) => run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args]);
  const installed = dpkg('-i', deb);
  assert.equal(installed.status, 0, installed.stderr);
  assert.match(installed.stdout, /systemctl enable --now tcpdiag/, 'the postinst says how to start the agent');
  const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
  assert.match(status, /^Package: tcpdiag\nStatus: install ok installed$/m);
  assert.match(status, /^Conffiles:\n \/etc\/tcpdiag\/tcp_diag\.conf [0-9a-f]{32}$/m, 'the configuration is a conffile');
  assert.equal(statSync(join(root, 'var/lib/tcpdiag')).mode & 0o777, 0o700, 'postinst made the data directory, 0700');
  assert.deepEqual(readFileSync(join(root, 'lib/systemd/system/tcpdiag.service')), readFileSync(join(REPO_ROOT, 'deploy', 'tcpdiag.service')));
  // The packaged tcpdiag runs from the temporary root: the launcher, a start-up bundle, the ES
  // modules with the native bindings (better-sqlite3 opens a store), the man page.
  const bin = join(root, 'usr/bin/tcpdiag');
  const v = run(bin, ['--version']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), version.replace(/-1$/, ''));
  const sqlite = run(process.execPath, ['-e', `const D=require(${JSON.stringify(join(root, 'usr/lib/tcpdiag/node_modules/better-sqlite3'))});process.stdout.write(new D(':memory:').prepare('select 6*7 AS n').get().n+'')`]);
  assert.equal(sqlite.stdout, '42', sqlite.stderr);
  const addon = run(process.execPath, ['--input-type=module', '-e', `const m=await import(${JSON.stringify(join(root, 'usr/lib/tcpdiag/dist/src/native/index.js'))});const r=m.loadNative();process.stdout.write(r.addon===null?String(r.error):'loaded')`]);
  if (existsSync(join(REPO_ROOT, 'native/build/Release/tcpdiag.node'))) assert.equal(addon.stdout, 'loaded', addon.stderr);
  const man = run('sh', ['-c', 'gzip -dc "$1"', 'sh', join(root, 'usr/share/man/man1/tcpdiag.1.gz')]);
  assert.match(man.stdout, /^\.TH TCPDIAG 1 /m);
  const help = run(bin, ['serve', '--help']);
  assert.match(help.stdout, /--install-service/);

  // Remove keeps a changed conffile and the history; purge removes both.
  writeFileSync(join(root, 'etc/tcpdiag/tcp_diag.conf'), '[agent]\nport = 9478\n');
  assert.equal(dpkg('-r', 'tcpdiag').status, 0);
  assert.equal(readFileSync(join(root, 'etc/tcpdiag/tcp_diag.conf'), 'utf8'), '[agent]\nport = 9478\n', 'remove keeps the changed conffile');
  assert.ok(existsSync(join(root, 'var/lib/tcpdiag')), 'remove keeps the history');
  assert.ok(!existsSync(bin), 'remove takes the program');
  const purged = dpkg('-P', 'tcpdiag');
  assert.equal(purged.status, 0, purged.stderr);
  assert.ok(!existsSync(join(root, 'etc/tcpdiag/tcp_diag.conf')) && !existsSync(join(root, 'var/lib/tcpdiag')), 'purge removes the configuration and the history');
  assert.ok(!existsSync(join(root, 'usr/lib/tcpdiag')) && !existsSync(bin), 'purge leaves none of the program');
  assert.deepEqual(realBefore.map(([p]) => [p, existsSync(p)]), realBefore, 'this machine\'s root is untouched');
});
