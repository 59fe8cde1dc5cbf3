/**
 * Shared pieces of the dashboard's end-to-end tests: Debian's Chromium (playwright-core, never
 * a downloaded browser) started inside a test's network namespace, where `tcpdiag serve` runs
 * bound to its loopback; the page's visible UI text; and the check that no English catalogue
 * string stays visible in 中文; the wait for the agent's event collector; and who else used the
 * CPU while a page was measured (on 2 cores a frame budget is shared with the agent and the
 * kernel's workers). Screenshots go to test-artifacts/dashboard/ (gitignored).
 */
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { Netns } from './diagnose-support.js';
import { until } from './serve-support.js';
import { REPO_ROOT } from './helpers/cli.js';
import { EN, ZH_CN } from '../web/src/catalogue.js';
import type { MessageKey } from '../web/src/catalogue.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');

/** Chromium inside `ns` (a wrapper that runs it under `ip netns exec`), closed by t.after. */
export async function chromiumInNetns(t: TestContext, ns: Netns, dir: string): Promise<Browser> {
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.name} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  return browser;
}

/** Visible UI text (not agent data: elements marked translate="no"), placeholders included. */
export function visibleText(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const parts = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
      const el = n.parentElement;
      if (el === null || el.closest('[translate=no]') !== null || el.closest('option') !== null || !el.checkVisibility()) continue;
      parts.push(n.textContent ?? '');
    }
    for (const el of document.querySelectorAll('input[placeholder]')) if (el.checkVisibility()) parts.push(el.placeholder);
    for (const el of document.querySelectorAll('select')) if (el.checkVisibility() && el.selectedOptions[0] && el.selectedOptions[0].closest('[translate=no]') === null) parts.push(el.selectedOptions[0].text);
    return parts.join('\\n');
  })()`);
}

/** English catalogue strings (those that differ in Chinese) still visible: whole words of 3+ letters between parameters. */
export function englishLeft(text: string): string[] {
  const left: string[] = [];
  for (const key of Object.keys(EN) as MessageKey[]) {
    const en = EN[key];
    const zh = ZH_CN[key];
    if (en === zh) continue;
    for (const fragment of en.split(/\{\w+\}/).map((f) => f.trim())) {
      if (!/[A-Za-z]{3}/.test(fragment) || zh.includes(fragment)) continue;
      const re = new RegExp(`(^|[^A-Za-z])${fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z])`);
      if (re.test(text)) left.push(`${key}: ${fragment}`);
    }
  }
  return left;
}

/**
 * Until the agent at `url` says its kernel event collector runs (/api/health): connections
 * closed before it does are in none of its counts.
 */
export function eventCollectorRunning(url: string, token?: string): Promise<true> {
  return until('the event collector running', 20_000, async () => {
    const r = await fetch(`${url}/api/health`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
    return ((await r.json()) as { events: { running: boolean } }).events.running ? true : undefined;
  });
}

/** CPU ticks (utime + stime, in 1/100 s) of every thread on the machine, keyed "pid/thread name". */
export function cpuTicksByThread(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited
    }
    for (const tid of tids) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue;
      }
      // proc(5): the name is in parentheses and may hold spaces; utime and stime are fields 14 and 15.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = `${pid}/${name}`;
      ticks.set(key, (ticks.get(key) ?? 0) + Number(fields[11]) + Number(fields[12]));
    }
  }
  return ticks;
}

/** The `top` threads by ticks used between two cpuTicksByThread() readings, as "pid/name=ticks ...". */
export function busiestThreads(before: Map<string, number>, after: Map<string, number>, top: number): string {
  return [...after]
    .map(([key, ticks]) => [key, ticks - (before.get(key) ?? 0)] as const)
    .filter(([, used]) => used > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, used]) => `${key}=${used}`)
    .join(' ');
}

/** A page of the dashboard at `#/HASH`, with the agent's token given through its prompt, live (1366 px wide). */
export async function livePage(browser: Browser, url: string, token: string, errors: string[], hash = 'overview', height = 768): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?lang=en#/${hash}`);
  await page.locator('dialog.token').waitFor({ state: 'visible', timeout: 10_000 });
  await page.locator('dialog.token input').fill(token);
  await page.locator('dialog.token button').click();
  await page.locator('[data-status=live]').waitFor({ timeout: 10_000 });
  return page;
}
