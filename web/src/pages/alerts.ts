/** Alerts and findings: what fires now with its frozen evidence, the history, and the latest diagnosis with its advice and commands. */
import type { AlertTransition } from '../../../src/model/alert.js';
import type { Finding } from '../../../src/model/finding.js';
import { bySeverity } from '../../../src/model/finding.js';
import { h, clear, jsonBlock } from '../dom.js';
import { dateTime, num, t } from '../i18n.js';
import { get, post } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty, errorNote, section } from './common.js';

function alertRow(a: AlertTransition): HTMLElement {
  return h('tr', { 'data-rule': a.rule, 'data-status': a.status },
    h('td', {}, h('span', { class: `sev ${a.severity}` }, a.severity)),
    h('td', { translate: 'no' }, a.rule),
    h('td', {}, a.scope ?? t('alerts.host')),
    h('td', { class: 'right' }, a.value === null ? '—' : num(a.value, 2)),
    h('td', { class: 'right' }, num(a.threshold, 2)),
    h('td', {}, dateTime(a.startsAtMs)),
    h('td', {}, a.status === 'firing' ? t('alerts.statusFiring') : t('alerts.statusResolved')));
}

function alertTable(rows: readonly AlertTransition[]): HTMLElement {
  return h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, ...[t('alerts.severity'), t('alerts.rule'), t('alerts.scope'), t('common.value'), t('alerts.threshold'), t('alerts.since'), t('alerts.status')].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map(alertRow)));
}

function copyButton(text: string): HTMLElement {
  const b = h('button', { class: 'copy' }, t('common.copy'));
  b.addEventListener('click', () => {
    void navigator.clipboard?.writeText(text).then(() => {
      b.textContent = t('common.copied');
    });
  });
  return b;
}

/** A finding with its evidence and advice (also drawn by a capture's analysis). */
export function findingCard(f: Finding): HTMLElement {
  return h('article', { class: 'finding', 'data-finding': f.id },
    h('h3', {}, h('span', { class: `sev ${f.severity}` }, t(`severity.${f.severity}`)), ' ', h('span', { translate: 'no' }, `${f.title} — ${f.subject}`)),
    h('p', { translate: 'no' }, f.explanation),
    h('details', {}, h('summary', {}, t('alerts.evidence')), jsonBlock(f.evidence)),
    f.advice.length === 0 ? null : h('div', {}, h('h4', {}, t('alerts.advice')), h('ul', {}, ...f.advice.map((a) => h('li', {}, h('span', { translate: 'no' }, a.text),
      a.current === undefined ? null : ` (${t('alerts.current', { value: a.current })}${a.suggested === undefined ? '' : `, ${t('alerts.suggested', { value: a.suggested })}`})`,
      a.command === undefined ? null : h('div', { class: 'cmd' }, h('code', {}, a.command), copyButton(a.command)))))));
}

export const alerts: Page = {
  path: 'alerts',
  title: 'nav.alerts',
  mount(root) {
    const firing = h('div', { 'data-testid': 'alerts-firing' });
    const evidence = h('div', {});
    const historyBox = h('div', {});
    const findings = h('div', { 'data-testid': 'findings' });
    const diagnose = h('button', {}, t('alerts.diagnoseNow'));
    const diagError = h('div', {});
    root.append(section(t('alerts.firing'), firing, evidence), section(t('alerts.findings'), h('div', { class: 'toolbar' }, diagnose), diagError, findings), section(t('alerts.history'), historyBox));
    let stored: AlertTransition[] = [];
    const draw = () => {
      clear(firing);
      clear(evidence);
      const now = [...live.firing.values()];
      firing.append(now.length === 0 ? empty(t('overview.noAlerts')) : alertTable(now));
      for (const a of now) if (a.evidence !== undefined) evidence.append(h('details', {}, h('summary', {}, `${t('alerts.evidence')}: ${a.rule}`), jsonBlock(a.evidence)));
      clear(findings);
      const list = [...live.findings].sort(bySeverity);
      if (live.findingsAtMs === null) findings.append(empty(t('overview.healthUnknown')));
      else if (list.length === 0) findings.append(empty(t('alerts.noFindings')));
      else findings.append(...list.map(findingCard));
      clear(historyBox);
      const all = [...live.alertLog, ...stored].slice(0, 500);
      historyBox.append(all.length === 0 ? empty(t('common.none')) : alertTable(all));
    };
    diagnose.addEventListener('click', () => {
      clear(diagError);
      post<{ findings: Finding[]; toMs: number }>('/api/v1/diagnose', {}).then((r) => {
        if (r !== null) {
          live.findings = r.findings;
          live.findingsAtMs = r.toMs;
          draw();
        }
      }, (e: unknown) => diagError.append(errorNote(e)));
    });
    draw();
    get<{ history: { data: AlertTransition }[] }>('/api/v1/alerts').then((r) => {
      stored = (r?.history ?? []).map((x) => x.data).filter((a) => !a.repeat);
      draw();
    }, (e: unknown) => historyBox.append(errorNote(e)));
    return live.subscribe((m) => {
      if (m === null || m.kind === 'alert' || m.kind === 'findings') draw();
    });
  },
};
