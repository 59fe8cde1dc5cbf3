import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hexDump, parseEscapedText, parseHexBytes, printable } from './hexdump.js';
import { parseHostPort, formatHostPort } from './client/endpoint.js';
import { ReplyMatcher, parseReplyRule } from './server/reply-rules.js';

test('hexDump lays bytes out like hexdump -C', () => {
  const data = Buffer.from('Hello, world!\n\x00\x01\xffZ', 'latin1');
  assert.equal(
    hexDump(data),
    '00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 01  |Hello, world!...|\n' +
      '00000010  ff 5a                                             |.Z|',
  );
  assert.equal(hexDump(Buffer.from('A'), 0x20), '00000020  41                                                |A|');
});

test('printable escapes control bytes and backslashes', () => {
  assert.equal(printable(Buffer.from('a\\b\r\n\t\x00\x7f', 'latin1')), 'a\\\\b\\r\\n\\t\\x00\\x7f');
});

test('parseHexBytes accepts spaces, colons, commas and 0x, and rejects odd or bad digits', () => {
  assert.deepEqual(parseHexBytes('48 65 6c'), Buffer.from('Hel'));
  assert.deepEqual(parseHexBytes('0x48,0x65:6C'), Buffer.from('He' + 'l'));
  assert.throws(() => parseHexBytes('486'), /odd number of hex digits/);
  assert.throws(() => parseHexBytes('zz'), /"z" is not a hex digit/);
  assert.throws(() => parseHexBytes('  '), /no bytes given/);
});

test('parseEscapedText turns \\r\\n, \\t, \\0 and \\xNN into bytes and keeps UTF-8', () => {
  assert.deepEqual(parseEscapedText('GET\\r\\n\\x00é'), Buffer.from([0x47, 0x45, 0x54, 0x0d, 0x0a, 0x00, 0xc3, 0xa9]));
  assert.throws(() => parseEscapedText('\\xg1'), /needs two hex digits/);
});

test('parseHostPort reads IPv4, names and bracketed IPv6, and formats them back', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHostPort('[::1]:443'), { host: '::1', port: 443 });
  assert.deepEqual(parseHostPort('example.com', 'x', 80), { host: 'example.com', port: 80 });
  assert.deepEqual(parseHostPort('::1', 'x', 80), { host: '::1', port: 80 });
  assert.throws(() => parseHostPort('host:99999'), /not a port/);
  assert.throws(() => parseHostPort('host'), /has no port/);
  assert.throws(() => parseHostPort('[nope]:1'), /not an IPv6 address/);
  assert.equal(formatHostPort('::1', 80), '[::1]:80');
  assert.equal(formatHostPort('10.0.0.1', 80), '10.0.0.1:80');
  assert.equal(formatHostPort('::ffff:10.0.0.1', 80), '10.0.0.1:80');
});

test('reply rules match across reads and fire in stream order', () => {
  const matcher = new ReplyMatcher([parseReplyRule('PING=>PONG'), parseReplyRule('hex:00 ff=>hex:01')]);
  assert.deepEqual(matcher.feed(Buffer.from('xxPI')), []);
  assert.deepEqual(
    matcher.feed(Buffer.from('NG\x00\xffPING', 'latin1')).map((r) => r.reply.toString('hex')),
    ['504f4e47', '01', '504f4e47'],
  );
  const any = new ReplyMatcher([parseReplyRule('*=>OK\\n')]);
  assert.deepEqual(any.feed(Buffer.from('a')).map((r) => r.reply.toString()), ['OK\n']);
  assert.throws(() => parseReplyRule('PING'), /missing "=>"/);
});
