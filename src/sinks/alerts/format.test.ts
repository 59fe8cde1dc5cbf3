import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, jsonLine, postableAlerts, textLine, webhookMessage } from './format.js';
import type { AlertTransition } from '../../model/alert.js';

const firing: AlertTransition = {
  status: 'firing',
  repeat: false,
  rule: 'syn-rate',
  metric: 'syn_per_s',
  severity: 'P2',
  scopeKind: 'host',
  scope: null,
  value: 51234.5,
  threshold: 10000,
  atMs: Date.UTC(2026, 11, 1, 14, 0, 5),
  startsAtMs: Date.UTC(2026, 11, 1, 14, 0, 5),
  activeSinceMs: Date.UTC(2026, 11, 1, 14, 0, 0),
  summary: 'SYNs received per second',
};
const id = { instance: 'web-1', generatorUrl: '' };

test('the fingerprint is Alertmanager\'s: FNV-1a 64 over sorted names and values with 0xff separators', () => {
  // Empty label set: the FNV-64a offset basis, as prometheus/common's emptyLabelSignature.
  assert.equal(fingerprint({}), 'cbf29ce484222325');
  assert.equal(fingerprint({ b: '2', a: '1' }), fingerprint({ a: '1', b: '2' }), 'order does not matter');
  assert.notEqual(fingerprint({ a: '1' }), fingerprint({ a: '2' }));
});

test('the JSON line is the watch contract', () => {
  assert.equal(jsonLine(firing), '{"type":"alert","status":"firing","rule":"syn-rate","severity":"P2","value":51234.5,"threshold":10000,"ts":"2026-12-01T14:00:05.000Z","startsAt":"2026-12-01T14:00:05.000Z"}');
  assert.equal(JSON.parse(jsonLine({ ...firing, scope: '127.0.0.1:80', scopeKind: 'listener' })).scope, '127.0.0.1:80');
});

test('the text line says when, what, where and how much', () => {
  assert.equal(textLine(firing), '2026-12-01 14:00:05Z FIRING   P2 syn-rate 51234.5 (threshold 10000)');
  assert.equal(textLine({ ...firing, status: 'resolved', value: null, scope: '10.0.0.5' }), '2026-12-01 14:00:05Z RESOLVED P2 syn-rate [10.0.0.5] gone (threshold 10000)');
});

test('a webhook message is Alertmanager\'s version 4 with one alert, zero endsAt while firing', () => {
  const m = webhookMessage(firing, id);
  assert.deepEqual(m, {
    version: '4',
    groupKey: '{}:{alertname="syn-rate"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'tcpdiag',
    groupLabels: { alertname: 'syn-rate' },
    commonLabels: { alertname: 'syn-rate', severity: 'P2', instance: 'web-1', job: 'tcpdiag' },
    commonAnnotations: { summary: 'SYNs received per second', description: 'syn-rate: 51234.5 (threshold 10000)', value: '51234.5', threshold: '10000' },
    externalURL: '',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'syn-rate', severity: 'P2', instance: 'web-1', job: 'tcpdiag' },
        annotations: { summary: 'SYNs received per second', description: 'syn-rate: 51234.5 (threshold 10000)', value: '51234.5', threshold: '10000' },
        startsAt: '2026-12-01T14:00:05.000Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: fingerprint({ alertname: 'syn-rate', severity: 'P2', instance: 'web-1', job: 'tcpdiag' }),
      },
    ],
  });
  const resolved = webhookMessage({ ...firing, status: 'resolved', atMs: firing.atMs + 60_000 }, id);
  assert.equal(resolved.alerts[0]!.endsAt, '2026-12-01T14:01:05.000Z');
});

test('alerts pushed to Alertmanager end a few resends ahead while firing, and at the resolve time after', () => {
  const [pushed] = postableAlerts([firing], id, firing.atMs, 180_000);
  assert.equal(pushed!.endsAt, '2026-12-01T14:03:05.000Z');
  assert.equal(pushed!.startsAt, '2026-12-01T14:00:05.000Z');
  const [done] = postableAlerts([{ ...firing, status: 'resolved', atMs: firing.atMs + 1000 }], id, firing.atMs + 1000, 180_000);
  assert.equal(done!.endsAt, '2026-12-01T14:00:06.000Z');
});
