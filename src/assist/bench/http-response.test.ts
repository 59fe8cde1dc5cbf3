import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpResponseParser, MalformedResponseError, NEED_MORE, parseHead } from './http-response.js';

const enc = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Feed `bytes` split at every position (two reads), and in single bytes; all must agree. */
function parseEverySplit(bytes: Buffer, headRequest = false): Array<{ end: number; status: number; body: number; keepAlive: boolean }> {
  const results = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new HttpResponseParser();
    p.reset(headRequest);
    let end = p.feed(bytes.subarray(0, cut));
    if (end === NEED_MORE) {
      const second = p.feed(bytes.subarray(cut));
      end = second === NEED_MORE ? NEED_MORE : cut + second;
    }
    results.push({ end, status: p.statusCode, body: p.bodyBytes, keepAlive: p.keepAlive });
  }
  const p = new HttpResponseParser();
  p.reset(headRequest);
  let end = NEED_MORE;
  for (let i = 0; i < bytes.length && end === NEED_MORE; i++) {
    const r = p.feed(bytes.subarray(i, i + 1));
    if (r !== NEED_MORE) end = i + r;
  }
  results.push({ end, status: p.statusCode, body: p.bodyBytes, keepAlive: p.keepAlive });
  return results;
}

test('a Content-Length response completes exactly at its last body byte, however the reads are split', () => {
  const response = enc('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello');
  for (const r of parseEverySplit(response)) assert.deepEqual(r, { end: response.length, status: 200, body: 5, keepAlive: true });
});

test('a chunked response with extensions and trailers completes after the trailer section', () => {
  const response = enc('HTTP/1.1 504 Gateway Timeout\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n');
  for (const r of parseEverySplit(response)) assert.deepEqual(r, { end: response.length, status: 504, body: 23, keepAlive: true });
});

test('HEAD, 204 and 304 responses have no body whatever Content-Length says', () => {
  const head = enc('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
  for (const r of parseEverySplit(head, true)) assert.equal(r.end, head.length);
  for (const code of [204, 304]) {
    const bytes = enc(`HTTP/1.1 ${code} X\r\nContent-Length: 7\r\n\r\n`);
    for (const r of parseEverySplit(bytes)) assert.deepEqual([r.end, r.status], [bytes.length, code]);
  }
});

test('interim 100 Continue is skipped and the final response counted', () => {
  const bytes = enc('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
  for (const r of parseEverySplit(bytes)) assert.deepEqual([r.end, r.status, r.body], [bytes.length, 201, 2]);
});

test('a response without framing runs until the server closes, and is not kept alive', () => {
  const p = new HttpResponseParser();
  p.reset();
  assert.equal(p.feed(enc('HTTP/1.0 200 OK\r\n\r\nsome body')), NEED_MORE);
  assert.equal(p.endsAtClose, true);
  assert.equal(p.feed(enc(' more')), NEED_MORE);
  p.endOfStream();
  assert.equal(p.bodyBytes, 14);
  assert.equal(p.keepAlive, false);
});

test('Connection: close and HTTP/1.0 keep-alive are honoured', () => {
  const p = new HttpResponseParser();
  p.reset();
  p.feed(enc('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(p.keepAlive, false);
  p.reset();
  p.feed(enc('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(p.keepAlive, true);
});

test('a close before the response is complete is an error', () => {
  const p = new HttpResponseParser();
  p.reset();
  p.feed(enc('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  assert.throws(() => p.endOfStream(), MalformedResponseError);
});

test('malformed heads are refused with a reason, never a crash', () => {
  const bad = [
    'HTTP/2 200 OK\r\n\r\n',
    'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    'HTTP/1.1 20 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n',
  ];
  for (const text of bad) {
    const p = new HttpResponseParser();
    p.reset();
    assert.throws(() => p.feed(enc(text)), MalformedResponseError, text);
  }
});

test('a head that never ends is cut off at 64 KiB', () => {
  const p = new HttpResponseParser();
  p.reset();
  p.feed(enc('HTTP/1.1 200 OK\r\n'));
  const filler = enc(`X-Big: ${'a'.repeat(1000)}\r\n`);
  assert.throws(() => {
    for (let i = 0; i < 100; i++) p.feed(filler);
  }, /larger than 65536/);
});

test('the cached head is reused only for identical bytes', () => {
  const p = new HttpResponseParser();
  p.reset();
  p.feed(enc('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  p.reset();
  const end = p.feed(enc('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  assert.equal([end, p.statusCode].join(), '40,200');
  p.reset();
  // Same length, different status and length: must be parsed afresh.
  p.feed(enc('HTTP/1.1 504 OK\r\nContent-Length: 3\r\n\r\nab'));
  assert.equal(p.statusCode, 504);
  assert.equal(p.endsAtClose, false);
  assert.equal(p.feed(enc('c')), 1);
});

test('parseHead reads the framing fields case-insensitively', () => {
  assert.deepEqual(parseHead('HTTP/1.1 200 OK\r\ncontent-LENGTH: 12\r\nCONNECTION: Close'), {
    statusCode: 200, interim: false, connectionClose: true, chunked: false, contentLength: 12,
  });
  assert.equal(parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked').chunked, true);
});
