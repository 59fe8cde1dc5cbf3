import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLuhnValid, isValidChineseId } from './checks.js';
import { Redactor } from './redact.js';
import type { RedactionKind } from './redact.js';

const ALL: RedactionKind[] = ['id_card', 'phone', 'email', 'bank_card'];

test('ID numbers are recognised by their MOD 11-2 check digit, X included', () => {
  assert.equal(isValidChineseId('11010519491231002X'), true);
  assert.equal(isValidChineseId('110105194912310021'), false, 'wrong check digit');
  assert.equal(isValidChineseId('440524188001010014'), true);
  assert.equal(isValidChineseId('44052418800101001'), false, 'too short');
});

test('card numbers are recognised by the Luhn check', () => {
  assert.equal(isLuhnValid('4111111111111111'), true);
  assert.equal(isLuhnValid('4111111111111112'), false);
  assert.equal(isLuhnValid('6222020200112233441'.slice(0, 16)), isLuhnValid('6222020200112233'));
});

test('each kind is masked in place and the length never changes', () => {
  const r = new Redactor({ kinds: ALL, patterns: [], maskChar: '*' });
  const input = 'id=11010519491231002X&tel=13812345678&mail=zhang.san@example.com&card=4111 1111 1111 1111&seq=1234567890123';
  const out = r.redactText(input);
  assert.equal(out.length, input.length);
  assert.equal(out, 'id=******************&tel=***********&mail=*********************&card=*******************&seq=1234567890123');
  assert.deepEqual(r.counts, { id_card: 1, phone: 1, email: 1, bank_card: 1, pattern: 0 });
});

test('digits that fail the checks are left alone', () => {
  const r = new Redactor({ kinds: ALL, patterns: [], maskChar: '*' });
  const text = 'id=110105194912310021 card=4111111111111112 ts=1700000000123';
  assert.equal(r.redactText(text), text);
});

test('phone formats: +86 prefix, landline, E.164', () => {
  const r = new Redactor({ kinds: ['phone'], patterns: [], maskChar: '#' });
  assert.equal(r.redactText('a +86 138-1234-5678 b'), 'a ################# b');
  assert.equal(r.redactText('call 010-62345678 now'), 'call ############ now');
  assert.equal(r.redactText('us +1 415 555 2671.'), 'us ###############.');
});

test('configured patterns are masked; only the chosen kinds apply', () => {
  const r = new Redactor({ kinds: ['email'], patterns: ['MRN-\\d{6}', 'token=[A-Za-z0-9]+'], maskChar: 'x' });
  assert.equal(r.redactText('MRN-123456 token=abc123 13812345678 a@b.io'), 'xxxxxxxxxx xxxxxxxxxxxx 13812345678 xxxxxx');
  assert.equal(r.counts.pattern, 2);
});

test('a bad configured pattern is a ConfigError naming the key', () => {
  assert.throws(() => new Redactor({ kinds: [], patterns: ['('], maskChar: '*' }), /privacy\.patterns\[0\]/);
});

test('redact() touches only the given byte range of a buffer', () => {
  const r = new Redactor({ kinds: ALL, patterns: [], maskChar: '*' });
  const buf = Buffer.from('HDR:13812345678|payload 13812345678');
  const n = r.redact(buf, 16);
  assert.equal(n, 1);
  assert.equal(buf.toString(), 'HDR:13812345678|payload ***********');
});
