/**
 * The dashboard's traffic charts end to end in Debian's Chromium (playwright-core): the
 * overview's SYN, SYN-ACK, FIN and RST chart against the namespace's own kernel counters (nstat
 * there) and its RTT percentiles against ss, for real connections the test makes. The agent runs
 * in a private namespace with Chromium beside it (a wrapper under `ip netns exec`), as in
 * dashboard.test.ts; the held connections' handshakes went through `tcpdiag fault delay`, so
 * their RTTs stand apart from the page's own busy loopback connection.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { Netns, actor, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { nstat, until } from './serve-support.js';
import { REPO_ROOT } from './helpers/cli.js';
import { ARTIFACTS, CHROMIUM, chromiumInNetns, englishLeft, eventCollectorRunning, livePage, visibleText } from './dashboard-support.js';
import { EN } from '../web/src/catalogue.js';

const HELD = 20;
const COMPLETED = 7;
const REFUSED = 4;
const HELD_DELAY_MS = 20;

/** The smoothed RTT (ms) of every ESTABLISHED socket in the namespace, as ss -ti prints it (tcpi_rtt). */
function ssRtts(ns: Netns): number[] {
  const r = spawnSync(ns.exec[0]!, [...ns.exec.slice(1), 'ss', '-Htin', 'state', 'established'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  return [...r.stdout.matchAll(/\brtt:([\d.]+)\//g)].map((m) => Number(m[1]));
}

/** Nearest rank, as the agent takes it (analysis/events/rtt.ts). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Sums {
  readonly samples: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly counts: Record<string, number>;
}

/** Σ rate x interval of the page's live samples after `afterMs`: the count each series says happened (the page's own data, as the chart draws it). */
function pageCounts(page: Page, afterMs: number, series: readonly string[]): Promise<Sums> {
  return page.evaluate(`(() => {
    const all = window.__tcpdiag.samples;
    const counts = {};
    for (const n of ${JSON.stringify(series)}) counts[n] = 0;
    let samples = 0;
    for (let i = 1; i < all.length; i++) {
      const s = all[i];
      if (s.atMs <= ${afterMs}) continue;
      samples++;
      const dt = (s.atMs - all[i - 1].atMs) / 1000;
      // Each sample's rate is over the agent's own (monotonic) interval, its atMs the wall clock
      // of the read: rate x wall interval is that second's integer count to within the tick's
      // jitter (~2% under load), so each is rounded, not the sum.
      for (const n of ${JSON.stringify(series)}) if (s.series[n] !== undefined) counts[n] += Math.round(s.series[n] * dt);
    }
    return { samples, fromMs: ${afterMs}, toMs: all.at(-1).atMs, counts };
  })()`);
}

const lastSampleAt = (page: Page): Promise<number> => page.evaluate<number>('window.__tcpdiag.samples.at(-1)?.atMs ?? 0');

/**
 * The newest sample's time once the page has one: the window's counts start after it, and a
 * sample counts only with one before it (its interval), so starting before the first one left
 * that first second out (startAt 0 in 1 run of 3: 12 FINs of 24 missing).
 */
const firstSampleAt = (page: Page): Promise<number> => until('a sample on the page', 10_000, async () => {
  const at = await lastSampleAt(page);
  return at > 0 ? at : undefined;
});

test('the overview charts SYN, SYN-ACK and RST per second as the kernel counts them, and RTT percentiles as ss sees them', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss', 'nstat', 'nft', 'iptables');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const ns = Netns.create(t, 'webt');
  const dir = tempDir(t, 'webt');
  const config = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n[alerts]\nstate_file = ""\n';
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, config), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token'], ns);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
  const errors: string[] = [];
  const browser = await chromiumInNetns(t, ns, dir);
  const page = await livePage(browser, url, token, errors);

  // Held idle connections, made while tcpdiag fault delay held their packets HELD_DELAY_MS
  // (no netem here): an idle socket's srtt stays what its handshake measured, so theirs stand
  // apart from the page's own stream connection, whose loopback RTT moves every second.
  const heldEcho = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const heldPort = Number((await heldEcho.waitFor(/ready (\d+)/))[1]);
  const fault = await tcpdiagProcess(t, ['fault', 'delay', '--port', String(heldPort), '--ms', String(HELD_DELAY_MS), '--json'], ns);
  await fault.waitFor(/"type":"installed"/, 15_000);
  const held = await actor(t, ['hold', '127.0.0.1', String(heldPort), String(HELD)], ns);
  await held.waitFor(/ready/, 15_000);
  await fault.stop();
  const echo = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const echoPort = Number((await echo.waitFor(/ready (\d+)/))[1]);
  const closed = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const closedPort = Number((await closed.waitFor(/ready (\d+)/))[1]);
  await closed.stop();
  await sleep(1500);

  // A window that starts after a sample: what the kernel counts in it, and what the page charts.
  const startAt = await firstSampleAt(page);
  await until('a new sample', 5000, async () => ((await lastSampleAt(page)) > startAt ? true : undefined));
  const from = await lastSampleAt(page);
  const before = nstat(ns);
  const loop = await actor(t, ['connect-loop', '127.0.0.1', String(echoPort), String(COMPLETED)], ns);
  await loop.waitFor(/done/, 15_000);
  const refused = await actor(t, ['refused', '127.0.0.1', String(closedPort), String(REFUSED)], ns);
  await refused.waitFor(/done/, 15_000);
  await sleep(2500);
  const after = nstat(ns);
  const afterAt = Date.now();
  await until('two samples past the traffic', 10_000, async () => ((await lastSampleAt(page)) > afterAt + 1500 ? true : undefined));
  const series = ['active_opens_per_s', 'passive_opens_per_s', 'syn_retransmits_per_s', 'resets_sent_per_s'] as const;
  const kernel: Record<(typeof series)[number], string> = { active_opens_per_s: 'TcpActiveOpens', passive_opens_per_s: 'TcpPassiveOpens', syn_retransmits_per_s: 'TcpExtTCPSynRetrans', resets_sent_per_s: 'TcpOutRsts' };
  const sums = await pageCounts(page, from, series);
  const delta = (n: string) => (after.get(n) ?? 0) - (before.get(n) ?? 0);
  console.log(`control packets over ${sums.samples} samples: page ${JSON.stringify(sums.counts)}; nstat ${JSON.stringify(Object.fromEntries(series.map((s) => [kernel[s], delta(kernel[s])])))}`);
  assert.ok(delta('TcpActiveOpens') >= COMPLETED + REFUSED, 'the connects were counted by the kernel');
  assert.ok(delta('TcpOutRsts') >= REFUSED, 'each refused connect was answered by an RST');
  // The page's samples came from counters read before and after the window: the same integers.
  for (const s of series) assert.equal(sums.counts[s], delta(kernel[s]), `${s} (${kernel[s]}): page ${sums.counts[s]}, nstat ${delta(kernel[s])}`);
  // And the chart shows the series (its legend in the page's language, its last values).
  const control = page.locator('[data-testid=control-chart]');
  for (const key of ['overview.control', 'overview.synSent', 'overview.rstSent'] as const) assert.ok((await control.innerText()).includes(EN[key]), key);
  assert.notEqual(await control.getAttribute('data-resets-sent-per-s'), null);

  // RTT percentiles: the page's latest = ss's over the same sockets, at a moment ss held still across a table read.
  let matched = false;
  for (let attempt = 0; attempt < 10 && !matched; attempt++) {
    const rttBefore = ssRtts(ns);
    const since = Date.now();
    await until('a sample after ss', 5000, async () => (Number(await page.locator('[data-testid=rtt-chart]').getAttribute('data-at-ms')) > since + 1100 ? true : undefined));
    const shown = await page.locator('[data-testid=rtt-chart]').evaluate((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset }));
    const rttAfter = ssRtts(ns);
    const want = [50, 90, 99].map((p) => percentile(rttBefore, p));
    if (JSON.stringify(want) !== JSON.stringify([50, 90, 99].map((p) => percentile(rttAfter, p)))) continue;
    assert.ok(rttBefore.length >= 2 * HELD, `${rttBefore.length} established sockets`);
    assert.deepEqual([Number(shown.rttP50Ms), Number(shown.rttP90Ms), Number(shown.rttP99Ms)], want, `p50/p90/p99 of ${rttBefore.length} sockets`);
    assert.ok(want[0]! >= HELD_DELAY_MS, `the held connections' RTT is past the delay their handshake had (${want[0]} ms)`);
    matched = true;
    console.log(`RTT percentiles = ss over ${rttBefore.length} sockets: p50 ${want[0]} ms, p90 ${want[1]} ms, p99 ${want[2]} ms`);
  }
  assert.ok(matched, 'ss RTT percentiles held still across one sample in ten tries');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'en-overview-traffic.png'), fullPage: true });
  await page.selectOption('#lang', 'zh-CN');
  await page.waitForTimeout(1500);
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the overview with traffic in 中文');
  await page.screenshot({ path: join(ARTIFACTS, 'zh-CN-overview-traffic.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
});

/** The namespace addresses of the peers test and their countries in the pinned ip-location-db file (geo-whois-asn-country, CC0). */
const SERVERS = { '193.0.6.139': 3, '193.0.6.140': 2, '210.130.0.1': 4, '203.119.0.1': 1, '2001:67c:2e8::1': 2 } as const;
const CLIENT_V4 = '198.51.100.7';
const CLIENT_V6 = '2001:db8:7::7';
const GEOIP_FILE = join(REPO_ROOT, 'node_modules', '@ip-location-db', 'geo-whois-asn-country-mmdb', 'geo-whois-asn-country.mmdb');
/** Opened connections per group, each connection counted on both ends (the connect in the client namespace, the accept in the server's). */
const BY_PREFIX = { '193.0.6.0/24': [5, 2], '210.130.0.0/24': [4, 1], '203.119.0.0/24': [1, 1], '2001:67c:2e8::/48': [2, 1], '198.51.100.0/24': [10, 1], '2001:db8:7::/48': [2, 1] } as const;
const BY_COUNTRY = { NL: [7, 3], JP: [6, 2], SG: [1, 1], AU: [10, 1] } as const;

/** Two namespaces joined by a veth, the client's and the servers' public-looking addresses on its ends (no route leaves them). */
function peerNamespaces(t: TestContext): { client: Netns; servers: Netns } {
  const client = Netns.create(t, 'peerc');
  const servers = Netns.create(t, 'peers');
  for (const ns of [client, servers]) for (const k of ['all', 'default']) ns.sysctl(`net.ipv6.conf.${k}.accept_dad`, '0');
  const [c, s] = [`tpc${process.pid % 10000}`, `tps${process.pid % 10000}`];
  client.ip('link', 'add', c, 'type', 'veth', 'peer', 'name', s, 'netns', servers.name);
  client.ip('addr', 'add', `${CLIENT_V4}/32`, 'dev', c);
  client.ip('addr', 'add', `${CLIENT_V6}/128`, 'dev', c, 'nodad');
  for (const a of Object.keys(SERVERS)) servers.ip('addr', 'add', a.includes(':') ? `${a}/128` : `${a}/32`, 'dev', s, ...(a.includes(':') ? ['nodad'] : []));
  client.ip('link', 'set', c, 'up');
  servers.ip('link', 'set', s, 'up');
  for (const a of Object.keys(SERVERS)) client.ip(...(a.includes(':') ? ['-6'] : []), 'route', 'add', a, 'dev', c);
  servers.ip('route', 'add', CLIENT_V4, 'dev', s);
  servers.ip('-6', 'route', 'add', CLIENT_V6, 'dev', s);
  return { client, servers };
}

async function groupsShown(page: Page): Promise<Record<string, [number, number]>> {
  return page.evaluate(`(() => {
    const out = {};
    for (const tr of document.querySelectorAll('[data-testid=peer-groups] tr[data-group]')) out[tr.dataset.group] = [Number(tr.querySelector('[data-opened]').dataset.opened), Number(tr.dataset.peers)];
    return out;
  })()`);
}

test('the peers page groups real peers by /24 and /48 prefix and, with agent.geoip_file, by country, from the agent\'s rollups', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  // The per-peer rollups come from the kernel event collector, which runs only in the host
  // namespace (tracepoints carry no namespace): this agent and its browser are on the host's
  // loopback, and the peers are two namespaces of the test's own talking to each other.
  const { client, servers } = peerNamespaces(t);
  const dir = tempDir(t, 'peers');
  const config = `[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\ngeoip_file = ${JSON.stringify(GEOIP_FILE)}\n[events]\ntop_peers = 10000\n[alerts]\nstate_file = ""\n`;
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, config), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token']);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]}`;
  const errors: string[] = [];
  // In the host namespace the browser must reach nothing but loopback: every other request goes
  // to a closed loopback port as its proxy (Chromium never proxies loopback), and no name resolves.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--proxy-server=http://127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  t.after(() => browser.close());
  const page = await livePage(browser, url, token, errors);
  await page.locator('[data-testid=rtt-chart]').waitFor();
  await eventCollectorRunning(url, token);

  const echo = await actor(t, ['serve', '0', '--host', '::'], servers);
  const port = Number((await echo.waitFor(/ready (\d+)/))[1]);
  const startAt = await firstSampleAt(page);
  for (const [address, n] of Object.entries(SERVERS)) {
    const loop = await actor(t, ['connect-loop', address, String(port), String(n)], client);
    await loop.waitFor(/done/, 15_000);
  }
  const made = Object.values(SERVERS).reduce((a, b) => a + b, 0);

  // The host agent traces: the FINs of these graceful closes are in its overview series
  // (at least: the host's other connections count too). The client closes first: its FIN,
  // then the server's from CLOSE_WAIT; the server took one before closing.
  // The events reach the series within the collector's poll (up to 500 ms when idle) and the
  // next 1 s sample: wait for them rather than guess the delay.
  let sums = await pageCounts(page, startAt, ['fins_sent_per_s', 'fins_received_per_s']);
  await until('the FINs of the graceful closes in the overview series', 10_000, async () => {
    sums = await pageCounts(page, startAt, ['fins_sent_per_s', 'fins_received_per_s']);
    return sums.counts.fins_sent_per_s! >= 2 * made && sums.counts.fins_received_per_s! >= made ? true : sleep(500).then(() => undefined);
  }).catch(() => undefined);
  console.log(`FINs over ${sums.samples} samples (host-wide): ${JSON.stringify(sums.counts)} for ${made} graceful closes`);
  assert.ok(sums.counts.fins_sent_per_s! >= 2 * made, `FINs sent ${sums.counts.fins_sent_per_s} >= ${2 * made}`);
  assert.ok(sums.counts.fins_received_per_s! >= made, `FINs received ${sums.counts.fins_received_per_s} >= ${made}`);

  // By prefix (the default), every group as the connections made say.
  await page.goto(`${url}/?lang=en#/peers?range=15m`);
  let shown: Record<string, [number, number]> = {};
  await until('the peers page shows every prefix', 30_000, async () => {
    shown = await groupsShown(page);
    return Object.entries(BY_PREFIX).every(([g, [n]]) => shown[g]?.[0] === n) ? true : page.reload().then(() => page.waitForTimeout(1000)).then(() => undefined);
  }).catch((e: unknown) => assert.fail(`${String(e)}: shown ${JSON.stringify(shown)}`));
  for (const [g, [opened, addresses]] of Object.entries(BY_PREFIX)) assert.deepEqual(shown[g], [opened, addresses], g);
  const heatRows = JSON.parse((await page.locator('[data-testid=peers-heatmap]').getAttribute('data-rows')) ?? '[]') as string[];
  for (const g of Object.keys(BY_PREFIX)) assert.ok(heatRows.includes(g), `heat map row ${g}`);
  console.log(`peers by prefix: ${JSON.stringify(Object.fromEntries(Object.keys(BY_PREFIX).map((g) => [g, shown[g]])))}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'en-peers-prefix.png'), fullPage: true });

  // By country: switched in the page, kept in the URL; the agent looked the addresses up.
  await page.locator('[data-testid=peers-group] [data-group=country]').click();
  await until('the country grouping', 10_000, async () => (page.url().includes('group=country') && (await groupsShown(page)).AU !== undefined ? true : undefined));
  shown = await groupsShown(page);
  for (const [g, [opened, addresses]] of Object.entries(BY_COUNTRY)) assert.deepEqual(shown[g], [opened, addresses], `country ${g}: ${JSON.stringify(shown)}`);
  console.log(`peers by country: ${JSON.stringify(Object.fromEntries(Object.keys(BY_COUNTRY).map((g) => [g, shown[g]])))}`);
  await page.screenshot({ path: join(ARTIFACTS, 'en-peers-country.png'), fullPage: true });

  // By listening port: the accepts of the per-listener rollups, every connection made on the echo server's one port.
  await page.locator('[data-testid=peers-group] [data-group=port]').click();
  await until('the port grouping', 10_000, async () => (page.url().includes('group=port') && (await groupsShown(page))[String(port)] !== undefined ? true : undefined));
  shown = await groupsShown(page);
  console.log(`peers by listening port: ${JSON.stringify(shown)}`);
  assert.equal(shown[String(port)]?.[0], made, `port ${port}: every connection made opened on its listener: ${JSON.stringify(shown)}`);
  const portRows = JSON.parse((await page.locator('[data-testid=peers-heatmap]').getAttribute('data-rows')) ?? '[]') as string[];
  assert.ok(portRows.includes(String(port)), `heat map row ${port}`);
  // One endpoint per server address: an accept is keyed by the address it reached, [::]'s port on each.
  assert.equal(shown[String(port)]?.[1], Object.keys(SERVERS).length, 'the local endpoints of the port');
  await page.screenshot({ path: join(ARTIFACTS, 'en-peers-port.png'), fullPage: true });
  await page.locator('[data-testid=peers-group] [data-group=country]').click();
  await until('the country grouping again', 10_000, async () => ((await groupsShown(page)).AU !== undefined ? true : undefined));
  await page.selectOption('#lang', 'zh-CN');
  await page.waitForTimeout(1500);
  assert.ok((await page.locator('main').innerText()).includes('荷兰'), 'the country names in Chinese');
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the peers page with peers in 中文');
  await page.screenshot({ path: join(ARTIFACTS, 'zh-CN-peers-country.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no page errors');
});
