/**
 * Shared pieces of the dashboard's end-to-end tests: Debian's Chromium (playwright-core, never
 * a downloaded browser) started inside a test's network namespace, where `tcpdiag serve` runs
 * bound to its loopback; the page's visible UI text; and the check that no English catalogue
 * string stays visible in 中文. Screenshots go to test-artifacts/dashboard/ (gitignored).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { Netns } from './diagnose-support.js';
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
