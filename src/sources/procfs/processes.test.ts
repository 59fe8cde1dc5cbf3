import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { nativeAddon } from '../../native/index.js';
import { scanSocketOwners } from './processes.js';
import type { OwnerScan } from './processes.js';

const flat = (scan: OwnerScan): string[] =>
  [...scan.owners].flatMap(([inode, owners]) => owners.map((o) => `${inode} ${o.pid} ${o.fd} ${o.process}`)).sort();

test('the walk in C finds exactly the socket owners the TypeScript walk finds, for every socket and for a chosen few', async (t) => {
  if (nativeAddon()?.scanSocketInodes === undefined) return t.skip('the native addon is not built (npm run install)');
  // Sockets of our own that stay put while both walks run.
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = await new Promise<net.Socket>((resolve) => {
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => resolve(c));
  });
  try {
    const all = { ts: scanSocketOwners({ walk: 'typescript' }), c: scanSocketOwners({ walk: 'native' }) };
    // Other processes open and close sockets meanwhile: compare what belongs to this process.
    const mine = (lines: string[]): string[] => lines.filter((l) => l.split(' ')[1] === String(process.pid));
    assert.deepEqual(mine(flat(all.c)), mine(flat(all.ts)));
    assert.ok(mine(flat(all.c)).length >= 2);
    assert.equal(all.c.unreadableProcesses, all.ts.unreadableProcesses);
    const few = new Set([...all.ts.owners.keys()].slice(0, 3));
    const chosen = scanSocketOwners({ walk: 'native', inodes: few });
    assert.deepEqual([...chosen.owners.keys()].sort(), [...few].filter((i) => all.c.owners.has(i)).sort());
  } finally {
    client.destroy();
    server.close();
  }
});
