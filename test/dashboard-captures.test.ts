/**
 * The dashboard's Captures page end to end in Debian's Chromium, with `tcpdiag serve` (a token,
 * agent.actions = ["capture"]) and the browser inside a private network namespace: the trace
 * action that stays off shows the line that enables it and the agent's refusal with its hint; a
 * capture started from the page on an echo server's port records real loopback connections
 * whose client packets an nft INPUT rule in the namespace drops one in ten (so the kernel
 * retransmits and the capture carries Wireshark verdicts), stops at its duration, appears
 * stopped and analysed without a reload (the stream's recording messages), downloads through
 * the page, and its analysis in the page shows what `tcpdiag analyze --json` prints for the
 * downloaded file; fixture pcaps uploaded through the page show the same verdicts as
 * `tcpdiag analyze --json` of the same files; in 中文 no English catalogue string stays visible.
 * Screenshots in both languages go to test-artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { Page } from 'playwright-core';
import { Netns, actor, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { ARTIFACTS, CHROMIUM, chromiumInNetns, englishLeft, visibleText } from './dashboard-support.js';
import type { AnalysisReport, ConnectionReport } from '../src/model/capture-report.js';

const CONFIG = `[agent]
counters_interval_s = 1
sample_interval_s = 5
diagnose_interval_s = 0
actions = ["capture"]
[escalation]
enabled = false
`;
const CONNECTIONS = 30;
const CAPTURE_S = 12;
/** Fixtures whose connections carry verdicts: ICMP errors quoting segments, and retransmissions, dup ACKs, zero windows, out-of-order. */
const UPLOADS = ['icmp-errors-us-le.pcap', 'edge-cases-ns.pcap'];
const VERDICTS = ['retransmissions', 'fastRetransmissions', 'spuriousRetransmissions', 'duplicateAcks', 'zeroWindows', 'outOfOrder', 'lostSegments', 'keepAlives'] as const;

interface Shown {
  connections: string;
  rows: { id: number; state: string; history: string; verdicts: Record<string, string> }[];
  summary: Record<string, string>;
  states: Record<string, string>;
  findings: string[];
}

/** What the analysis in the page shows, as text (numbers as the page formats them). */
function shownAnalysis(page: Page): Promise<Shown> {
  return page.evaluate(`(() => {
    const box = document.querySelector('[data-testid=analysis]');
    const text = (el) => (el === null ? null : el.textContent);
    return {
      connections: text(box.querySelector('[data-testid=analysis-connections] .n')),
      rows: [...box.querySelectorAll('[data-testid=analysis-conns] tbody tr')].map((tr) => ({
        id: Number(tr.dataset.conn),
        state: text(tr.querySelector('[data-state]')),
        history: text(tr.querySelector('[data-history]')),
        verdicts: Object.fromEntries([...tr.querySelectorAll('[data-verdict]')].map((v) => [v.dataset.verdict, v.textContent])),
      })),
      summary: Object.fromEntries([...box.querySelectorAll('[data-testid=analysis-verdicts] [data-key]')].map((el) => [el.dataset.key, text(el.querySelector('.n'))])),
      states: Object.fromEntries([...box.querySelectorAll('[data-testid=analysis-states] [data-state]')].map((el) => [el.dataset.state, text(el.querySelector('.n'))])),
      findings: [...box.querySelectorAll('[data-finding]')].map((el) => el.dataset.finding),
    };
  })()`);
}

/** A number as the page prints it (grouping separators of either language), or of a `label N` verdict. */
function shownNumber(text: string | undefined): number {
  const m = /(\d[\d,.\s]*)$/.exec((text ?? '').trim());
  assert.ok(m !== null, `a number in ${JSON.stringify(text)}`);
  return Number(m[1]!.replace(/[,\s]/g, ''));
}

function connVerdicts(c: ConnectionReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of VERDICTS) if (c[v] > 0) out[v] = c[v];
  const icmp = c.icmpErrors.reduce((n, e) => n + e.count, 0);
  if (icmp > 0) out.icmpErrors = icmp;
  return out;
}

/** The page's analysis = the CLI's report: connection count, conn_state counts, every row's conn_state, history and verdicts, the summary's verdicts and the findings. */
function assertSame(shown: Shown, report: AnalysisReport, what: string): void {
  assert.equal(shownNumber(shown.connections), report.summary.connections, `${what}: connections`);
  assert.deepEqual(Object.fromEntries(Object.entries(shown.states).map(([k, v]) => [k, shownNumber(v)])), report.connStates, `${what}: conn_state counts`);
  assert.equal(shown.rows.length, report.connections.length, `${what}: rows`);
  for (const c of report.connections) {
    const row = shown.rows.find((r) => r.id === c.id);
    assert.ok(row !== undefined, `${what}: connection ${c.id} shown`);
    assert.equal(row.state, c.state, `${what}: connection ${c.id} conn_state`);
    assert.equal(row.history, c.history, `${what}: connection ${c.id} history`);
    assert.deepEqual(Object.fromEntries(Object.entries(row.verdicts).map(([k, v]) => [k, shownNumber(v)])), connVerdicts(c), `${what}: connection ${c.id} verdicts`);
  }
  for (const v of [...VERDICTS, 'icmpErrors'] as const) assert.equal(shownNumber(shown.summary[v]), report.summary[v], `${what}: ${v} in the summary`);
  assert.deepEqual([...shown.findings].sort(), report.findings.map((f) => f.id).sort(), `${what}: findings`);
}

async function analyzeJson(config: string, file: string): Promise<AnalysisReport> {
  const r = await runCli(['--config', config, 'analyze', '--json', file]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as AnalysisReport;
}

async function waitForAnalysis(page: Page, source: string): Promise<void> {
  await page.locator(`[data-testid=analysis][data-source="${source}"] [data-testid=analysis-connections]`).waitFor({ timeout: 15_000 });
}

test('the Captures page starts a capture, shows it stopped and analysed as tcpdiag analyze does, downloads it, analyses uploads the same way and says how to enable an action that is off', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'tcpdump');
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const ns = Netns.create(t, 'webcap');
  const dir = tempDir(t, 'webcap');
  const config = writeConfig(dir, CONFIG);
  const serve = await tcpdiagProcess(t, ['--config', config, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--new-token'], ns);
  const token = (await serve.waitFor(/token \(shown once[^)]*\): (\S+)/))[1]!;
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]}`;
  const browser = await chromiumInNetns(t, ns, dir);
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  mkdirSync(ARTIFACTS, { recursive: true });

  await page.goto(`${url}/?lang=en#/captures`);
  await page.locator('dialog.token input').fill(token);
  await page.locator('dialog.token button').click();
  await page.locator('[data-status=live]').waitFor({ timeout: 10_000 });

  // Traces stay off: the page names the line that enables them, and the agent's refusal shows its hint.
  const enableTrace = '[agent] actions = ["capture", "trace"]';
  await page.locator('[data-testid=action-off-trace]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('[data-testid=action-off-trace] code').innerText(), enableTrace);
  assert.equal(await page.locator('[data-testid=action-off-capture]').count(), 0, 'captures are on');
  await page.locator('[data-testid=start-trace]').click();
  const refused = page.locator('[data-testid=start-refused]');
  await refused.waitFor({ timeout: 10_000 });
  assert.equal(await refused.getAttribute('data-code'), 'TCPDIAG_ACTION_DISABLED');
  assert.ok((await refused.locator('code').innerText()).includes(enableTrace), await refused.innerText());

  // An echo server, and one in ten of its clients' packets after the SYN dropped on INPUT (nft's
  // numgen inc counts the packets the rule reaches; SYNs are spared because a lost SYN waits the
  // 1 s initial RTO, RFC 6298, while a lost segment later waits about 200 ms, TCP_RTO_MIN): the
  // kernel retransmits them, and the capture holds both copies (tcpdump sees a loopback packet
  // as it is transmitted, before INPUT).
  const echo = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const port = Number((await echo.waitFor(/ready (\d+)/))[1]);
  ns.nft(`table inet tcpdiag_webcap {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport ${port} tcp flags & syn == 0 numgen inc mod 10 == 0 counter drop\n  }\n}\n`);

  // Start the capture from the page, narrowed to the port, for CAPTURE_S seconds.
  await page.locator('[data-field=port]').fill(String(port));
  await page.locator('[data-field=duration_s]').fill(String(CAPTURE_S));
  await page.locator('[data-testid=start-capture]').click();
  const ok = page.locator('[data-testid=start-ok]');
  await ok.waitFor({ timeout: 10_000 });
  const id = Number(await ok.getAttribute('data-id'));
  const row = page.locator(`[data-testid=recordings] tr[data-recording="${id}"]`);
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await row.getAttribute('data-status'), 'running');
  assert.match(await row.locator('[data-testid=reason]').innerText(), /requested through the API/);

  const loop = await actor(t, ['connect-loop', '127.0.0.1', String(port), String(CONNECTIONS)], ns);
  await loop.waitFor(/done/, 60_000);
  // Stopped at its duration and analysed: the page learns both without a reload.
  await page.locator(`[data-testid=recordings] tr[data-recording="${id}"][data-status=stopped][data-analyzed=true]`).waitFor({ timeout: (CAPTURE_S + 30) * 1000 });
  assert.match(await row.locator('[data-testid=status]').innerText(), /stopped \(duration\)/);

  const [download] = await Promise.all([page.waitForEvent('download'), row.locator('[data-testid=download]').click()]);
  const pcap = join(dir, 'downloaded.pcap');
  await download.saveAs(pcap);
  assert.equal(download.suggestedFilename(), `tcpdiag-capture-${id}.pcap`);
  const report = await analyzeJson(config, pcap);
  assert.ok(report.summary.connections >= CONNECTIONS, `${report.summary.connections} connections captured`);
  assert.ok(report.connections.every((c) => c.server.port === port), 'narrowed to the port');
  assert.ok(report.summary.retransmissions > 0, `the dropped packets were retransmitted: ${JSON.stringify(report.summary)}`);

  await row.locator('[data-testid=open]').click();
  await waitForAnalysis(page, `recording:${id}`);
  assertSame(await shownAnalysis(page), report, `recording ${id}`);
  console.log(`capture ${id}: ${report.summary.connections} connections, ${report.summary.retransmissions} retransmissions, conn_state ${JSON.stringify(report.connStates)}: the page shows the same as tcpdiag analyze --json of the download`);
  await page.screenshot({ path: join(ARTIFACTS, 'en-captures-recording.png'), fullPage: true });

  // 中文: the page re-mounts and reopens the analysis from the URL; the same numbers, no English left.
  await page.selectOption('#lang', 'zh-CN');
  await waitForAnalysis(page, `recording:${id}`);
  assertSame(await shownAnalysis(page), report, `recording ${id} in 中文`);
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the Captures page with an analysis, in 中文');
  await page.screenshot({ path: join(ARTIFACTS, 'zh-CN-captures-recording.png'), fullPage: true });

  for (const name of UPLOADS) {
    const file = join(REPO_ROOT, 'test', 'fixtures', 'pcap', name);
    const expected = await analyzeJson(config, file);
    const verdicts = expected.connections.reduce((n, c) => n + Object.keys(connVerdicts(c)).length, 0);
    assert.ok(verdicts > 0, `${name} has connections with verdicts`);
    await page.locator('[data-testid=upload-file]').setInputFiles(file);
    await page.locator('[data-testid=upload]').click();
    await waitForAnalysis(page, `upload:${name}`);
    assertSame(await shownAnalysis(page), expected, `upload ${name}`);
    assert.deepEqual(englishLeft(await visibleText(page)), [], `the analysis of ${name}, in 中文`);
    await page.screenshot({ path: join(ARTIFACTS, `zh-CN-captures-upload-${name}.png`), fullPage: true });
  }
  // Back in English, the last upload is still shown (kept across the re-mount).
  const last = UPLOADS.at(-1)!;
  await page.selectOption('#lang', 'en');
  await waitForAnalysis(page, `upload:${last}`);
  assertSame(await shownAnalysis(page), await analyzeJson(config, join(REPO_ROOT, 'test', 'fixtures', 'pcap', last)), `upload ${last} in English`);
  await page.screenshot({ path: join(ARTIFACTS, `en-captures-upload-${last}.png`), fullPage: true });
  assert.deepEqual(errors, [], 'no page errors');
});
