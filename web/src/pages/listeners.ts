/** Listeners: the live listener table (backlog, accept queue, SYN_RECV, full queues) and one listener over time. */
import type { ListenerSummary } from '../../../src/model/listener.js';
import { Chart } from '../chart.js';
import { h, clear } from '../dom.js';
import { num, t } from '../i18n.js';
import { live, listenerKey } from '../live.js';
import type { Page } from './page.js';
import { empty, section } from './common.js';

function yesNo(v: boolean | null): string {
  return v === null ? t('listeners.unknown') : v ? t('listeners.yes') : t('listeners.no');
}

export const listeners: Page = {
  path: 'listeners',
  title: 'nav.listeners',
  mount(root, params) {
    let selected = params.get('l');
    const tbody = h('tbody', {});
    const table = h('table', { class: 'table', 'data-testid': 'listeners-table' },
      h('thead', {}, h('tr', {}, ...[t('listeners.address'), t('conns.process'), t('listeners.backlog'), t('listeners.acceptQueue'), t('listeners.synRecv'), t('listeners.established'), t('listeners.full')].map((c) => h('th', {}, c)))),
      tbody);
    const chartBox = h('div', { class: 'chart card' });
    const overflowBox = h('div', { class: 'chart card' });
    const pick = h('p', { class: 'empty' }, t('listeners.pick'));
    root.append(section(t('listeners.title'), table), pick, chartBox, overflowBox);
    let chart: Chart | null = null;
    const overflow = new Chart(overflowBox, t('listeners.overflows'), [{ label: t('listeners.overflows'), color: '#dc2626' }]);
    const drawChart = () => {
      const hist = selected === null ? undefined : live.listenerHistory.get(selected);
      pick.hidden = selected !== null;
      chartBox.hidden = selected === null;
      if (selected === null) return;
      if (chart === null) {
        chartBox.prepend(h('h3', {}, t('listeners.overTime', { listener: selected })));
        chart = new Chart(chartBox, '', [{ label: t('listeners.acceptQueue'), color: '#2563eb' }, { label: t('listeners.synRecv'), color: '#ea580c' }]);
      }
      if (hist !== undefined) chart.setData(hist.t, [hist.accept, hist.synRecv]);
    };
    const draw = () => {
      clear(tbody);
      const list: readonly ListenerSummary[] = live.listeners;
      if (list.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 7 }, empty(t('common.none')))));
      for (const l of [...list].sort((a, b) => b.acceptQueue - a.acceptQueue || a.local.port - b.local.port)) {
        const key = listenerKey(l);
        const full = l.acceptQueueFull === true || l.synQueueFull === true;
        tbody.append(h('tr', { class: `${full ? 'bad ' : ''}${key === selected ? 'selected' : ''}`, 'data-listener': key, tabindex: 0, onclick: () => { location.hash = `#/listeners?l=${encodeURIComponent(key)}`; } },
          h('td', { translate: 'no' }, key), h('td', { translate: 'no' }, l.process ?? ''), h('td', { class: 'right' }, l.backlog === null ? '—' : num(l.backlog)), h('td', { class: 'right' }, num(l.acceptQueue)), h('td', { class: 'right' }, num(l.synRecv)), h('td', { class: 'right' }, num(l.established)), h('td', {}, yesNo(l.acceptQueueFull === null && l.synQueueFull === null ? null : full))));
      }
      drawChart();
      overflow.setData(live.samples.map((s) => s.atMs / 1000), [live.samples.map((s) => s.series.listen_overflows_per_s ?? null)]);
    };
    draw();
    const off = live.subscribe((m) => {
      if (m === null || m.kind === 'listeners' || m.kind === 'sample') draw();
    });
    return () => {
      off();
      chart?.destroy();
      overflow.destroy();
      selected = null;
    };
  },
};
