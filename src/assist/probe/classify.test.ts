import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError } from './classify.js';
import { parseProbeTarget } from './target.js';
import { systemError } from '../../errors.js';

const errno = (code: string): NodeJS.ErrnoException => systemError(code, `x ${code}`);

test('errno codes map to the failure classes users see', () => {
  assert.equal(classifyError('connect', errno('ECONNREFUSED')).class, 'refused');
  assert.equal(classifyError('connect', errno('ETIMEDOUT')).class, 'timeout');
  assert.equal(classifyError('connect', errno('EHOSTUNREACH')).class, 'unreachable');
  assert.equal(classifyError('connect', errno('ENETUNREACH')).class, 'unreachable');
  assert.equal(classifyError('http', errno('ECONNRESET')).class, 'reset');
  assert.equal(classifyError('tls', errno('EPIPE')).class, 'reset');
  assert.equal(classifyError('dns', errno('ENOTFOUND')).class, 'dns');
  assert.equal(classifyError('dns', errno('EAI_AGAIN')).class, 'dns');
});

test('a timeout after the handshake belongs to the step that waited', () => {
  assert.deepEqual(classifyError('tls', errno('ETIMEDOUT')).class, 'tls');
  assert.deepEqual(classifyError('http', errno('ETIMEDOUT')).class, 'http');
  assert.equal(classifyError('tls', errno('ERR_SSL_WRONG_VERSION_NUMBER')).class, 'tls');
  assert.equal(classifyError('connect', errno('ECONNREFUSED')).message, 'connection refused (ECONNREFUSED)');
});

test('probe targets: host:port, http and https URLs with default ports, IPv6', () => {
  assert.deepEqual(parseProbeTarget('db:5432'), { kind: 'tcp', host: 'db', port: 5432, path: '/', display: 'db:5432' });
  assert.deepEqual(parseProbeTarget('https://example.com/health?x=1'), { kind: 'https', host: 'example.com', port: 443, path: '/health?x=1', display: 'https://example.com/health?x=1' });
  assert.equal(parseProbeTarget('http://[::1]/').host, '::1');
  assert.equal(parseProbeTarget('http://[::1]/').port, 80);
  assert.throws(() => parseProbeTarget('ftp://x/'), /not ftp/);
  assert.throws(() => parseProbeTarget('host'), /has no port/);
});
