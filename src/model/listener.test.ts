import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpSocket } from './socket.js';
import { ListenerIndex } from './listener.js';

function listener(address: string, port: number, family: 4 | 6 = 4): TcpSocket {
  return {
    family, state: 'LISTEN', local: { address, port }, remote: { address: family === 4 ? '0.0.0.0' : '::', port: 0 },
    recvQ: 0, sendQ: 128, timer: { kind: 'none', expiresMs: null, retransmits: 0 }, uid: 0, inode: 1, cookie: null,
    pid: null, process: null, owners: [], tcpInfo: null, memory: null, congestion: null,
  };
}

test('a child belongs to the listener bound to its own address before the wildcard one on the same port', () => {
  const index = new ListenerIndex([listener('0.0.0.0', 80), listener('10.0.0.1', 80), listener('::', 80, 6)]);
  assert.equal(index.add({ family: 4, address: '10.0.0.1', port: 80, state: 'ESTABLISHED' }), true);
  assert.equal(index.add({ family: 4, address: '10.0.0.2', port: 80, state: 'SYN_RECV' }), true);
  assert.equal(index.add({ family: 6, address: '::1', port: 80, state: 'ESTABLISHED' }), true);
  assert.equal(index.add({ family: 4, address: '10.0.0.1', port: 81, state: 'ESTABLISHED' }), false, 'no listener on 81');
  const [wildcard, exact, six] = index.summaries(true);
  assert.deepEqual([wildcard!.established, wildcard!.synRecv, exact!.established, six!.established], [0, 1, 1, 1]);
  assert.equal(exact!.backlog, 128);
  assert.equal(index.summaries(false)[0]!.backlog, null, 'a source without backlogs says null');
});
