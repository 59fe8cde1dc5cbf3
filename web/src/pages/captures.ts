/**
 * Captures: the agent's captures (list, start and stop when enabled, download, analysis) and the
 * analysis of an uploaded pcap, through /api/v1/captures. An agent without that route gets a
 * plain note instead.
 */
import { h, clear, jsonBlock } from '../dom.js';
import { dateTime, t } from '../i18n.js';
import { ApiError, get, post, token } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty, errorNote, section, unsupported } from './common.js';

interface CaptureRow {
  readonly id: string;
  readonly status?: string;
  readonly reason?: string;
  readonly startedAtMs?: number;
}

export const captures: Page = {
  path: 'captures',
  title: 'nav.captures',
  mount(root, params) {
    const list = h('div', { 'data-testid': 'captures-list' });
    const analysis = h('div', {});
    const start = h('button', {}, t('captures.start'));
    const file = h('input', { type: 'file', accept: '.pcap,.pcapng,application/vnd.tcpdump.pcap' });
    const upload = h('button', {}, t('captures.uploadButton'));
    const message = h('div', {});
    root.append(section(t('captures.title'), h('div', { class: 'toolbar' }, start), message, list), section(t('captures.upload'), h('div', { class: 'toolbar' }, file, upload)), section(t('captures.analysis'), analysis));
    const download = async (id: string) => {
      const tok = token();
      const res = await fetch(`/api/v1/captures/${encodeURIComponent(id)}/pcap`, { headers: tok === null ? {} : { Authorization: `Bearer ${tok}` } });
      if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText, null);
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: `${id}.pcap` });
      a.click();
      URL.revokeObjectURL(url);
    };
    const open = (id: string) => {
      clear(analysis);
      get<unknown>(`/api/v1/captures/${encodeURIComponent(id)}/analysis`).then((r) => analysis.append(r === null ? unsupported(`/api/v1/captures/${id}/analysis`) : jsonBlock(r)), (e: unknown) => analysis.append(errorNote(e)));
    };
    const load = () => {
      get<{ captures: CaptureRow[]; enabled?: boolean }>('/api/v1/captures').then((r) => {
        clear(list);
        if (r === null) {
          list.append(unsupported('/api/v1/captures'));
          start.disabled = true;
          upload.disabled = true;
          return;
        }
        start.disabled = r.enabled === false;
        if (r.enabled === false) list.append(empty(t('captures.disabled')));
        if (r.captures.length === 0) list.append(empty(t('captures.none')));
        else list.append(h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...[t('captures.id'), t('captures.status'), t('captures.reason'), t('common.time'), ''].map((c) => h('th', {}, c)))),
          h('tbody', {}, ...r.captures.map((c) => h('tr', {}, h('td', { translate: 'no' }, c.id), h('td', { translate: 'no' }, c.status ?? ''), h('td', { translate: 'no' }, c.reason ?? ''), h('td', {}, c.startedAtMs === undefined ? '' : dateTime(c.startedAtMs)),
            h('td', {}, c.status === 'running' ? h('button', { onclick: () => void post(`/api/v1/captures/${encodeURIComponent(c.id)}/stop`, {}).then(load) }, t('captures.stop')) : null,
              h('button', { onclick: () => void download(c.id).catch((e: unknown) => message.append(errorNote(e))) }, t('captures.download')),
              h('button', { onclick: () => open(c.id) }, t('captures.analysis'))))))));
      }, (e: unknown) => {
        clear(list);
        list.append(errorNote(e));
      });
    };
    start.addEventListener('click', () => {
      clear(message);
      const body: Record<string, string> = {};
      for (const k of ['host', 'port']) {
        const v = params.get(k);
        if (v !== null) body[k] = v;
      }
      post('/api/v1/captures', body).then(load, (e: unknown) => message.append(errorNote(e)));
    });
    upload.addEventListener('click', () => {
      const f = file.files?.[0];
      if (f === undefined) return;
      clear(analysis);
      post<unknown>('/api/v1/captures/upload', null, { type: 'application/vnd.tcpdump.pcap', data: f }).then((r) => analysis.append(r === null ? unsupported('/api/v1/captures/upload') : jsonBlock(r)), (e: unknown) => analysis.append(errorNote(e)));
    });
    load();
    return live.subscribe((m) => {
      if (m?.kind === 'recording') load();
    });
  },
};
