import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_ENV, ownedCommand, passwdEntry, spawnOwned } from './children.js';
import { isRoot } from './capabilities.js';

test('an owned command runs through setpriv --pdeathsig KILL, or unchanged without setpriv', () => {
  assert.deepEqual(ownedCommand('/usr/bin/bpftrace', ['-e', 'x'], undefined, '/usr/bin/setpriv'), {
    file: '/usr/bin/setpriv',
    args: ['--pdeathsig', 'KILL', '--', '/usr/bin/bpftrace', '-e', 'x'],
    diesWithParent: true,
  });
  assert.deepEqual(ownedCommand('/usr/bin/nft', ['list', 'tables'], undefined, null), { file: '/usr/bin/nft', args: ['list', 'tables'], diesWithParent: false });
});

test('as root, setpriv switches to the tool\'s user itself, keeping only the named capabilities', { skip: isRoot() ? false : 'the switch happens only as root' }, () => {
  const entry = passwdEntry('root');
  assert.deepEqual(entry, { uid: 0, gid: 0 });
  assert.deepEqual(ownedCommand('/usr/bin/tcpdump', ['-i', 'lo'], { user: 'root', capabilities: ['net_raw'] }, '/usr/bin/setpriv').args, [
    '--reuid=0', '--regid=0', '--init-groups', '--inh-caps=+net_raw', '--ambient-caps=+net_raw', '--pdeathsig', 'KILL', '--', '/usr/bin/tcpdump', '-i', 'lo',
  ]);
  assert.deepEqual(ownedCommand('/usr/bin/tcpdump', [], { user: 'no-such-user-tcpdiag', capabilities: ['net_raw'] }, '/s').args, ['--pdeathsig', 'KILL', '--', '/usr/bin/tcpdump']);
});

test('passwd entries are read by name only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-passwd-'));
  try {
    const file = join(dir, 'passwd');
    writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\ntcpdump:x:102:105::/nonexistent:/usr/sbin/nologin\nbroken:x:abc:1\n');
    assert.deepEqual(passwdEntry('tcpdump', file), { uid: 102, gid: 105 });
    assert.equal(passwdEntry('tcp', file), null);
    assert.equal(passwdEntry('broken', file), null);
    assert.equal(passwdEntry('root', join(dir, 'missing')), null);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('an owned child carries TCPDIAG_PARENT and the death signal (prctl PR_GET_PDEATHSIG reads 9)', async (t) => {
  if (ownedCommand('x', []).diesWithParent === false) return t.skip('needs setpriv (util-linux)');
  // /proc/PID/status has no death-signal field: python3 asks the kernel from inside the child.
  const script = 'import ctypes,os; v=ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); print(v.value, os.environ.get("' + OWNER_ENV + '"))';
  const child = spawnOwned('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 && out === '') return t.skip('needs python3');
  assert.equal(out.trim(), `9 ${process.pid}`);
});
