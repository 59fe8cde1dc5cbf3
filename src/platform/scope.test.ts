import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scope } from './scope.js';
import type { CleanupFailure } from './scope.js';
import { StoppedError } from '../errors.js';

function recording(): { scope: Scope; failures: CleanupFailure[] } {
  const failures: CleanupFailure[] = [];
  return { scope: new Scope('test', { onCleanupError: (f) => failures.push(f) }), failures };
}

test('cleanups run once, newest first, each guarded; the signal aborts first', async () => {
  const { scope, failures } = recording();
  const ran: string[] = [];
  scope.defer('a', () => void ran.push(`a aborted=${scope.signal.aborted}`));
  scope.defer('b', () => {
    ran.push('b');
    throw new Error('b failed');
  });
  scope.defer('c', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    ran.push('c');
  });
  await Promise.all([scope.close(), scope.close()]);
  await scope.close();
  assert.deepEqual(ran, ['c', 'b', 'a aborted=true']);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.name, 'b');
  assert.equal((failures[0]!.error as Error).message, 'b failed');
  assert.equal(scope.closed, true);
  assert.equal(scope.size, 0);
});

test('a released cleanup never runs and is forgotten', async () => {
  const { scope } = recording();
  let ran = false;
  const release = scope.defer('x', () => void (ran = true));
  assert.equal(scope.size, 1);
  release();
  release();
  assert.equal(scope.size, 0);
  await scope.close();
  assert.equal(ran, false);
});

test('registering on a closed scope undoes it at once and throws StoppedError', async () => {
  const { scope } = recording();
  await scope.close();
  let ran = 0;
  assert.throws(() => scope.defer('late', () => void ran++), (error: unknown) => error instanceof StoppedError && error.code === 'TCPDIAG_STOPPED');
  assert.equal(ran, 1);
  assert.throws(() => scope.timeout(() => assert.fail('a timer of a closed scope fired'), 1), StoppedError);
  await new Promise((resolve) => setTimeout(resolve, 10));
});

test('child scopes close with their parent, newest first, and a closed child is forgotten', async () => {
  const { scope } = recording();
  const ran: string[] = [];
  scope.defer('parent-first', () => void ran.push('parent-first'));
  const child = scope.child('capture');
  assert.equal(child.name, 'test/capture');
  child.defer('tcpdump', () => void ran.push('child'));
  const grandchild = child.child('ring');
  grandchild.defer('file', () => void ran.push('grandchild'));
  scope.defer('parent-last', () => void ran.push('parent-last'));
  await scope.close();
  assert.deepEqual(ran, ['parent-last', 'grandchild', 'child', 'parent-first']);
  assert.equal(child.closed && grandchild.closed, true);

  const { scope: parent } = recording();
  const alone = parent.child('trace');
  assert.equal(parent.size, 1);
  await alone.close();
  assert.equal(parent.size, 0, 'a closed child is no longer held by its parent');
});

test('a child inherits the failure reporter', async () => {
  const { scope, failures } = recording();
  scope.child('c').defer('boom', () => Promise.reject(new Error('nope')));
  await scope.close();
  assert.deepEqual(failures.map((f) => [f.scope, f.name]), [['test/c', 'boom']]);
});

test('timers: cleared on close, forgotten once fired', async () => {
  const { scope } = recording();
  let fired = 0;
  scope.timeout(() => fired++, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(fired, 1);
  assert.equal(scope.size, 0, 'a fired timeout leaves nothing registered');
  scope.timeout(() => assert.fail('cleared timeout fired'), 60);
  let ticks = 0;
  scope.interval(() => ticks++, 2);
  await new Promise((resolve) => setTimeout(resolve, 15));
  await scope.close();
  const seen = ticks;
  assert.ok(seen > 0);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(ticks, seen, 'the interval stopped with the scope');
});

test('closeSync runs the sync variants and does not wait', () => {
  const { scope, failures } = recording();
  const ran: string[] = [];
  scope.defer('async-only', () => void ran.push('async-only ran synchronously'));
  scope.defer('both', () => assert.fail('the async variant must not run'), { sync: () => void ran.push('sync') });
  scope.child('c').defer('child', () => assert.fail('async variant in a child'), { sync: () => void ran.push('child sync') });
  scope.defer('throws', () => undefined, {
    sync: () => {
      throw new Error('sync failed');
    },
  });
  scope.closeSync();
  assert.deepEqual(ran, ['child sync', 'sync', 'async-only ran synchronously']);
  assert.deepEqual(failures.map((f) => f.name), ['throws']);
  assert.equal(scope.signal.aborted, true);
  scope.closeSync();
  assert.equal(ran.length, 3, 'a second closeSync runs nothing');
});

test('100,000 child scopes opened and closed in one process leave nothing behind', async () => {
  const { scope } = recording();
  const before = process.listenerCount('exit');
  let cleaned = 0;
  for (let i = 0; i < 100_000; i++) {
    const child = scope.child(`trace-${i}`);
    child.defer('instance', () => void cleaned++);
    child.timeout(() => assert.fail('timer of a closed child fired'), 60_000);
    await child.close();
  }
  assert.equal(cleaned, 100_000);
  assert.equal(scope.size, 0);
  assert.equal(process.listenerCount('exit'), before, 'no process listener per scope');
  await scope.close();
});
