/**
 * The Peers page's source fingerprints: one observation window of the agent's guard
 * (POST /api/v1/guard/observe, the report of `tcpdiag guard --json`), the sources that reached
 * this host's listeners with their verdicts (attacking first), reasons and numbers, and the
 * flood verdict when there is one. The agent runs one observation at a time (409 while one
 * runs). The last report and the running request live at module level, so switching language
 * (which re-mounts the page) or coming back to the page keeps them.
 * Reasons and issues are the agent's text (marked translate="no", as findings are).
 */
import type { GuardReport, GuardVerdict, SourceReport } from '../../../src/model/guard.js';
import { h, clear } from '../dom.js';
import { num, t, time } from '../i18n.js';
import { post } from '../api.js';
import { errorNote, section, unsupported, empty } from './common.js';
import type { MessageKey } from '../catalogue.js';

const WINDOWS_S = [5, 10, 30, 60] as const;
const RANK: Readonly<Record<GuardVerdict, number>> = { attacking: 0, suspicious: 1, normal: 2 };

type Outcome = { readonly report: GuardReport } | { readonly error: unknown } | { readonly unsupported: true };

interface Running {
  readonly seconds: number;
  readonly startedAtMs: number;
  readonly done: Promise<Outcome>;
}

let running: Running | null = null;
let last: Outcome | null = null;
let windowS: number = 10;

function observe(seconds: number): Running {
  const done = post<GuardReport>('/api/v1/guard/observe', { seconds })
    .then((report): Outcome => (report === null ? { unsupported: true } : { report }))
    .catch((error: unknown): Outcome => ({ error }));
  const r: Running = { seconds, startedAtMs: Date.now(), done };
  void done.then((outcome) => {
    last = outcome;
    if (running === r) running = null;
  });
  return r;
}

const pct = (ratio: number | null): string => (ratio === null ? '–' : `${num(ratio * 100, 1)} %`);

function sourceRow(s: SourceReport): HTMLElement {
  const m = s.metrics;
  const cell = (key: string, value: number, text = num(value, 2)) => h('td', { class: 'right', [`data-${key}`]: value }, text);
  return h('tr', { 'data-source': s.address, 'data-verdict': s.verdict, class: s.verdict === 'attacking' ? 'bad' : '' },
    h('td', {}, h('span', { translate: 'no' }, s.address), s.allowlisted ? h('span', { class: 'muted' }, ` (${t('fp.allowlisted')})`) : null),
    h('td', { class: 'nowrap' }, h('span', { class: `sev ${s.verdict === 'attacking' ? 'critical' : s.verdict === 'suspicious' ? 'warning' : 'info'}` }, t(`fp.verdict.${s.verdict}` as MessageKey))),
    h('td', { translate: 'no' }, ...s.reasons.map((r) => h('div', {}, r))),
    cell('syn-per-s', m.synPerS),
    h('td', { class: 'right', 'data-completion-ratio': m.completionRatio ?? '' }, pct(m.completionRatio)),
    cell('half-open-max', m.halfOpenMax),
    cell('concurrent-max', m.concurrentMax),
    cell('idle-connections', m.idleConnections),
    h('td', { translate: 'no' }, s.listeners.join(', ')),
  );
}

function floodNote(report: GuardReport): HTMLElement {
  const f = report.flood;
  if (f === null) return h('p', { class: 'muted', 'data-testid': 'fp-flood', 'data-kind': 'none' }, t('fp.noFlood'));
  return h('div', { class: 'notice error', 'data-testid': 'fp-flood', 'data-kind': f.kind, 'data-sources': f.sources, 'data-half-open-max': f.halfOpenMax },
    h('p', {}, h('strong', {}, t(f.kind === 'spoofed' ? 'fp.flood.spoofed' : 'fp.flood.real'))),
    h('p', {}, t('fp.flood.numbers', { sources: f.sources, halfOpen: f.halfOpenMax, synPerS: num(f.synPerS, 2), cookies: f.syncookiesSent, drops: f.reqQueueFullDrops })),
    h('ul', { translate: 'no' }, ...f.reasons.map((r) => h('li', {}, r))));
}

function issuesNote(report: GuardReport): HTMLElement | null {
  if (report.issues.length === 0) return null;
  return h('div', { class: 'notice', 'data-testid': 'fp-issues' },
    h('p', {}, h('strong', {}, t('fp.issues'))),
    ...report.issues.map((i) => h('p', { translate: 'no', 'data-code': i.code }, i.message, i.hint === undefined ? null : h('span', {}, ' ', h('code', {}, i.hint)))));
}

function drawReport(out: HTMLElement, report: GuardReport): void {
  const sources = [...report.sources].sort((a, b) => RANK[a.verdict] - RANK[b.verdict]);
  const count = (v: GuardVerdict) => sources.filter((s) => s.verdict === v).length;
  out.append(
    h('p', { 'data-testid': 'fp-summary' }, t('fp.summary', {
      sources: sources.length, seconds: num(report.window.durationMs / 1000, 1), snapshots: report.window.snapshots,
      time: time(report.window.endMs), attacking: count('attacking'), suspicious: count('suspicious'),
    })),
    issuesNote(report) ?? '',
    floodNote(report),
  );
  if (sources.length === 0) {
    out.append(empty(t('fp.none')));
    return;
  }
  const head = (['fp.source', 'fp.verdict', 'fp.reasons'] as const).map((k) => h('th', {}, t(k)));
  const numbers = (['fp.synPerS', 'fp.completion', 'fp.halfOpenMax', 'fp.concurrentMax', 'fp.idle'] as const).map((k) => h('th', { class: 'right' }, t(k)));
  out.append(h('div', { class: 'scroll-x' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, ...head, ...numbers, h('th', {}, t('fp.listeners')))),
    h('tbody', { 'data-testid': 'fp-sources' }, ...sources.map(sourceRow)))));
}

/** The section, drawn into the Peers page; returns its cleanup. */
export function fingerprints(root: HTMLElement): () => void {
  let stopped = false;
  let ticker: number | undefined;
  const out = h('div', { 'data-testid': 'fp-result' });
  const status = h('p', { class: 'muted', 'data-testid': 'fp-status', 'aria-live': 'polite' });
  const picker = h('select', { 'data-testid': 'fp-window', 'aria-label': t('fp.window') },
    ...WINDOWS_S.map((s) => h('option', { value: s, selected: s === windowS }, t('fp.seconds', { seconds: s }))));
  picker.addEventListener('change', () => {
    windowS = Number(picker.value);
  });
  const button = h('button', { type: 'button', 'data-testid': 'fp-run' }, t('fp.run'));

  const show = (outcome: Outcome | null) => {
    clear(out);
    if (outcome === null) out.append(empty(t('fp.notRun')));
    else if ('report' in outcome) drawReport(out, outcome.report);
    else if ('error' in outcome) out.append(errorNote(outcome.error));
    else out.append(unsupported('/api/v1/guard/observe'));
  };
  const follow = (r: Running) => {
    button.disabled = true;
    picker.disabled = true;
    status.dataset.state = 'watching';
    const tick = () => {
      const left = Math.max(0, Math.ceil((r.startedAtMs + r.seconds * 1000 - Date.now()) / 1000));
      status.textContent = t('fp.watching', { seconds: r.seconds, left });
    };
    tick();
    ticker = window.setInterval(tick, 1000);
    void r.done.then((outcome) => {
      if (stopped) return;
      window.clearInterval(ticker);
      button.disabled = false;
      picker.disabled = false;
      status.textContent = '';
      status.dataset.state = 'done';
      show(outcome);
    });
  };
  button.addEventListener('click', () => {
    if (running !== null) return;
    running = observe(windowS);
    follow(running);
  });

  root.append(section(t('fp.title'),
    h('p', { class: 'muted' }, t('fp.explain')),
    h('div', { class: 'toolbar' }, h('label', {}, t('fp.window'), ' ', picker), button),
    status, out));
  show(last);
  if (running !== null) follow(running);
  return () => {
    stopped = true;
    window.clearInterval(ticker);
  };
}
