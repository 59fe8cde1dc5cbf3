import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawReplyMatcher } from './raw-reply.js';
import { NEED_MORE } from './http-response.js';

test('a length rule completes at exactly N bytes over any number of reads', () => {
  const m = new RawReplyMatcher({ kind: 'length', bytes: 10 });
  assert.equal(m.feed(Buffer.alloc(4)), NEED_MORE);
  assert.equal(m.feed(Buffer.alloc(4)), NEED_MORE);
  assert.equal(m.feed(Buffer.alloc(5)), 2);
  assert.equal(m.received, 10);
});

test('a delimiter that straddles two reads is found', () => {
  const reply = Buffer.from('+PONG\r\n');
  for (let cut = 0; cut <= reply.length; cut++) {
    const m = new RawReplyMatcher({ kind: 'delimiter', delimiter: Buffer.from('\r\n') });
    const first = m.feed(reply.subarray(0, cut));
    const end = first !== NEED_MORE ? first : cut + m.feed(reply.subarray(cut));
    assert.equal(end, reply.length, `cut at ${cut}`);
    assert.equal(m.received, reply.length);
  }
});

test('a one-byte delimiter ends the reply at its first occurrence', () => {
  const m = new RawReplyMatcher({ kind: 'delimiter', delimiter: Buffer.from('\n') });
  assert.equal(m.feed(Buffer.from('abc')), NEED_MORE);
  assert.equal(m.feed(Buffer.from('d\nrest')), 2);
  m.reset();
  assert.equal(m.feed(Buffer.from('\n')), 1);
});

test('an empty delimiter is refused', () => {
  assert.throws(() => new RawReplyMatcher({ kind: 'delimiter', delimiter: Buffer.alloc(0) }), RangeError);
});
