import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventFormat, symbolicNames } from './format.js';
import { MalformedInputError } from '../../errors.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'tracefs');
const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

test('field offsets and sizes come from the kernel\'s format file', () => {
  const f = parseEventFormat(read('inet_sock_set_state.format'));
  assert.equal(f.name, 'inet_sock_set_state');
  assert.ok(f.id > 0);
  assert.deepEqual(f.fields.get('skaddr'), { offset: 8, size: 8, signed: false });
  assert.deepEqual(f.fields.get('oldstate'), { offset: 16, size: 4, signed: true });
  assert.deepEqual(f.fields.get('saddr_v6'), { offset: 40, size: 16, signed: false });
  assert.deepEqual(f.fields.get('common_pid'), { offset: 4, size: 4, signed: true });
});

test('tcp_send_reset reasons are read by name from __print_symbolic', () => {
  const f = parseEventFormat(read('tcp_send_reset.format'));
  const reasons = symbolicNames(f, 'reason');
  assert.equal(reasons.get(1), 'NO_SOCKET');
  assert.equal(reasons.get(11), 'TCP_ABORT_ON_CLOSE');
  assert.ok(f.fields.has('reason'));
  assert.equal(f.fields.get('saddr')?.size, 28, 'sockaddr_in6-sized endpoints');
});

test('text that is not a format file is a MalformedInputError', () => {
  assert.throws(() => parseEventFormat('hello'), MalformedInputError);
});
