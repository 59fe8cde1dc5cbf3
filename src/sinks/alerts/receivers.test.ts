import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertmanagerSink } from './receivers.js';
import type { PostableAlert } from './format.js';
import type { AlertTransition } from '../../model/alert.js';

const restored: AlertTransition = {
  status: 'firing',
  repeat: true,
  rule: 'close-wait-leak',
  metric: 'close_wait',
  severity: 'P2',
  scopeKind: 'host',
  scope: null,
  value: 420,
  threshold: 100,
  atMs: Date.UTC(2026, 11, 1, 18, 0, 0),
  startsAtMs: Date.UTC(2026, 11, 1, 17, 0, 0),
  activeSinceMs: Date.UTC(2026, 11, 1, 16, 59, 0),
  summary: 'CLOSE_WAIT piling up',
};

test('an alert restored as firing is resent to Alertmanager at the next sample, with its first start and a later endsAt', async (t) => {
  const bodies: PostableAlert[][] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as PostableAlert[]);
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const errors: string[] = [];
  const sink = alertmanagerSink(`http://127.0.0.1:${port}`, { instance: 'web-1', generatorUrl: '' }, { resendMs: 60_000, timeoutMs: 2000, retries: 0, backoffMs: 10, capacity: 10, onError: (m) => errors.push(m) });
  sink.resume(restored);
  const now = restored.atMs + 1000;
  // Well inside the resend interval of the restored alert's last push: a fresh process knows no last push.
  sink.tick(now);
  sink.tick(now + 500);
  await sink.close(5000);
  assert.deepEqual(errors, []);
  assert.equal(bodies.length, 1, 'one resend, not one per sample');
  const alert = bodies[0]![0]!;
  assert.equal(alert.labels.alertname, 'close-wait-leak');
  assert.equal(Date.parse(alert.startsAt), restored.startsAtMs, 'the alert keeps its first start');
  assert.equal(Date.parse(alert.endsAt), now + 3 * 60_000, 'valid for three resend intervals from the resend');
});
