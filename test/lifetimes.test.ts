/**
 * Scopes around real kernel state, in one process, as the agent will use them: traces and
 * captures started and stopped again and again, two at once, and a scope closed while a start
 * is under way. Each close must leave no tracefs instance, no child process and no open fd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { isRoot, tracefsRoot, findExecutable } from '../src/platform/capabilities.js';
import { Scope } from '../src/platform/scope.js';
import { TracefsTcpSource } from '../src/sources/tracefs/source.js';
import { TCP_TRACEPOINTS } from '../src/sources/tracefs/tcp-events.js';
import { TcpdumpCapture } from '../src/sources/packets.js';
import { StoppedError } from '../src/errors.js';

const ROOT = tracefsRoot();
const SKIP_TRACE = isRoot() && ROOT !== null ? false : 'needs root and tracefs';
const SKIP_TCPDUMP = isRoot() && findExecutable('tcpdump') !== null ? false : 'needs root and tcpdump';

const STATE = TCP_TRACEPOINTS.filter((t) => t.kind === 'state').map((spec) => ({ spec, filter: null }));
const openFds = (): number => readdirSync('/proc/self/fd').length;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const ours = (root: string): string[] => readdirSync(`${root}/instances`).filter((n) => n.startsWith(`tcpdiag-${process.pid}`));

test('a trace opened and closed 30 times in one process leaves no instance and no fd', { skip: SKIP_TRACE }, async () => {
  const root = ROOT!;
  const agent = new Scope('agent');
  const fdsBefore = openFds();
  for (let i = 0; i < 30; i++) {
    const scope = agent.child(`trace-${i}`);
    const source = TracefsTcpSource.open({ root, bufferKb: 256, tracepoints: STATE, scope });
    assert.ok(existsSync(source.instancePath));
    await scope.close();
    assert.ok(!existsSync(source.instancePath), `closing the scope removed ${source.instancePath}`);
  }
  assert.equal(agent.size, 0, 'closed children are forgotten');
  assert.deepEqual(ours(root), []);
  assert.equal(openFds(), fdsBefore, 'every trace_pipe_raw fd was closed');
  await agent.close();
});

test('two traces at once in one process get their own instances; closing the parent removes both', { skip: SKIP_TRACE }, async () => {
  const root = ROOT!;
  const agent = new Scope('agent');
  const a = TracefsTcpSource.open({ root, bufferKb: 256, tracepoints: STATE, scope: agent.child('a') });
  const b = TracefsTcpSource.open({ root, bufferKb: 256, tracepoints: STATE, scope: agent.child('b') });
  assert.notEqual(a.instancePath, b.instancePath);
  assert.deepEqual(ours(root).sort(), [`tcpdiag-${process.pid}`, `tcpdiag-${process.pid}-2`]);
  await agent.close();
  assert.deepEqual(ours(root), []);
});

test('a trace started in a scope that already closed is undone and refused', { skip: SKIP_TRACE }, async () => {
  const root = ROOT!;
  const scope = new Scope('stopped');
  await scope.close();
  assert.throws(() => TracefsTcpSource.open({ root, bufferKb: 256, tracepoints: STATE, scope }), StoppedError);
  assert.deepEqual(ours(root), [], 'the instance made before the refusal is gone');
});

test('tcpdump started and stopped 5 times through scopes: each close waits for it to exit', { skip: SKIP_TCPDUMP }, async () => {
  const agent = new Scope('agent');
  for (let i = 0; i < 5; i++) {
    const scope = agent.child(`capture-${i}`);
    const capture = await TcpdumpCapture.start({ interface: 'lo', direction: 'both', snaplen: 96, filter: ['tcp', 'port', '9'] }, () => undefined, scope);
    const pid = capture.pid!;
    assert.ok(alive(pid));
    await scope.close();
    assert.ok(!alive(pid), `tcpdump ${pid} exited before close() resolved`);
  }
  assert.equal(agent.size, 0);
  await agent.close();
});
