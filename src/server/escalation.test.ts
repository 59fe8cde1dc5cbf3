import assert from 'node:assert/strict';
import test from 'node:test';
import type { AlertTransition } from '../model/alert.js';
import type { Finding } from '../model/finding.js';
import type { Recording } from '../model/recording.js';
import { AgentBus } from './bus.js';
import { Escalation } from './escalation.js';
import type { EscalationSettings } from './escalation.js';
import type { CaptureRequest, Recorder, RecordingHandle, TraceRequest } from './recorder.js';
import { parseEndpointText, scopeFilter, scopeOfFinding } from './recording-scope.js';
import { formatExpr } from '../model/conn-filter.js';

const SETTINGS: EscalationSettings = {
  enabled: true, trace: true, capture: true, traceDetail: false, durationMs: 1000, onFindings: ['close-wait-leak'],
  maxConcurrent: 2, cooldownMs: 60_000, captureMaxBytes: 1e6, traceMaxBytes: 1e6, interface: 'any', snaplen: 128, ringBeforeMs: 60_000,
};

/** A recorder whose recordings end when the test says so. */
class FakeRecorder {
  readonly started: Array<{ kind: string; req: CaptureRequest | TraceRequest; end: () => void }> = [];
  private id = 0;
  private handle(kind: string, req: CaptureRequest | TraceRequest): RecordingHandle {
    let end: () => void = () => undefined;
    const done = new Promise<Recording>((resolve) => (end = () => resolve({} as Recording)));
    this.started.push({ kind, req, end });
    return { id: ++this.id, started: Promise.resolve(), done };
  }
  startTrace(req: TraceRequest): RecordingHandle {
    return this.handle('trace', req);
  }
  startCapture(req: CaptureRequest): RecordingHandle {
    return this.handle('capture', req);
  }
}

function firing(scope: string | null, extra: Partial<AlertTransition> = {}): AlertTransition {
  return {
    status: 'firing', repeat: false, rule: 'close-wait-growth', metric: 'close_wait', severity: 'P3', scopeKind: scope === null ? 'host' : 'listener', scope,
    value: 7, threshold: 3, atMs: Date.now(), startsAtMs: Date.now(), activeSinceMs: Date.now(), summary: '', ...extra,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('an alert that begins firing starts a trace and a capture narrowed to its listener, once per scope while they run', () => {
  const bus = new AgentBus();
  const recorder = new FakeRecorder();
  const e = new Escalation(SETTINGS, recorder as unknown as Recorder, null, () => undefined);
  e.subscribe(bus);
  bus.publish({ kind: 'alert', atMs: Date.now(), transition: firing('127.0.0.1:8080') });
  assert.deepEqual(recorder.started.map((s) => s.kind), ['trace', 'capture']);
  assert.equal(formatExpr(recorder.started[0]!.req.filter.expr!), formatExpr(scopeFilter({ kind: 'listener', value: '127.0.0.1:8080' }).expr!));
  assert.match(recorder.started[0]!.req.reason, /^alert close-wait-growth \(P3\) firing on 127\.0\.0\.1:8080: close_wait 7, threshold 3$/);
  // The same scope again (another rule), a repeat, a resolution: nothing new.
  bus.publish({ kind: 'alert', atMs: Date.now(), transition: firing('127.0.0.1:8080', { rule: 'syn-recv-backlog' }) });
  bus.publish({ kind: 'alert', atMs: Date.now(), transition: firing('127.0.0.1:9090', { repeat: true }) });
  bus.publish({ kind: 'alert', atMs: Date.now(), transition: firing('127.0.0.1:9090', { status: 'resolved' }) });
  assert.equal(recorder.started.length, 2);
  assert.deepEqual(e.state().decisions.map((d) => d.outcome), ['started', 'scope-busy']);
});

test('at most max_concurrent escalations run at once, and a scope that escalated waits out its cooldown', async () => {
  const recorder = new FakeRecorder();
  const e = new Escalation({ ...SETTINGS, capture: false }, recorder as unknown as Recorder, null, () => undefined);
  const at = Date.now();
  assert.equal(e.trigger('alert', { kind: 'listener', value: '127.0.0.1:1' }, 'a', at).outcome, 'started');
  assert.equal(e.trigger('alert', { kind: 'listener', value: '127.0.0.1:2' }, 'b', at).outcome, 'started');
  assert.equal(e.trigger('alert', { kind: 'listener', value: '127.0.0.1:3' }, 'c', at).outcome, 'at-capacity');
  recorder.started[0]!.end();
  await tick();
  await tick();
  assert.equal(e.trigger('alert', { kind: 'listener', value: '127.0.0.1:1' }, 'a again', at).outcome, 'cooldown');
  assert.equal(e.trigger('alert', { kind: 'listener', value: '127.0.0.1:3' }, 'c', at).outcome, 'started');
  assert.ok(e.state().cooldowns['listener:127.0.0.1:1']! > Date.now() + 59_000);
});

test('a finding escalates when its id is listed, on the endpoint its subject names', () => {
  const bus = new AgentBus();
  const recorder = new FakeRecorder();
  const e = new Escalation(SETTINGS, recorder as unknown as Recorder, null, () => undefined);
  e.subscribe(bus);
  const finding = (id: string, subject: string): Finding => ({ id, severity: 'warning', title: 't', subject, explanation: '', evidence: {}, advice: [], source: 'the agent', atMs: 0 });
  bus.publish({ kind: 'findings', atMs: 0, fromMs: 0, findings: [finding('sysctl-somaxconn', 'the host'), finding('close-wait-leak', 'server [812] on 127.0.0.1:8080')] });
  assert.equal(recorder.started.length, 2);
  assert.deepEqual(recorder.started[0]!.req.scope, { kind: 'listener', value: '127.0.0.1:8080' });
  assert.equal(recorder.started[0]!.req.trigger, 'finding');
});

test('escalation off subscribes to nothing', () => {
  const bus = new AgentBus();
  new Escalation({ ...SETTINGS, enabled: false }, new FakeRecorder() as unknown as Recorder, null, () => undefined).subscribe(bus);
  assert.equal(bus.size, 0);
});

test('scopes: listeners by port (and address unless a wildcard), peers by address, anything else the whole host', () => {
  assert.deepEqual(parseEndpointText('[::1]:443'), { address: '::1', port: 443 });
  assert.deepEqual(parseEndpointText('*:80'), { address: null, port: 80 });
  assert.deepEqual(parseEndpointText('10.0.0.5'), { address: '10.0.0.5', port: null });
  assert.equal(parseEndpointText('nginx [12]'), null);
  assert.equal(parseEndpointText('1.2.3.4:70000'), null);
  assert.equal(formatExpr(scopeFilter({ kind: 'listener', value: '0.0.0.0:80' }).expr!), formatExpr(scopeFilter({ kind: 'listener', value: '*:80' }).expr!));
  assert.match(formatExpr(scopeFilter({ kind: 'listener', value: '127.0.0.1:80' }).expr!), /127\.0\.0\.1/);
  assert.match(formatExpr(scopeFilter({ kind: 'peer', value: '2001:db8::1' }).expr!), /2001:db8::1/);
  assert.deepEqual(scopeFilter({ kind: 'host', value: null }), {});
  const f = (subject: string): Finding => ({ id: 'x', severity: 'info', title: '', subject, explanation: '', evidence: {}, advice: [], source: '', atMs: 0 });
  assert.deepEqual(scopeOfFinding(f('10.0.0.5')), { kind: 'peer', value: '10.0.0.5' });
  assert.deepEqual(scopeOfFinding(f('[::1]:8080')), { kind: 'listener', value: '[::1]:8080' });
  assert.deepEqual(scopeOfFinding(f('net.core.somaxconn')), { kind: 'host', value: null });
});
