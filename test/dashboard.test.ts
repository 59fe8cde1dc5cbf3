/**
 * The dashboard end to end in Debian's Chromium (playwright-core, never a downloaded browser):
 * `tcpdiag serve` with a token inside a private network namespace, and Chromium started in the
 * same namespace (a wrapper that runs /usr/bin/chromium under `ip netns exec`), so the page's
 * counts can be compared exactly with ss run there. Real loopback traffic: held connections, a
 * CLOSE_WAIT leak that fires an alert, and 60,000 TIME_WAIT sockets for the table. Screenshots
 * of every page in both languages go to test-artifacts/dashboard/ (gitignored).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { Page } from 'playwright-core';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { ssCount, until } from './serve-support.js';
import { EN, ZH_CN } from '../web/src/catalogue.js';
import type { MessageKey } from '../web/src/catalogue.js';
import { ARTIFACTS, CHROMIUM, busiestThreads, chromiumInNetns, cpuTicksByThread, englishLeft, visibleText } from './dashboard-support.js';

const PAGES = ['overview', 'connections', 'listeners', 'peers', 'events', 'alerts', 'captures', 'map'] as const;
const HELD = 12;
const LEAK = 5;
const TIME_WAIT_TARGET = 60_000;
const CONFIG = `[agent]
counters_interval_s = 1
sample_interval_s = 5
diagnose_interval_s = 0
# No escalation: the close-wait-leak alert would start a 60 s capture that records the 60,000
# connections below (50 MB, capture_max_mb) and analyses it, and on 2 cores that capture, its
# writeback and its analysis took 1.2-2.5 s of CPU during the 4 s of scrolling (with it: 115 ticks
# for the agent and 136 for the flush kworker; without: 11-14 and none). Escalation has its own tests.
[escalation]
enabled = false
[alerts]
state_file = ""
[alerts.rules.close-wait-leak]
metric = "close_wait"
threshold = ${LEAK - 1}
for_s = 1
keep_firing_for_s = 1
severity = "P2"
summary = "sockets left in CLOSE_WAIT"
`;

/** The states the overview shows, as ss names them. */
const SS_STATES: Readonly<Record<string, string>> = {
  ESTABLISHED: 'established', SYN_SENT: 'syn-sent', SYN_RECV: 'syn-recv', FIN_WAIT1: 'fin-wait-1', FIN_WAIT2: 'fin-wait-2',
  TIME_WAIT: 'time-wait', CLOSE_WAIT: 'close-wait', LAST_ACK: 'last-ack', LISTEN: 'listening', CLOSING: 'closing',
};

/** TIME_WAIT sockets as ss counts them; 60,000 lines are more than spawnSync buffers by default. */
function timeWaitCount(ns: Netns): number {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'ss', '-Htan', 'state', 'time-wait'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ss failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

function ssAll(ns: Netns): Record<string, number> {
  return Object.fromEntries(Object.entries(SS_STATES).map(([state, name]) => [state, ssCount(ns, name)]));
}

function pageCounts(page: Page): Promise<{ atMs: number; counts: Record<string, number> }> {
  // Browser code as text: this file is compiled without the DOM library.
  return page.evaluate(`(() => {
    const box = document.querySelector('[data-testid=state-counts]');
    const counts = {};
    for (const el of box.querySelectorAll('[data-state]')) counts[el.dataset.state] = Number(el.dataset.value);
    return { atMs: Number(box.dataset.atMs), counts };
  })()`);
}

test('the dashboard shows the kernel\'s counts, fires the alert, streams within 1 s, speaks 中文 and scrolls 60,000 rows', { timeout: 300_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const ns = Netns.create(t, 'web');
  // Room for the 60,000 TIME_WAIT sockets: the per-namespace bucket limit depends on the hash
  // size, and tcp_tw_reuse=2 (the default) lets loopback connects recycle TIME_WAIT sockets, which
  // held the count near the ephemeral range (33,938 measured with the defaults).
  ns.sysctl('net.ipv4.tcp_max_tw_buckets', '200000');
  ns.sysctl('net.ipv4.tcp_tw_reuse', '0');
  ns.sysctl('net.ipv4.ip_local_port_range', '10000 65000');
  const dir = tempDir(t, 'web');
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, CONFIG), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token'], ns);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;

  const browser = await chromiumInNetns(t, ns, dir);
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  mkdirSync(ARTIFACTS, { recursive: true });

  // Without the token the page asks for it (the agent answers 401), then goes live.
  await page.goto(`${url}/?lang=en#/overview`);
  await page.locator('dialog.token').waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await page.locator('dialog.token').innerText(), new RegExp(EN['token.title']));
  await page.locator('dialog.token input').fill(token);
  await page.locator('dialog.token button').click();
  await page.locator('[data-status=live]').waitFor({ timeout: 10_000 });

  // Traffic: HELD established pairs on an echo server, and a server that never closes after its clients' FIN (the leak).
  const echo = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const echoPort = Number((await echo.waitFor(/ready (\d+)/))[1]);
  const held = await actor(t, ['hold', '127.0.0.1', String(echoPort), String(HELD)], ns);
  await held.waitFor(/ready/);
  const leaky = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const leakPort = Number((await leaky.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const clients = await actor(t, ['hold', '127.0.0.1', String(leakPort), String(LEAK), '--end'], ns);
  await clients.waitFor(/ready/);
  await until('ss sees the leak', 5000, () => Promise.resolve(ssCount(ns, 'close-wait') === LEAK ? true : undefined));

  // Overview counts = ss, at a moment when ss did not change across the page's sample.
  let matched = false;
  for (let attempt = 0; attempt < 10 && !matched; attempt++) {
    const before = ssAll(ns);
    const since = Date.now();
    await until('a sample after ss', 5000, async () => ((await pageCounts(page)).atMs > since + 100 ? true : undefined));
    const shown = await pageCounts(page);
    const after = ssAll(ns);
    if (JSON.stringify(before) !== JSON.stringify(after)) continue;
    for (const state of Object.keys(SS_STATES)) assert.equal(shown.counts[state], before[state], `${state}: ss counts ${before[state]}, the page ${shown.counts[state]}`);
    matched = true;
    console.log(`overview = ss: ${JSON.stringify(before)}`);
  }
  assert.ok(matched, 'ss held still across one sample in ten tries');

  // The alert fires and appears on the overview.
  await page.locator(`[data-testid=active-alerts] [data-rule=close-wait-leak]`).waitFor({ timeout: 15_000 });

  // Samples reach the page within 1 s of the bus's timestamp.
  await sleep(5000);
  const latencies = await page.evaluate<number[]>("window.__tcpdiag.received.filter((r) => r.kind === 'sample').map((r) => r.receivedMs - r.atMs)");
  assert.ok(latencies.length >= 5, `${latencies.length} samples received`);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`stream latency (bus timestamp -> page receive) over ${sorted.length} samples: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`);
  assert.ok(sorted.at(-1)! < 1000, `every sample within 1 s (max ${sorted.at(-1)!.toFixed(1)} ms)`);

  // Connections on the leak's port, filtered by the agent as the URL says, = ss.
  await page.goto(`${url}/?lang=en#/connections?port=${leakPort}`);
  await until('the socket table', 15_000, async () => ((await page.locator('[data-testid=conns-status]').getAttribute('data-total')) ?? '') !== '' ? true : undefined);
  const ssPort = ssCount(ns, 'all', ['(', 'sport', '=', `:${leakPort}`, 'or', 'dport', '=', `:${leakPort}`, ')']);
  await until(`the page shows ${ssPort} connections on port ${leakPort}`, 15_000, async () => (Number(await page.locator('[data-testid=conns-status]').getAttribute('data-total')) === ssPort ? true : undefined));
  assert.equal(ssPort, 2 * LEAK + 1, 'the leak: LEAK pairs and the listener');

  // Every page in English, then switch to 中文 with the selector: no English catalogue string stays visible.
  for (const p of PAGES) {
    await page.goto(`${url}/?lang=en#/${p}`);
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(ARTIFACTS, `en-${p}.png`), fullPage: true });
  }
  await page.goto(`${url}/#/overview`);
  await page.selectOption('#lang', 'zh-CN');
  for (const p of PAGES) {
    await page.locator(`nav [data-page=${p}]`).click();
    await page.waitForTimeout(1500);
    const text = await visibleText(page);
    assert.deepEqual(englishLeft(text), [], `${p} in 中文`);
    assert.ok(text.includes(ZH_CN[`nav.${p === 'alerts' ? 'alerts' : p}` as MessageKey]));
    await page.screenshot({ path: join(ARTIFACTS, `zh-CN-${p}.png`), fullPage: true });
  }
  // Remembered: a plain / opens in Chinese again.
  await page.goto(`${url}/#/overview`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');

  // 60,000 TIME_WAIT sockets (three echo ports, 20,000 short connections each, the client closing first).
  const ports = [echoPort];
  for (let i = 0; i < 2; i++) {
    const s = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
    ports.push(Number((await s.waitFor(/ready (\d+)/))[1]));
  }
  const loops = await Promise.all(ports.map((p) => actor(t, ['connect-loop', '127.0.0.1', String(p), String(TIME_WAIT_TARGET / 3)], ns)));
  await Promise.all(loops.map((l) => l.waitFor(/done/, 60_000)));
  const tw = timeWaitCount(ns);
  assert.ok(tw >= TIME_WAIT_TARGET, `${tw} TIME_WAIT sockets`);
  await page.goto(`${url}/?lang=en#/connections?state=TIME_WAIT`);
  await until('the 60,000-row table', 30_000, async () => (Number(await page.locator('[data-testid=conns-status]').getAttribute('data-shown')) >= TIME_WAIT_TARGET ? true : undefined));
  const cpuBefore = cpuTicksByThread();
  const frames = await page.evaluate<{ times: number[]; rows: number; scriptMax: number; scriptMean: number }>(`(async () => {
    const vp = document.querySelector('[data-testid=vt-viewport]');
    window.__tcpdiagProfile = true;
    const times = [];
    await new Promise((resolve) => {
      let last = performance.now();
      const start = last;
      const step = (now) => {
        times.push(now - last);
        last = now;
        // 100 rows a frame, and a jump to the middle on frame 120.
        vp.scrollTop = times.length === 120 ? vp.scrollHeight / 2 : vp.scrollTop + 2400;
        if (now - start < 4000 && vp.scrollTop + vp.clientHeight < vp.scrollHeight) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame(step);
    });
    window.__tcpdiagProfile = false;
    const scripts = performance.getEntriesByName('vt-render').map((e) => e.duration);
    performance.clearMeasures('vt-render');
    return { times: times.slice(1), rows: document.querySelectorAll('.vt-row').length, scriptMax: Math.max(...scripts), scriptMean: scripts.reduce((a, b) => a + b, 0) / scripts.length };
  })()`);
  const busiest = busiestThreads(cpuBefore, cpuTicksByThread(), 8);
  const worst = Math.max(...frames.times);
  const p99 = [...frames.times].sort((a, b) => a - b)[Math.floor(frames.times.length * 0.99)]!;
  console.log(`60,000-row table (${tw} TIME_WAIT sockets): ${frames.times.length} frames while scrolling, p99 ${p99.toFixed(1)} ms, worst ${worst.toFixed(1)} ms, ${frames.rows} DOM rows; the table's own script per frame: mean ${frames.scriptMean.toFixed(2)} ms, max ${frames.scriptMax.toFixed(2)} ms; frames over 34 ms: ${frames.times.flatMap((f, i) => (f > 34 ? [`#${i} ${f.toFixed(1)} ms`] : [])).join(', ') || 'none'}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; CPU ticks (1/100 s) while scrolling, by pid/thread: ${busiest}`);
  assert.ok(frames.times.length >= 30, 'it scrolled');
  assert.ok(worst < 50, `every frame under 50 ms (worst ${worst.toFixed(1)} ms)`);
  await page.screenshot({ path: join(ARTIFACTS, 'en-connections-60k.png') });
  assert.deepEqual(errors, [], 'no page errors');
});
