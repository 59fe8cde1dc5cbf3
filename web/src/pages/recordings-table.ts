/**
 * The agent's recordings (GET /api/v1/recordings): why each ran (trigger and reason), what it
 * was narrowed to, when, how it ended, its size, and what can be done with it: stop it while it
 * runs, download its file (a pcap, or a trace's JSON lines), open a capture's analysis.
 */
import type { Recording } from '../../../src/model/recording.js';
import { h } from '../dom.js';
import { dateTime, num, t, time } from '../i18n.js';
import { token } from '../api.js';

export interface RecordingActions {
  stop(id: number): void;
  open(id: number): void;
  /** A download that failed (only when it goes through fetch, with the token). */
  failed(error: unknown): void;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return t('units.bytes', { n: bytes });
  if (bytes < 1024 * 1024) return t('units.kib', { n: num(bytes / 1024, 1) });
  return t('units.mib', { n: num(bytes / 1048576, 1) });
}

/**
 * A link to the file: a plain link downloads it when the agent needs no token; with a token the
 * request needs its Authorization header, which only fetch can send, so the click fetches the
 * bytes and saves them under the agent's file name.
 */
function downloadLink(r: Recording, actions: RecordingActions): HTMLElement {
  const path = `/api/v1/recordings/download?id=${r.id}`;
  const name = `tcpdiag-${r.kind}-${r.id}.${r.kind === 'capture' ? 'pcap' : 'jsonl'}`;
  const a = h('a', { href: path, download: name, 'data-testid': 'download', class: 'button' }, t(r.kind === 'capture' ? 'captures.download' : 'captures.downloadTrace'));
  a.addEventListener('click', (e) => {
    const tok = token();
    if (tok === null) return;
    e.preventDefault();
    fetch(path, { headers: { Authorization: `Bearer ${tok}` }, cache: 'no-store' }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const url = URL.createObjectURL(await res.blob());
      const save = h('a', { href: url, download: name });
      save.click();
      // The click starts the download; the URL must live until the browser has read it.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }).catch((error: unknown) => actions.failed(error));
  });
  return a;
}

function duration(r: Recording): string {
  if (r.stoppedAtMs === null) return r.deadlineMs === null ? '—' : t('captures.until', { time: time(r.deadlineMs) });
  return t('units.seconds', { n: num((r.stoppedAtMs - r.startedAtMs) / 1000, 1) });
}

function row(r: Recording, actions: RecordingActions): HTMLElement {
  const running = r.status === 'running';
  const scope = r.scope.value === null ? t('captures.host') : `${r.scope.kind} ${r.scope.value}`;
  return h('tr', { 'data-recording': r.id, 'data-status': r.status, 'data-kind': r.kind, 'data-analyzed': String(r.analyzed) },
    h('td', { class: 'right' }, String(r.id)),
    h('td', {}, t(`kind.${r.kind}`), h('div', { class: 'muted' }, t(`trigger.${r.trigger}`))),
    h('td', {},
      h('div', { translate: 'no', 'data-testid': 'reason' }, r.reason),
      h('div', { class: 'muted' }, h('span', { translate: r.scope.value === null ? undefined : 'no' }, scope), r.filter === '' ? null : h('span', { translate: 'no', class: 'mono' }, ` · ${r.filter}`))),
    h('td', { 'data-testid': 'status' },
      h('span', { class: `rec ${r.status}` }, t(`recording.${r.status}`)),
      r.stoppedBy === null ? null : h('span', { class: 'muted', translate: 'no' }, ` (${r.stoppedBy})`),
      r.error === null ? null : h('div', { class: 'error', translate: 'no' }, r.error)),
    h('td', {}, dateTime(r.startedAtMs)),
    h('td', {}, duration(r)),
    h('td', { class: 'right' }, formatBytes(r.bytes), h('div', { class: 'muted' }, num(r.items))),
    h('td', {}, h('div', { class: 'actions' },
      running ? h('button', { 'data-testid': 'stop', onclick: () => actions.stop(r.id) }, t('captures.stop')) : null,
      !running && r.file !== null ? downloadLink(r, actions) : null,
      !running && r.file === null ? h('span', { class: 'muted' }, t('captures.noFile')) : null,
      r.kind === 'capture' && r.analyzed ? h('button', { 'data-testid': 'open', onclick: () => actions.open(r.id) }, t('captures.open')) : null,
      r.kind === 'capture' && !r.analyzed && !running && r.file !== null ? h('span', { class: 'muted' }, t('captures.notAnalysed')) : null)));
}

export function recordingsTable(recordings: readonly Recording[], actions: RecordingActions): HTMLElement {
  const head = [t('captures.id'), `${t('captures.kind')} / ${t('captures.trigger')}`, `${t('captures.reason')} / ${t('captures.scope')}`, t('captures.status'), t('captures.startedAt'), t('captures.ran'), `${t('captures.size')} / ${t('captures.items')}`, ''];
  return h('div', { class: 'scroll-x' }, h('table', { class: 'table', 'data-testid': 'recordings' },
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...recordings.map((r) => row(r, actions)))));
}
