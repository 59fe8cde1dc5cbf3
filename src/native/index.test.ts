import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';
import { decodeTcpInfo } from '../model/tcp-info.js';
import { loadNative } from './index.js';
import { socketFd } from '../assist/socket-options.js';

test('tcpTotalRetrans agrees with the full tcp_info, and says -1 for a descriptor that is not a TCP socket', async (t) => {
  const { addon, error } = loadNative();
  if (addon === null) return t.skip(`native addon not built: ${error}`);
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  try {
    const fd = socketFd(client);
    assert.ok(fd !== null && fd >= 0);
    const info = decodeTcpInfo(addon.getTcpInfo(fd));
    assert.ok(info !== null);
    assert.equal(addon.tcpTotalRetrans(fd), info.totalRetrans);
    assert.equal(addon.tcpTotalRetrans(0), -1); // stdin: not a socket
    assert.equal(addon.tcpTotalRetrans(1 << 20), -1); // not open
  } finally {
    client.destroy();
    server.close();
  }
});
