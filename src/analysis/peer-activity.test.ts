import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionsByPeer, peerActivity } from './peer-activity.js';
import { PeerTotals } from './events/peer-totals.js';
import { parseCidr } from '../model/address.js';
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';

function socket(remote: string, state: TcpState = 'ESTABLISHED'): TcpSocket {
  return { family: remote.includes(':') ? 6 : 4, state, local: { address: '10.0.0.1', port: 80 }, remote: { address: remote, port: 40000 } } as unknown as TcpSocket;
}

/** Peer i holds i connections (1..n). */
function table(n: number): TcpSocket[] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: i + 1 }, () => socket(`192.0.2.${i + 1}`))).flat();
}

test('a thousand peers export the top K by name and one "other" holding the rest, whatever their number', () => {
  const rows = peerActivity(connectionsByPeer(table(1000)), null, { topPeers: 3, prefixes: [] });
  assert.deepEqual(rows.map((r) => [r.peer, r.connections]), [['192.0.2.1000', 1000], ['192.0.2.999', 999], ['192.0.2.998', 998], ['other', (997 * 998) / 2]]);
});

test('listeners have no peer, IPv4-mapped peers are their IPv4 address, and a configured block sums its addresses', () => {
  const sockets = [socket('0.0.0.0', 'LISTEN'), socket('::ffff:192.0.2.9'), socket('192.0.2.9'), socket('10.1.0.1'), socket('10.1.0.2'), socket('10.1.0.3'), socket('198.51.100.1')];
  const rows = peerActivity(connectionsByPeer(sockets), null, { topPeers: 1, prefixes: [parseCidr('10.0.0.0/8'), parseCidr('203.0.113.0/24')] });
  assert.deepEqual(rows.map((r) => [r.peer, r.connections]), [['192.0.2.9', 2], ['10.0.0.0/8', 3], ['203.0.113.0/24', 0], ['other', 1]]);
});

test('events rank peers with the connections, and addresses past the totals\' capacity arrive as "other"', () => {
  const totals = new PeerTotals(2);
  totals.add('192.0.2.50', 'retransmits', 40);
  totals.add('192.0.2.51', 'resets', 2);
  totals.add('192.0.2.52', 'resets', 7);
  assert.deepEqual([...totals.entries.keys()], ['192.0.2.50', '192.0.2.51', 'other']);
  const rows = peerActivity(connectionsByPeer(table(3)), totals.entries, { topPeers: 2, prefixes: [] });
  assert.deepEqual(rows, [
    { peer: '192.0.2.50', connections: 0, retransmits: 40, resets: 0 },
    { peer: '192.0.2.3', connections: 3, retransmits: 0, resets: 0 },
    { peer: 'other', connections: 3, retransmits: 0, resets: 9 },
  ]);
});

test('ties go to the lower address, so an unchanged table names the same peers at every scrape', () => {
  const sockets = ['192.0.2.7', '192.0.2.3', '192.0.2.5'].map((a) => socket(a));
  assert.deepEqual(peerActivity(connectionsByPeer(sockets), null, { topPeers: 2, prefixes: [] }).map((r) => r.peer), ['192.0.2.3', '192.0.2.5', 'other']);
});
