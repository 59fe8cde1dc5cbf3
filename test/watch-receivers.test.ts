/**
 * `tcpdiag watch` and the receivers operators run, each test in a private network namespace: a
 * real Alertmanager (Debian's prometheus-alertmanager, started as a plain process on the
 * namespace's loopback, stopped by PID) shows the alert through its own API while it fires and
 * not after it resolved; a webhook that never answers delays no evaluation while a command hook
 * still gets both transitions; and no alert at all on a quiet host, across a restart, or under
 * heavy healthy load.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Netns, actor, rootSkipReason, sleep, startProcess } from './diagnose-support.js';
import { getInNs, startReceiver, startWatch, tempDir, writeConfig } from './watch-support.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

/** A rule that a few hundred connections per second cross: the receivers are under test here, not the metric. */
const BURST_RULE = '[alerts.rules.conn-burst]\nmetric = "new_connections_per_s"\nthreshold = 100\nfor_s = 1\nkeep_firing_for_s = 1\nseverity = "P1"\nsummary = "connection burst"\n';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | null = null;
  while (Date.now() < deadline) {
    last = probe();
    if (last !== null) return last;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

test('a real Alertmanager shows the alert through its API while it fires, and not once it resolved', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip') ?? (existsSync(ALERTMANAGER) ? null : `needs ${ALERTMANAGER} (apt-get install prometheus-alertmanager)`);
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watcham');
  const dir = tempDir(t, 'watch-am');
  const amConfig = join(dir, 'alertmanager.yml');
  writeFileSync(amConfig, 'route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n');
  // An empty --cluster.listen-address turns clustering off (the default would listen on 0.0.0.0:9094).
  await startProcess(t, [ALERTMANAGER, `--config.file=${amConfig}`, `--storage.path=${join(dir, 'am-data')}`, '--web.listen-address=127.0.0.1:9093', '--cluster.listen-address='], ns);
  await until('Alertmanager ready', 20_000, () => (getInNs(ns, 'http://127.0.0.1:9093/-/ready').status === 200 ? true : null));
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const config = writeConfig(dir, `[alerts]\ninterval_s = 0.5\nstate_file = ""\nalertmanager_resend_s = 1\n${BURST_RULE}`);
  const watch = await startWatch(t, ns, ['--config', config, 'watch', '--json', '--alertmanager', 'http://127.0.0.1:9093']);
  const query = (): AmAlert[] => {
    const r = getInNs(ns, 'http://127.0.0.1:9093/api/v2/alerts?filter=alertname%3D%22conn-burst%22');
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as AmAlert[];
  };
  assert.deepEqual(query(), [], 'nothing before the burst');

  const burst = await actor(t, ['connect-loop', '127.0.0.1', '9000', '1600', '--rate', '200'], ns);
  const fired = await watch.waitForLine((l) => l.rule === 'conn-burst' && l.status === 'firing', 10_000);
  const shown = await until('the alert in Alertmanager', 10_000, () => {
    const alerts = query();
    return alerts.length > 0 ? alerts : null;
  });
  assert.equal(shown.length, 1);
  const alert = shown[0]!;
  assert.equal(alert.status.state, 'active');
  assert.equal(alert.labels.severity, 'P1');
  assert.equal(alert.labels.job, 'tcpdiag');
  assert.equal(alert.annotations.summary, 'connection burst');
  assert.equal(Date.parse(alert.startsAt), Date.parse(fired.startsAt));
  assert.ok(Date.parse(alert.endsAt) > Date.now(), 'still firing: its endsAt is ahead');
  // Re-sent while firing: the endsAt moves forward.
  await sleep(2500);
  if (watch.lines().every((l) => l.status !== 'resolved')) {
    const later = query()[0];
    assert.ok(later !== undefined && Date.parse(later.endsAt) > Date.parse(alert.endsAt), `re-sent with a later endsAt: ${later?.endsAt} vs ${alert.endsAt}`);
  }

  await burst.waitFor(/^done 1600/m, 30_000);
  await watch.waitForLine((l) => l.rule === 'conn-burst' && l.status === 'resolved', 10_000);
  await until('the alert gone from Alertmanager\'s active alerts', 10_000, () => (query().length === 0 ? true : null));
  assert.equal(await watch.stop(), 0);
});

test('a webhook that never answers delays no evaluation, and the command hook still gets both transitions', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watchdead');
  const dir = tempDir(t, 'watch-dead');
  const dead = await startReceiver(t, ns, 'hang');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const hookFile = join(dir, 'hook.ndjson');
  const hook = ['node', '-e', 'require("fs").appendFileSync(process.argv[1], require("fs").readFileSync(0))', hookFile];
  // A 30 s deadline per attempt and three retries: one delivery can hang for minutes.
  const config = writeConfig(dir, `[alerts]\ninterval_s = 0.25\nstate_file = ""\nsink_timeout_s = 30\nsink_retries = 3\nexec = ${JSON.stringify(hook)}\n${BURST_RULE}`);
  const watch = await startWatch(t, ns, ['--config', config, 'watch', '--json', '--webhook', dead.url]);
  const started = Date.now();
  const burst = await actor(t, ['connect-loop', '127.0.0.1', '9000', '600', '--rate', '200'], ns);
  await watch.waitForLine((l) => l.rule === 'conn-burst' && l.status === 'firing', 10_000);
  await burst.waitFor(/^done 600/m, 30_000);
  const burstEnd = Date.now();
  const resolved = await watch.waitForLine((l) => l.rule === 'conn-burst' && l.status === 'resolved', 10_000);
  const lag = Date.parse(resolved.ts) - burstEnd;
  assert.ok(lag <= 1000 + 3 * 250 + 500, `resolved ${lag} ms after the burst: keepFiringFor 1 s plus a few samples, the hung webhook notwithstanding`);
  await sleep(1000);
  const stopAt = Date.now();
  assert.equal(await watch.stop(), 0);
  assert.ok(Date.now() - stopAt < 4000, 'exit waits for the hung webhook at most its close deadline');
  const elapsed = stopAt - started;
  const samples = Number(/(\d+) samples/.exec(watch.stderr())?.[1] ?? 0);
  assert.ok(samples >= (0.8 * elapsed) / 250, `${samples} samples in ${elapsed} ms at 250 ms: no tick waited for the webhook`);
  assert.equal(dead.bodies().length, 1, 'the webhook got the firing message and hung; the resolved one waits behind it');
  const hooked = readFileSync(hookFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rule: string; status: string });
  assert.deepEqual(hooked.map((h) => `${h.rule} ${h.status}`), ['conn-burst firing', 'conn-burst resolved']);
});

test('no alert on a quiet host, across a restart, nor under heavy healthy load (keep-alive at full speed + 400 new connections/s)', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'watchquiet');
  const dir = tempDir(t, 'watch-quiet');
  // The shipped rules as they are, on 1 s samples.
  const config = writeConfig(dir, `[alerts]\ninterval_s = 1\nstate_file = "${join(dir, 'state.json')}"\n`);
  const args = ['--config', config, 'watch', '--json'];
  const quiet = await startWatch(t, ns, args);
  await sleep(3500);
  assert.equal(await quiet.stop(), 0);
  assert.deepEqual(quiet.lines(), []);
  assert.ok(existsSync(join(dir, 'state.json')), 'the state was saved on exit');

  const restarted = await startWatch(t, ns, args);
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const keepAlive = await actor(t, ['ping-pong', '127.0.0.1', '9000', '8', '6'], ns);
  const churn = await actor(t, ['connect-loop', '127.0.0.1', '9000', '2400', '--rate', '400'], ns);
  const exchanges = Number((await keepAlive.waitFor(/^done (\d+)/m, 30_000))[1]);
  await churn.waitFor(/^done 2400/m, 30_000);
  await sleep(1500);
  assert.equal(await restarted.stop(), 0);
  assert.deepEqual(restarted.lines(), [], 'the restart fired nothing and the load is not a problem');
  assert.ok(exchanges > 10_000, `the keep-alive load ran at full speed: ${exchanges} exchanges`);
  assert.ok(Number(/(\d+) samples/.exec(restarted.stderr())?.[1] ?? 0) >= 6, restarted.stderr());
});
