import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHttpRequest, fillerPayload, parseBenchTarget } from './target.js';
import { UsageError } from '../../errors.js';

test('http URLs become HTTP targets with host, port, path and Host header', () => {
  assert.deepEqual(parseBenchTarget('http://127.0.0.1:8080/api?x=1'), { kind: 'http', host: '127.0.0.1', port: 8080, path: '/api?x=1', hostHeader: '127.0.0.1:8080', tls: false });
  assert.deepEqual(parseBenchTarget('http://example.test'), { kind: 'http', host: 'example.test', port: 80, path: '/', hostHeader: 'example.test', tls: false });
  assert.deepEqual(parseBenchTarget('http://[::1]:81/'), { kind: 'http', host: '::1', port: 81, path: '/', hostHeader: '[::1]:81', tls: false });
  assert.deepEqual(parseBenchTarget('https://example.test/x'), { kind: 'http', host: 'example.test', port: 443, path: '/x', hostHeader: 'example.test', tls: true });
});

test('HOST:PORT, tcp:// and [IPv6]:PORT become raw TCP targets', () => {
  assert.deepEqual(parseBenchTarget('10.0.0.5:7000'), { kind: 'tcp', host: '10.0.0.5', port: 7000 });
  assert.deepEqual(parseBenchTarget('tcp://db.internal:5432'), { kind: 'tcp', host: 'db.internal', port: 5432 });
  assert.deepEqual(parseBenchTarget('[fe80::1]:9'), { kind: 'tcp', host: 'fe80::1', port: 9 });
});

test('targets that cannot work are usage errors with a hint', () => {
  for (const bad of ['localhost', 'host:0', 'host:70000', '::1:80', 'http://']) {
    assert.throws(() => parseBenchTarget(bad), UsageError, bad);
  }
});

test('the HTTP request carries Host, extra headers and a Content-Length body', () => {
  const req = buildHttpRequest({ method: 'POST', path: '/p', hostHeader: 'h:1', headers: ['X-A: 1'], body: Buffer.from('abc') }).toString('latin1');
  assert.equal(req, 'POST /p HTTP/1.1\r\nHost: h:1\r\nUser-Agent: tcpdiag-bench\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc');
  assert.throws(() => buildHttpRequest({ method: 'GET', path: '/', hostHeader: 'h', headers: ['Bad\r\nInjected: 1'], body: null }), UsageError);
});

test('filler payloads have the exact size and no line breaks', () => {
  for (const size of [1, 49, 64, 1024, 65536]) {
    const p = fillerPayload(size);
    assert.equal(p.length, size);
    assert.equal(p.includes(0x0a), false);
  }
});
