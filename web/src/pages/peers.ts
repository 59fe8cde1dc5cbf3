/**
 * Peers: connections per remote /24 or /48 over time, as a heat map, from the socket table read
 * every 5 s while the page is open (so its history starts when the page opened; the agent's
 * per-peer rollups, when they land, can fill the columns before that).
 */
import type { TcpSocket } from '../../../src/model/socket.js';
import { h, clear } from '../dom.js';
import { num, t, time } from '../i18n.js';
import { get } from '../api.js';
import { drawHeatmap, prefixOf } from '../heatmap.js';
import type { Page } from './page.js';
import { errorNote, section } from './common.js';

const TOP = 25;
const COLUMNS = 120;
const history: { atMs: number; counts: Map<string, number> }[] = [];

export const peers: Page = {
  path: 'peers',
  title: 'nav.peers',
  mount(root) {
    const canvas = h('canvas', { 'data-testid': 'peers-heatmap', role: 'img', 'aria-label': t('peers.title') });
    const top = h('tbody', {});
    const error = h('div', {});
    root.append(section(t('peers.title'), h('p', { class: 'muted' }, t('peers.explain')), error, h('div', { class: 'heat' }, canvas)),
      section(t('peers.top'), h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, t('peers.prefix')), h('th', {}, t('peers.connections')))), top)));
    const draw = () => {
      const totals = new Map<string, number>();
      for (const col of history) for (const [k, v] of col.counts) totals.set(k, (totals.get(k) ?? 0) + v);
      const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k]) => k);
      drawHeatmap(canvas, { rows, columns: history.map((c) => c.atMs), values: rows.map((r) => history.map((c) => c.counts.get(r) ?? 0)) }, time);
      clear(top);
      const now = history.at(-1)?.counts ?? new Map<string, number>();
      for (const [k, v] of [...now.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)) top.append(h('tr', {}, h('td', { translate: 'no' }, k), h('td', { class: 'right' }, num(v))));
    };
    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const r = await get<{ takenAtMs: number; connections: TcpSocket[] }>('/api/v1/connections?state=connected&limit=100000');
        if (stopped || r === null) return;
        clear(error);
        if (history.at(-1)?.atMs !== r.takenAtMs) {
          const counts = new Map<string, number>();
          for (const c of r.connections) {
            const p = prefixOf(c.remote.address, c.family);
            counts.set(p, (counts.get(p) ?? 0) + 1);
          }
          history.push({ atMs: r.takenAtMs, counts });
          if (history.length > COLUMNS) history.shift();
        }
        draw();
      } catch (e: unknown) {
        clear(error);
        error.append(errorNote(e));
      }
      if (!stopped) timer = window.setTimeout(() => void load(), 5000);
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  },
};
