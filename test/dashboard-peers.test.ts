/**
 * The Peers page's two views of this host's sources and services, end to end in Debian's
 * Chromium (playwright-core) against `tcpdiag serve`:
 * - Source fingerprints (POST /api/v1/guard/observe): inside a network namespace the test makes,
 *   an echo server on 127.0.0.1 and four clients from their own loopback addresses: 127.0.0.77
 *   holds 12 idle connections, 127.0.0.66 holds 6, 127.0.0.55 holds 2 that send every 200 ms,
 *   and 127.0.0.88 opens 10 whose SYN-ACKs an nft rule of the namespace drops (real half-open
 *   request sockets, no spoofing). With the test's [guard] thresholds (idle 1 s, 10 idle
 *   connections or 8 half-open to attack, a flood at 8 half-open) the API says attacking,
 *   suspicious, normal and attacking, with the counts ss sees and a flood from real sources;
 *   a second observation while one runs is a 409; the page shows the same rows, attacking first,
 *   in English and in 中文, and the 409 as an error.
 * - Remote ports (by=remote-port): in the host namespace (the kernel event collector runs only
 *   there), connections from this host to a loopback echo server and refused connects to a
 *   closed loopback port are the opens and failures of those two ports in the page's heat map.
 * Root, ip, nft, ss; holds the kernel lock (run through run-tests).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { ssCount, until } from './serve-support.js';
import { ARTIFACTS, CHROMIUM, chromiumInNetns, englishLeft, eventCollectorRunning, livePage, visibleText } from './dashboard-support.js';
import type { GuardReport } from '../src/model/guard.js';

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** POST /api/v1/guard/observe from the page (the browser is where the agent is: the namespace's loopback). */
function observeFromPage(page: Page, body: string): Promise<Reply> {
  return page.evaluate<Reply>(`(async () => {
    const r = await fetch('/api/v1/guard/observe', { method: 'POST', headers: { authorization: 'Bearer ' + (localStorage.getItem('tcpdiag.token') ?? '') }, body: ${JSON.stringify(body)} });
    return { status: r.status, body: await r.json() };
  })()`);
}

interface Made {
  readonly verdict: string;
  readonly idle: number;
  readonly concurrent: number;
  readonly halfOpen: number;
}

/** What the test makes, by source address. */
const MADE: Readonly<Record<string, Made>> = {
  '127.0.0.77': { verdict: 'attacking', idle: 12, concurrent: 12, halfOpen: 0 },
  '127.0.0.88': { verdict: 'attacking', idle: 0, concurrent: 0, halfOpen: 10 },
  '127.0.0.66': { verdict: 'suspicious', idle: 6, concurrent: 6, halfOpen: 0 },
  '127.0.0.55': { verdict: 'normal', idle: 0, concurrent: 2, halfOpen: 0 },
};

const GUARD_CONFIG = `[agent]
counters_interval_s = 1
sample_interval_s = 1
diagnose_interval_s = 0
[alerts]
state_file = ""
[guard]
poll_interval_ms = 200
idle_s = 1
idle_connections_attack = 10
half_open_attack = 8
flood_half_open = 8
`;

interface ShownRow {
  readonly address: string;
  readonly verdict: string;
  readonly idle: number;
  readonly concurrent: number;
  readonly halfOpen: number;
  readonly completion: string;
  readonly reasons: string;
}

function rowsShown(page: Page): Promise<ShownRow[]> {
  return page.evaluate<ShownRow[]>(`[...document.querySelectorAll('[data-testid=fp-sources] tr')].map((tr) => {
    const n = (key) => Number(tr.querySelector('[data-' + key + ']')?.getAttribute('data-' + key));
    return {
      address: tr.dataset.source ?? '', verdict: tr.dataset.verdict ?? '', idle: n('idle-connections'), concurrent: n('concurrent-max'), halfOpen: n('half-open-max'),
      completion: tr.querySelector('[data-completion-ratio]')?.getAttribute('data-completion-ratio') ?? '', reasons: tr.children[2]?.textContent ?? '',
    };
  })`);
}

test('source fingerprints: idle holders, half-open SYNs and a normal client are judged by the agent as tcpdiag guard does, and the Peers page shows them in English and 中文', { timeout: 240_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss', 'nft');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const ns = Netns.create(t, 'fprint');
  // The SYN-ACKs to 127.0.0.88 never arrive: its connects stay in SYN_SENT and the server's
  // request sockets in SYN_RECV (resent by the kernel for ~63 s, tcp_synack_retries). The table
  // is the namespace's: deleting the namespace (t.after) deletes it.
  ns.nft('table inet tcpdiag_test_synack {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip daddr 127.0.0.88 tcp flags & (syn | ack) == (syn | ack) drop\n  }\n}\n');
  const dir = tempDir(t, 'fprint');
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, GUARD_CONFIG), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token'], ns);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;

  const echo = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const port = (await echo.waitFor(/ready (\d+)/))[1]!;
  for (const [address, n] of [['127.0.0.77', 12], ['127.0.0.66', 6]] as const) {
    const held = await actor(t, ['hold', '127.0.0.1', port, String(n), '--local', address], ns);
    await held.waitFor(/ready/);
  }
  const busy = await actor(t, ['hold', '127.0.0.1', port, '2', '--local', '127.0.0.55', '--send', '2048', '--every', '200'], ns);
  await busy.waitFor(/ready/);
  const pending = await actor(t, ['pending', '127.0.0.1', port, '10', '--local', '127.0.0.88'], ns);
  await pending.waitFor(/ready 10/);
  await until('the 10 half-open connections in SYN_RECV', 10_000, () => Promise.resolve(ssCount(ns, 'syn-recv', ['src', `127.0.0.1:${port}`]) === 10 ? true : undefined));
  for (const [address, m] of Object.entries(MADE)) {
    assert.equal(ssCount(ns, 'established', ['src', `127.0.0.1:${port}`, 'dst', address]), m.concurrent, `ss: ${address}'s established connections`);
    assert.equal(ssCount(ns, 'syn-recv', ['src', `127.0.0.1:${port}`, 'dst', address]), m.halfOpen, `ss: ${address}'s half-open connections`);
  }
  // Past guard.idle_s (1 s) for the idle holders.
  await sleep(1500);

  const errors: string[] = [];
  const browser = await chromiumInNetns(t, ns, dir);
  const page = await livePage(browser, url, token, errors, 'peers', 900);
  await page.locator('[data-testid=fp-run]').waitFor();
  assert.ok((await page.locator('[data-testid=fp-result]').innerText()).includes('No observation yet'), 'the section says no observation has run');

  // The API: the report of tcpdiag guard --json, with the agent's [guard] settings.
  const reply = await observeFromPage(page, '{"seconds": 3}');
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const report = reply.body as GuardReport;
  assert.ok(report.window.durationMs >= 2900 && report.window.snapshots >= 10, JSON.stringify(report.window));
  for (const [address, m] of Object.entries(MADE)) {
    const s = report.sources.find((x) => x.address === address);
    assert.ok(s !== undefined, `${address} in the report: ${JSON.stringify(report.sources.map((x) => x.address))}`);
    assert.equal(s.verdict, m.verdict, `${address}: ${JSON.stringify(s)}`);
    assert.equal(s.metrics.idleConnections, m.idle, `${address} idle`);
    assert.equal(s.metrics.concurrentMax, m.concurrent, `${address} concurrent`);
    assert.equal(s.metrics.halfOpenMax, m.halfOpen, `${address} half-open`);
    assert.deepEqual(s.listeners, [`127.0.0.1:${port}`], `${address} reached the echo server only`);
  }
  assert.equal(report.sources.find((x) => x.address === '127.0.0.88')?.metrics.completionRatio, 0, 'none of the half-open handshakes completed');
  assert.match(report.sources.find((x) => x.address === '127.0.0.77')!.reasons.join(' '), /holds 12 idle connections .*slow-connection attack/);
  assert.match(report.sources.find((x) => x.address === '127.0.0.88')!.reasons.join(' '), /10 half-open connections at once .*SYN flood/);
  assert.equal(report.flood?.kind, 'real', JSON.stringify(report.flood));
  assert.equal(report.flood.sources, 1, 'one source never completed a handshake');
  assert.equal(report.flood.halfOpenMax, 10);
  assert.deepEqual(report.sources.map((s) => s.verdict).slice(0, 3), ['attacking', 'attacking', 'suspicious'], 'the worst first');
  assert.deepEqual(report.issues, [], 'as root the observation saw everything');

  // One at a time: a second request while one runs is refused with a code and a hint.
  const both = await page.evaluate<{ first: Reply; second: { status: number; body: { error?: { code: string; hint: string } } } }>(`(async () => {
    const go = (s) => fetch('/api/v1/guard/observe', { method: 'POST', headers: { authorization: 'Bearer ' + (localStorage.getItem('tcpdiag.token') ?? '') }, body: JSON.stringify({ seconds: s }) })
      .then(async (r) => ({ status: r.status, body: await r.json() }));
    const first = go(2);
    await new Promise((r) => setTimeout(r, 300));
    const second = await go(2);
    return { first: await first, second };
  })()`);
  assert.equal(both.first.status, 200);
  assert.equal(both.second.status, 409);
  assert.equal(both.second.body.error?.code, 'TCPDIAG_BUSY');
  assert.match(both.second.body.error?.hint ?? '', /one observation runs at a time: retry in \d+ s/);
  const bad = await observeFromPage(page, '{"seconds": 61}');
  const badError = (bad.body as { error: { code: string; message: string } }).error;
  assert.deepEqual([bad.status, badError.code, badError.message], [400, 'TCPDIAG_USAGE', 'seconds: expected 1-60 seconds']);

  // The page's error state: its observation refused while one started elsewhere runs.
  await page.evaluate(`void fetch('/api/v1/guard/observe', { method: 'POST', headers: { authorization: 'Bearer ' + (localStorage.getItem('tcpdiag.token') ?? '') }, body: '{"seconds": 3}' })`);
  await sleep(300);
  await page.locator('[data-testid=fp-run]').click();
  await page.locator('[data-testid=fp-result] .error').waitFor({ timeout: 5000 });
  const refused = await page.locator('[data-testid=fp-result]').innerText();
  assert.match(refused, /an observation is running already .*one observation runs at a time/, refused);
  await sleep(3000);

  // The page's own observation: progress while it watches, then the table, attacking first.
  await page.locator('[data-testid=fp-window]').selectOption('5');
  await page.locator('[data-testid=fp-run]').click();
  await until('the progress line', 3000, async () => ((await page.locator('[data-testid=fp-status]').innerText()).includes('Watching the socket table for 5 s') ? true : undefined));
  assert.equal(await page.locator('[data-testid=fp-run]').isDisabled(), true, 'one observation at a time from the page too');
  await page.locator('[data-testid=fp-status][data-state=done]').waitFor({ state: 'attached', timeout: 15_000 });
  const rows = await rowsShown(page);
  console.log(`fingerprints shown: ${JSON.stringify(rows.map((r) => [r.address, r.verdict, r.idle, r.concurrent, r.halfOpen, r.completion]))}`);
  for (const [address, m] of Object.entries(MADE)) {
    const r = rows.find((x) => x.address === address);
    assert.deepEqual(r === undefined ? null : [r.verdict, r.idle, r.concurrent, r.halfOpen], [m.verdict, m.idle, m.concurrent, m.halfOpen], `${address} on the page`);
  }
  assert.equal(rows.find((x) => x.address === '127.0.0.88')?.completion, '0');
  assert.match(rows.find((x) => x.address === '127.0.0.77')?.reasons ?? '', /holds 12 idle connections/);
  const ranks = rows.map((r) => ['attacking', 'suspicious', 'normal'].indexOf(r.verdict));
  assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), 'attacking first, then suspicious, then normal');
  const flood = page.locator('[data-testid=fp-flood]');
  assert.deepEqual([await flood.getAttribute('data-kind'), await flood.getAttribute('data-sources'), await flood.getAttribute('data-half-open-max')], ['real', '1', '10']);
  assert.ok((await flood.innerText()).includes('SYN flood from real sources'), await flood.innerText());
  const summary = await page.locator('[data-testid=fp-summary]').innerText();
  assert.ok(summary.includes(`Sources: ${rows.length}; attacking: 2; suspicious: 1.`), summary);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'en-peers-fingerprints.png'), fullPage: true });

  // 中文: the page re-mounts with the same report; no English string of the catalogue is left.
  await page.selectOption('#lang', 'zh-CN');
  await page.locator('[data-testid=fp-sources] tr').first().waitFor();
  await page.waitForTimeout(1000);
  assert.equal((await rowsShown(page)).length, rows.length, 'the same rows in 中文');
  assert.ok((await page.locator('[data-testid=fp-sources]').innerText()).includes('攻击'), 'the verdicts in Chinese');
  assert.ok((await flood.innerText()).includes('来自真实来源的 SYN 洪泛'), await flood.innerText());
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the fingerprints in 中文');
  await page.screenshot({ path: join(ARTIFACTS, 'zh-CN-peers-fingerprints.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
});

const OPENED = 9;
const REFUSED = 5;

interface GroupShown {
  readonly opened: number;
  readonly closed: number;
  readonly failed: number;
}

function groupsShown(page: Page): Promise<Record<string, GroupShown>> {
  return page.evaluate<Record<string, GroupShown>>(`Object.fromEntries([...document.querySelectorAll('[data-testid=peer-groups] tr[data-group]')].map((tr) => {
    const n = (m) => Number(tr.querySelector('[data-' + m + ']')?.getAttribute('data-' + m));
    return [tr.dataset.group ?? '', { opened: n('opened'), closed: n('closed'), failed: n('failed') }];
  }))`);
}

test('remote ports over time: the connections this host opens to a loopback echo server, and refused ones to a closed port, are those ports\' rows in the Peers page\'s heat map', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const dir = tempDir(t, 'rports');
  const config = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n[alerts]\nstate_file = ""\n';
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, config), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token']);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
  await eventCollectorRunning(url, token);
  // In the host namespace the browser reaches nothing but loopback (as the peers test in dashboard-traffic).
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--proxy-server=http://127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  t.after(() => browser.close());

  // Loopback services on ports the kernel picked: an echo server, and a port closed again at once.
  const echo = await actor(t, ['serve', '0', '--host', '127.0.0.1']);
  const port = (await echo.waitFor(/ready (\d+)/))[1]!;
  const closed = await actor(t, ['serve', '0', '--host', '127.0.0.1']);
  const closedPort = (await closed.waitFor(/ready (\d+)/))[1]!;
  await closed.stop();
  const loop = await actor(t, ['connect-loop', '127.0.0.1', port, String(OPENED)]);
  await loop.waitFor(/done/, 15_000);
  const refused = await actor(t, ['refused', '127.0.0.1', closedPort, String(REFUSED)]);
  await refused.waitFor(new RegExp(`done refused ${REFUSED}`), 15_000);

  const errors: string[] = [];
  const page = await livePage(browser, url, token, errors, 'peers?range=15m&group=remote-port', 900);
  // The groups listed are those with some of the measure: opens first, then failures.
  let shown: Record<string, GroupShown> = {};
  await until('the echo server\'s port on the page', 30_000, async () => {
    shown = await groupsShown(page);
    return shown[port]?.opened === OPENED && shown[port].closed === OPENED ? true : page.reload().then(() => page.waitForTimeout(1000)).then(() => undefined);
  }).catch((e: unknown) => assert.fail(`${String(e)}: shown ${JSON.stringify(shown)}`));
  // Every connect made opened and closed on the echo server's port, and nothing failed there.
  assert.deepEqual(shown[port], { opened: OPENED, closed: OPENED, failed: 0 });
  assert.equal(shown[closedPort], undefined, 'nothing opened on the closed port');
  const heatRows = JSON.parse((await page.locator('[data-testid=peers-heatmap]').getAttribute('data-rows')) ?? '[]') as string[];
  assert.ok(heatRows.includes(port), `heat map row ${port}: ${JSON.stringify(heatRows)}`);
  // The accepted side of those connections is the listener's (group=port): the API's rows for the port hold the connects only.
  const api = await page.evaluate<{ rows: { key: string; opened: number }[] }>(`(async () => (await fetch('/api/v1/rollups?by=remote-port&from=' + (Date.now() - 900000), { headers: { authorization: 'Bearer ' + (localStorage.getItem('tcpdiag.token') ?? '') } })).json())()`);
  assert.equal(api.rows.filter((r) => r.key === port).reduce((n, r) => n + r.opened, 0), OPENED, 'the API\'s rows, as the page sums them');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'en-peers-remote-port.png'), fullPage: true });
  await page.locator('[data-testid=peers-measure] [data-measure=failed]').click();
  await until('the failed connects on the closed port', 10_000, async () => {
    shown = await groupsShown(page);
    return page.url().includes('measure=failed') && shown[closedPort] !== undefined ? true : undefined;
  }).catch((e: unknown) => assert.fail(`${String(e)}: shown ${JSON.stringify(shown)}`));
  console.log(`remote ports: ${port} opened ${OPENED}: ${JSON.stringify(shown[port] ?? null)}; ${closedPort} refused ${REFUSED}: ${JSON.stringify(shown[closedPort])}`);
  // A refused connect is a failure, not an open and a close (the tracker's connect-failed event).
  assert.deepEqual(shown[closedPort], { opened: 0, closed: 0, failed: REFUSED }, 'every refused connect failed on the closed port');
  assert.equal(shown[port], undefined, 'no failure on the echo server\'s port');
  assert.ok((JSON.parse((await page.locator('[data-testid=peers-heatmap]').getAttribute('data-rows')) ?? '[]') as string[]).includes(closedPort), `heat map row ${closedPort}`);
  await page.selectOption('#lang', 'zh-CN');
  await page.waitForTimeout(1500);
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the remote ports in 中文');
  await page.screenshot({ path: join(ARTIFACTS, 'zh-CN-peers-remote-port.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
});
