/** Events: the live feed of kernel events and recordings from the stream, with a kind filter, a search and pause. */
import type { KernelEventMessage, RecordingMessage } from '../../../src/model/stream.js';
import { h, clear } from '../dom.js';
import { t, time } from '../i18n.js';
import { get } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty } from './common.js';

const SHOWN = 500;

function label(e: KernelEventMessage | RecordingMessage): string {
  return e.kind === 'event' ? e.event : `${e.what} ${e.status}`;
}

function fields(e: KernelEventMessage | RecordingMessage): string {
  const data = e.kind === 'event' ? e.data : { id: e.id, reason: e.reason };
  return Object.entries(data).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

export const events: Page = {
  path: 'events',
  title: 'nav.events',
  mount(root, params) {
    let paused = false;
    let frozen: (KernelEventMessage | RecordingMessage)[] = [];
    const kind = h('select', { 'aria-label': t('events.kind') }, h('option', { value: '' }, t('events.allKinds')));
    const search = h('input', { type: 'search', placeholder: t('common.filter'), size: 20 });
    search.value = params.get('q') ?? '';
    const pause = h('button', { 'aria-pressed': 'false' }, t('events.pause'));
    const note = h('p', { class: 'muted', 'aria-live': 'polite' });
    const lost = h('p', { class: 'error' });
    const list = h('tbody', { 'data-testid': 'events-body', translate: 'no' });
    const unsupported = h('div', {});
    root.append(h('div', { class: 'toolbar' }, kind, search, pause), note, lost, unsupported,
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, t('common.time')), h('th', {}, t('events.what')), h('th', {}, t('events.fields')))), list));
    const kinds = new Set<string>();
    const draw = () => {
      const source = paused ? frozen : live.events;
      for (const e of live.events) {
        const k = label(e);
        if (!kinds.has(k)) {
          kinds.add(k);
          kind.append(h('option', { value: k }, k));
        }
      }
      const needle = search.value.trim().toLowerCase();
      const shown: (KernelEventMessage | RecordingMessage)[] = [];
      for (let i = source.length - 1; i >= 0 && shown.length < SHOWN; i--) {
        const e = source[i]!;
        if (kind.value !== '' && label(e) !== kind.value) continue;
        if (needle !== '' && !`${label(e)} ${fields(e)}`.toLowerCase().includes(needle)) continue;
        shown.push(e);
      }
      clear(list);
      if (shown.length === 0) list.append(h('tr', {}, h('td', { colspan: 3 }, empty(t('events.empty')))));
      for (const e of shown) list.append(h('tr', { 'data-kind': e.kind }, h('td', {}, time(e.atMs)), h('td', {}, label(e)), h('td', { class: 'mono' }, fields(e))));
      note.textContent = paused ? t('events.paused', { count: live.events.length - frozen.length }) : '';
      lost.textContent = live.dropped > 0 ? t('events.lost', { count: live.dropped }) : '';
    };
    pause.addEventListener('click', () => {
      paused = !paused;
      frozen = paused ? [...live.events] : [];
      pause.textContent = paused ? t('events.resume') : t('events.pause');
      pause.setAttribute('aria-pressed', String(paused));
      draw();
    });
    kind.addEventListener('change', draw);
    search.addEventListener('input', draw);
    draw();
    // Older events, when the agent keeps them (an agent without the route answers 404).
    get<{ events?: KernelEventMessage[] }>(`/api/v1/events?from=${Date.now() - 3_600_000}&limit=1000`).then((r) => {
      if (r?.events !== undefined && live.events.length === 0) {
        live.events.push(...r.events.map((e) => ({ ...e, kind: 'event' as const })));
        draw();
      }
    }, () => undefined);
    const off = live.subscribe((m) => {
      if (m === null || m.kind === 'event' || m.kind === 'recording') draw();
    });
    return off;
  },
};
