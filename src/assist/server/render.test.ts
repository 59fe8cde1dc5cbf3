import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listeningLine, renderServerEvent, serverEventJson } from './render.js';
import { renderClientSummary } from '../client/render.js';

const at = new Date('2026-01-02T03:04:05.678Z');
const peer = { id: 7, remote: '10.0.0.2:40000', local: '10.0.0.1:8080' };

test('the listening line is exactly "listening on ADDRESS:PORT", IPv6 in brackets', () => {
  assert.equal(listeningLine('0.0.0.0', 8080), 'listening on 0.0.0.0:8080');
  assert.equal(listeningLine('::', 8080), 'listening on [::]:8080');
});

test('server events render with a UTC clock, peer id, escaped text and a hex dump', () => {
  assert.equal(renderServerEvent({ type: 'accept', peer }, at, true), '[03:04:05.678] #7 accepted 10.0.0.2:40000 -> 10.0.0.1:8080');
  assert.equal(
    renderServerEvent({ type: 'data', peer, data: Buffer.from('ok\n'), totalBytes: 19 }, at, true),
    '[03:04:05.678] #7 <- 3 bytes: ok\\n\n00000010  6f 6b 0a                                          |ok.|',
  );
  assert.equal(renderServerEvent({ type: 'peer-closed', peer, keptOpen: true }, at, true), '[03:04:05.678] #7 peer closed its side (FIN); keeping ours open: CLOSE_WAIT here, FIN_WAIT2 there');
  assert.equal(renderServerEvent({ type: 'close', peer, bytesIn: 3, bytesOut: 0, durationMs: 12, reset: true, kernel: null }, at, true), '[03:04:05.678] #7 closed (reset): in 3 B, out 0 B, 12 ms');
  assert.equal(
    renderServerEvent({ type: 'close', peer, bytesIn: 3, bytesOut: 3, durationMs: 5, reset: false, kernel: { rttMs: 0.04, totalRetrans: 1, mss: 1448 } }, at, true),
    '[03:04:05.678] #7 closed: in 3 B, out 3 B, 5 ms; rtt 0.04 ms, retransmits 1, mss 1448',
  );
});

test('server JSON events carry text and hex instead of buffers', () => {
  assert.deepEqual(serverEventJson({ type: 'data', peer, data: Buffer.from([0x41, 0x00]), totalBytes: 2 }, at), {
    ts: '2026-01-02T03:04:05.678Z',
    type: 'data',
    totalBytes: 2,
    id: 7,
    remote: '10.0.0.2:40000',
    bytes: 2,
    text: 'A\\x00',
    hex: '4100',
  });
});

test('the client summary counts messages and bytes and gives the kernel view', () => {
  assert.equal(
    renderClientSummary({
      target: 'h:1',
      remote: '127.0.0.1:1',
      connectMs: 0.2,
      messagesSent: 1,
      bytesSent: 5,
      messagesReceived: 2,
      bytesReceived: 10,
      durationMs: 1003,
      closedBy: 'peer',
      tcpInfo: { rttMs: 0.05, rttvarMs: 0.01, totalRetrans: 0, mss: 32768, cwnd: 10 },
    }),
    'sent 1 message (5 bytes), received 2 reads (10 bytes) in 1003 ms; closed by peer; rtt 0.050 ms, retransmits 0, mss 32768',
  );
});
