/**
 * `tcpdiag watch` on real traffic, each test in a private network namespace (its counters are
 * its own): a SYN flood from hping3 (bounded by `timeout`, SYN-ACKs dropped so half-open sockets
 * stay) fires syn-rate within its hold and resolves after, across a restart of watch that fires
 * nothing again, with a webhook receiver that gets exactly one firing and one resolved message
 * in Alertmanager's format; a burst of new connections far above the learned baseline fires the
 * shipped surge rule without a hand threshold.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import test from 'node:test';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { startReceiver, startWatch, tempDir, writeConfig } from './watch-support.js';
import type { WebhookMessage } from '../src/sinks/alerts/format.js';

test('a SYN flood fires syn-rate within its hold and resolves after it stops; a restart while it fires fires nothing; the webhook gets one firing and one resolved', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'hping3', 'timeout');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watchsyn');
  const dir = tempDir(t, 'watch-syn');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--backlog', '128', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  // The SYN-ACKs never reach hping3, so it sends no RST and the request socks stay half-open.
  ns.nft(`table inet flood {\n chain input {\n  type filter hook input priority 0;\n  tcp sport ${port} tcp flags & (syn|ack) == (syn|ack) drop\n }\n}\n`);
  const receiver = await startReceiver(t, ns, 'answer');
  // The shipped syn-rate rule (10000 SYN/s) with a shorter hold and 1 s samples, so the test takes seconds.
  const config = writeConfig(dir, `[alerts]\ninterval_s = 1\nstate_file = "${join(dir, 'state.json')}"\n[alerts.rules.syn-rate]\nfor_s = 2\nkeep_firing_for_s = 3\n`);
  const args = ['--config', config, 'watch', '--json', '--webhook', receiver.url];
  const first = await startWatch(t, ns, args);
  await sleep(2000);

  // hping3 ignores -c with --flood: `timeout` bounds it.
  const floodStart = Date.now();
  const flood = spawn('ip', ['netns', 'exec', ns.name, 'timeout', '9', 'hping3', '-S', '--flood', '-p', String(port), '127.0.0.1'], { stdio: 'ignore' });
  const fired = await first.waitForLine((l) => l.rule === 'syn-rate' && l.status === 'firing', 12_000);
  const firedAfterMs = Date.parse(fired.ts) - floodStart;
  assert.ok(firedAfterMs >= 2000 && firedAfterMs <= 2000 + 2 * 1000 + 1000, `fired ${firedAfterMs} ms into the flood: the 2 s hold plus at most two samples`);
  assert.equal(fired.severity, 'P2');
  assert.equal(fired.threshold, 10000);
  assert.ok((fired.value ?? 0) > 10000, String(fired.value));
  const evidence = fired.evidence!;
  assert.ok((evidence.counters.SyncookiesSentPerS ?? 0) > 0, `the counter deltas show the cookies: ${JSON.stringify(evidence.counters)}`);
  assert.equal(evidence.topListeners[0]?.listener, `127.0.0.1:${port}`, JSON.stringify(evidence.topListeners));
  assert.deepEqual(evidence.topListeners[0]?.process, { pid: server.pid, process: server.comm });
  assert.equal(evidence.topSources[0]?.source, '127.0.0.1');
  assert.ok(evidence.sockets.length > 0 && evidence.sockets.every((s) => s.state === 'SYN_RECV'), 'the sockets behind the number are half-open');
  assert.equal(evidence.finding?.id, 'syn-flood', 'the diagnosis finding that explains it');
  assert.ok(Array.isArray(evidence.finding.advice) && evidence.finding.advice.length > 0);

  // A restart while it fires: the state file keeps it firing, so the second run does not fire it again.
  assert.equal(await first.stop(), 0);
  const second = await startWatch(t, ns, args);
  assert.match(second.stderr(), /1 alert\(s\) still firing from the last run/);
  await once(flood, 'exit');
  const floodEnd = Date.now();
  const resolved = await second.waitForLine((l) => l.rule === 'syn-rate' && l.status === 'resolved', 15_000);
  const resolvedAfterMs = Date.parse(resolved.ts) - floodEnd;
  assert.ok(resolvedAfterMs >= 0 && resolvedAfterMs <= 3000 + 2 * 1000 + 1000, `resolved ${resolvedAfterMs} ms after the flood: keepFiringFor 3 s plus at most two samples`);
  assert.equal(resolved.startsAt, fired.startsAt, 'the same alert, started when it fired before the restart');
  assert.deepEqual(second.lines().filter((l) => l.rule === 'syn-rate').map((l) => l.status), ['resolved'], 'the restart fired nothing');
  assert.equal(await second.stop(), 0);

  const messages = (receiver.bodies() as WebhookMessage[]).filter((m) => m.groupLabels.alertname === 'syn-rate');
  assert.deepEqual(messages.map((m) => m.status), ['firing', 'resolved'], 'one firing and one resolved message for one incident');
  const [firing, done] = messages as [WebhookMessage, WebhookMessage];
  assert.equal(firing.version, '4');
  assert.equal(firing.receiver, 'tcpdiag');
  assert.equal(firing.alerts.length, 1);
  assert.deepEqual(firing.alerts[0]!.labels.alertname, 'syn-rate');
  assert.equal(firing.alerts[0]!.labels.severity, 'P2');
  assert.equal(firing.alerts[0]!.endsAt, '0001-01-01T00:00:00Z', 'Alertmanager\'s zero time while firing');
  assert.equal(done.alerts[0]!.status, 'resolved');
  assert.equal(done.alerts[0]!.fingerprint, firing.alerts[0]!.fingerprint);
  assert.equal(done.alerts[0]!.startsAt, firing.alerts[0]!.startsAt);
  assert.ok(Date.parse(done.alerts[0]!.endsAt) > Date.parse(done.alerts[0]!.startsAt));
  assert.match(firing.alerts[0]!.annotations.finding ?? '', /./, 'the finding goes to the receiver too');
});

test('a burst of new connections far above the baseline learned before a restart fires the surge rule without a hand threshold', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watchsurge');
  const dir = tempDir(t, 'watch-surge');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  // The shipped new-connection-surge rule; only its learning is made fast: half-second samples
  // and buckets, ten buckets of warm-up.
  const config = writeConfig(dir, `[alerts]\ninterval_s = 0.5\nstate_file = "${join(dir, 'state.json')}"\nbaseline_bucket_s = 0.5\nbaseline_warmup_buckets = 10\n[alerts.rules.new-connection-surge]\nfor_s = 1\nkeep_firing_for_s = 2\n`);
  const learner = await startWatch(t, ns, ['--config', config, 'watch', '--json']);
  // Steady traffic to learn from: 20 connections per second (40 opens: both ends are here) for 8 s.
  const steady = await actor(t, ['connect-loop', '127.0.0.1', '9000', '160', '--rate', '20'], ns);
  await steady.waitFor(/^done 160/m, 20_000);
  assert.equal(await learner.stop(), 0);
  assert.deepEqual(learner.lines(), [], 'steady traffic fires nothing');
  // The baseline learned before the restart is the one judged after it: no new warm-up.
  const watch = await startWatch(t, ns, ['--config', config, 'watch', '--json']);
  assert.doesNotMatch(watch.stderr(), /learning starts over|not used/);
  const burstStart = Date.now();
  const burst = await actor(t, ['connect-loop', '127.0.0.1', '9000', '6000', '--rate', '1500'], ns);
  const fired = await watch.waitForLine((l) => l.rule === 'new-connection-surge' && l.status === 'firing', 10_000);
  assert.ok(Date.parse(fired.ts) - burstStart <= 1000 + 2 * 500 + 1000, `fired within the 1 s hold plus two samples: ${Date.parse(fired.ts) - burstStart} ms`);
  const baseline = fired.evidence?.baseline;
  assert.ok(baseline !== undefined && baseline.median >= 20 && baseline.median <= 80 && baseline.samples >= 10, `the usual is the steady rate learned by the first run: ${JSON.stringify(baseline)}`);
  assert.equal(fired.threshold, 500, 'the floor of the shipped rule ([thresholds] new_connections_per_s): four times the usual is less');
  assert.ok((fired.value ?? 0) > 1000, String(fired.value));
  await burst.waitFor(/^done 6000/m, 30_000);
  await watch.waitForLine((l) => l.rule === 'new-connection-surge' && l.status === 'resolved', 15_000);
  assert.deepEqual(watch.lines().map((l) => `${l.rule} ${l.status}`), ['new-connection-surge firing', 'new-connection-surge resolved'], 'nothing else fired');
});

test('a rate that crosses its threshold back and forth does not flap: short bursts never fire, short lulls never resolve', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watchflap');
  const dir = tempDir(t, 'watch-flap');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const config = writeConfig(dir, '[alerts]\ninterval_s = 0.5\nstate_file = ""\n[alerts.rules.conn-burst]\nmetric = "new_connections_per_s"\nthreshold = 100\nfor_s = 2\nkeep_firing_for_s = 3\n');
  const watch = await startWatch(t, ns, ['--config', config, 'watch', '--json']);
  // 300 connections per second (600 opens: both ends are here) for `ms`, then `pauseMs` of nothing.
  const burst = async (ms: number, pauseMs: number): Promise<void> => {
    const count = Math.round((300 * ms) / 1000);
    const loop = await actor(t, ['connect-loop', '127.0.0.1', '9000', String(count), '--rate', '300'], ns);
    await loop.waitFor(new RegExp(`^done ${count}`, 'm'), 20_000);
    await sleep(pauseMs);
  };
  // Bursts of half a second, each shorter than the 2 s hold.
  for (let i = 0; i < 4; i++) await burst(500, 1200);
  assert.deepEqual(watch.lines(), [], 'no burst lasted the hold');
  // A sustained load fires; lulls of about a second, shorter than keepFiringFor, do not resolve it.
  await burst(3500, 0);
  await watch.waitForLine((l) => l.status === 'firing', 5000);
  for (let i = 0; i < 3; i++) await burst(1000, 900);
  const resolved = await watch.waitForLine((l) => l.status === 'resolved', 10_000);
  assert.ok(resolved.rule === 'conn-burst');
  assert.deepEqual(watch.lines().map((l) => `${l.rule} ${l.status}`), ['conn-burst firing', 'conn-burst resolved'], 'one incident, one firing, one resolved');
});
