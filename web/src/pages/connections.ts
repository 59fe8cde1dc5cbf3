/**
 * Connections: the agent's socket table (/api/v1/connections, the CLI's filters as query
 * parameters, kept in the URL), re-read every 5 s, in a virtualised table with sorting, a
 * search over the rows and a row's details: its tcp_info, timer and owners, and the kernel
 * states it went through and the events the agent kept of it (retransmissions, resets, state
 * anomalies: /api/v1/events with local and remote, its `history` and its newest events first).
 */
import type { AgentEvent, ConnectionHistory } from '../../../src/model/agent-event.js';
import type { TcpSocket } from '../../../src/model/socket.js';
import { formatEndpoint } from '../../../src/model/socket.js';
import { h, clear, jsonBlock } from '../dom.js';
import { num, t, time } from '../i18n.js';
import { get } from '../api.js';
import { VirtualTable } from '../vtable.js';
import type { Column } from '../vtable.js';
import type { Page } from './page.js';
import { errorNote } from './common.js';
import { SHOWN_STATES } from './overview.js';

interface Reply {
  readonly takenAtMs: number;
  readonly total: number;
  readonly connections: TcpSocket[];
}

const FILTERS = ['state', 'port', 'addr', 'expr'] as const;
const REFRESH_MS = 5000;
/** How far back a connection's events are looked up, and how many are listed. */
const EVENTS_BACK_MS = 24 * 3_600_000;
const EVENTS_SHOWN = 200;

/** What an event says beyond its kind: its state or reason, and its detail's fields. */
function eventText(e: AgentEvent): string {
  const parts = [e.state, e.reason, e.direction].filter((p) => p !== null && p !== undefined);
  const detail = Object.entries(e.detail ?? {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return [...parts, ...detail].join(' ');
}

/** A connection's states, oldest first, each with when it was entered and for how long. */
function historyTable(history: ConnectionHistory): HTMLElement {
  const rows = history.states.map((s) => h('tr', { 'data-state': s.state },
    h('td', { translate: 'no' }, s.state),
    h('td', {}, s.sinceMs === null ? t('conns.historyBefore') : time(s.sinceMs)),
    h('td', { class: 'num' }, s.durationMs === null ? (s.sinceMs === null ? '' : t('conns.historyNow')) : t('conns.historyMs', { ms: num(s.durationMs, 3) }))));
  return h('div', {},
    h('table', { class: 'table', 'data-testid': 'conn-history', 'data-count': history.states.length },
      h('thead', {}, h('tr', {}, h('th', {}, t('conns.historyState')), h('th', {}, t('conns.historySince')), h('th', {}, t('conns.historyFor')))), h('tbody', {}, ...rows)),
    ...(history.handedOver ? [h('p', { class: 'muted' }, t('conns.historyHandedOver'))] : []),
    ...(history.truncated ? [h('p', { class: 'muted' }, t('conns.historyTruncated'))] : []));
}

/** The states and events the agent kept of one connection, into `historyBox` and `into` (sections of the details). */
async function showEvents(r: TcpSocket, historyBox: HTMLElement, into: HTMLElement, isCurrent: () => boolean): Promise<void> {
  const q = new URLSearchParams({
    local: formatEndpoint(r.local, r.family), remote: formatEndpoint(r.remote, r.family),
    from: String(Date.now() - EVENTS_BACK_MS), limit: String(EVENTS_SHOWN), order: 'newest',
  });
  try {
    const reply = await get<{ events: AgentEvent[]; history: ConnectionHistory | null; collector: { running: boolean } }>(`/api/v1/events?${q.toString()}`);
    if (!isCurrent()) return;
    clear(into);
    clear(historyBox);
    if (reply === null) return;
    historyBox.append(reply.history !== null ? historyTable(reply.history) : h('p', { class: 'empty' }, t(reply.collector.running ? 'conns.noHistory' : 'conns.noCollector')));
    if (reply.events.length === 0) {
      into.append(h('p', { class: 'empty' }, t(reply.collector.running ? 'conns.noEvents' : 'conns.noCollector')));
      return;
    }
    const rows = reply.events.map((e) => h('tr', { 'data-kind': e.kind }, h('td', {}, time(e.ts)), h('td', { translate: 'no' }, e.kind), h('td', { class: 'mono', translate: 'no' }, eventText(e))));
    into.append(h('table', { class: 'table', 'data-testid': 'conn-events', 'data-count': reply.events.length },
      h('thead', {}, h('tr', {}, h('th', {}, t('conns.eventTime')), h('th', {}, t('events.kind')), h('th', {}, t('events.fields')))), h('tbody', {}, ...rows)));
  } catch (e: unknown) {
    if (!isCurrent()) return;
    clear(into);
    clear(historyBox);
    into.append(errorNote(e));
  }
}

export const connections: Page = {
  path: 'connections',
  title: 'nav.connections',
  mount(root, params) {
    const columns: Column<TcpSocket>[] = [
      { key: 'state', label: t('conns.state'), width: 120, value: (r) => r.state },
      { key: 'local', label: t('conns.local'), width: 230, value: (r) => formatEndpoint(r.local, r.family) },
      { key: 'remote', label: t('conns.remote'), width: 230, value: (r) => formatEndpoint(r.remote, r.family) },
      { key: 'recvQ', label: t('conns.recvQ'), width: 80, value: (r) => r.recvQ, align: 'right' },
      { key: 'sendQ', label: t('conns.sendQ'), width: 80, value: (r) => r.sendQ, align: 'right' },
      { key: 'rtt', label: t('conns.rtt'), width: 140, value: (r) => (r.tcpInfo === null ? '' : r.tcpInfo.rttMs), align: 'right' },
      { key: 'retrans', label: t('conns.retrans'), width: 100, value: (r) => r.tcpInfo?.totalRetrans ?? r.timer.retransmits, align: 'right' },
      { key: 'process', label: t('conns.process'), width: 160, value: (r) => (r.process === null ? '' : `${r.process} (${r.pid ?? ''})`) },
    ];
    const details = h('aside', { class: 'details', hidden: true, 'aria-live': 'polite' });
    let picked: TcpSocket | null = null;
    const showDetails = (r: TcpSocket) => {
      picked = r;
      clear(details);
      const events = h('div', { 'data-testid': 'conn-events-box' }, h('p', { class: 'muted' }, t('common.loading')));
      const history = h('div', { 'data-testid': 'conn-history-box' }, h('p', { class: 'muted' }, t('common.loading')));
      details.hidden = false;
      const peer = `${r.remote.address}`;
      details.append(
        h('div', { class: 'toolbar' }, h('h3', { translate: 'no' }, `${r.state} ${formatEndpoint(r.local, r.family)} → ${formatEndpoint(r.remote, r.family)}`), h('button', { onclick: () => (details.hidden = true) }, t('common.close'))),
        h('p', {}, h('a', { href: `#/captures?host=${encodeURIComponent(peer)}&port=${r.remote.port}` }, t('conns.capture'))),
        h('h4', {}, t('conns.tcpInfo')),
        r.tcpInfo === null ? h('p', { class: 'empty' }, t('conns.noInfo')) : jsonBlock(r.tcpInfo),
        h('h4', {}, t('conns.timer')), jsonBlock(r.timer),
        h('h4', {}, t('conns.owners')), jsonBlock(r.owners),
        h('h4', {}, t('conns.history')), history,
        h('h4', {}, t('conns.events')), events,
      );
      void showEvents(r, history, events, () => picked === r && !details.hidden);
    };
    const table = new VirtualTable<TcpSocket>(columns, showDetails);
    const stateSel = h('select', { name: 'state', 'aria-label': t('conns.state') }, h('option', { value: '' }, t('conns.allStates')), ...SHOWN_STATES.map((s) => h('option', { value: s }, s)));
    const port = h('input', { name: 'port', placeholder: t('conns.portPlaceholder'), size: 6, inputmode: 'numeric' });
    const addr = h('input', { name: 'addr', placeholder: t('conns.addrPlaceholder'), size: 18 });
    const expr = h('input', { name: 'expr', placeholder: t('conns.exprPlaceholder'), size: 28 });
    const search = h('input', { name: 'search', type: 'search', placeholder: t('conns.search'), size: 16 });
    const inputs = { state: stateSel, port, addr, expr };
    for (const k of FILTERS) inputs[k].value = params.get(k) ?? '';
    search.value = params.get('q') ?? '';
    const status = h('p', { class: 'muted', 'data-testid': 'conns-status' });
    const error = h('div', {});
    const form = h('form', { class: 'toolbar filters' }, stateSel, port, addr, expr, h('button', { type: 'submit' }, t('common.apply')), h('button', { type: 'button', onclick: () => { location.hash = '#/connections'; } }, t('common.clear')), search);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const k of FILTERS) if (inputs[k].value.trim() !== '') q.set(k, inputs[k].value.trim());
      if (search.value !== '') q.set('q', search.value);
      location.hash = `#/connections?${q.toString()}`;
    });
    root.append(form, error, status, h('div', { class: 'split' }, table.el, details));
    let rows: TcpSocket[] = [];
    let reply: Reply | null = null;
    const applySearch = () => {
      const needle = search.value.trim().toLowerCase();
      const shown = needle === '' ? rows : rows.filter((r) => `${r.state} ${formatEndpoint(r.local, r.family)} ${formatEndpoint(r.remote, r.family)} ${r.process ?? ''}`.toLowerCase().includes(needle));
      table.setRows(shown);
      status.textContent = reply === null ? t('common.loading') : `${t('common.rows', { shown: shown.length, total: reply.total })} · ${t('conns.takenAt', { time: time(reply.takenAtMs) })}`;
      status.dataset.total = String(reply?.total ?? '');
      status.dataset.shown = String(shown.length);
      status.dataset.takenAtMs = String(reply?.takenAtMs ?? '');
    };
    search.addEventListener('input', applySearch);
    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      if (performance.now() - table.lastScrollMs < 1500) {
        timer = window.setTimeout(() => void load(), 1000);
        return;
      }
      const q = new URLSearchParams();
      for (const k of FILTERS) {
        const v = params.get(k);
        if (v !== null && v !== '') q.set(k, v);
      }
      q.set('limit', '100000');
      try {
        const r = await get<Reply>(`/api/v1/connections?${q.toString()}`);
        if (stopped) return;
        clear(error);
        if (r !== null) {
          reply = r;
          rows = r.connections;
          applySearch();
        }
      } catch (e: unknown) {
        if (stopped) return;
        clear(error);
        error.append(errorNote(e));
      }
      if (!stopped) timer = window.setTimeout(() => void load(), REFRESH_MS);
    };
    status.textContent = t('common.loading');
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  },
};
