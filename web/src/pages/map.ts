/**
 * Map: the service map of this host (GET /api/v1/map) as an SVG in four columns, left to
 * right the way traffic flows: peers connecting in | listeners | processes | peers called.
 * Edges are coloured by the worst problem of the window (failed connects, resets,
 * retransmissions) and widen with connections. A few dozen nodes need no layout library: each
 * column is a list sorted by id, so a refresh every few seconds does not move what is there.
 * Window, peers kept and selected node live in the URL (#/map?window=15m&top=20&node=ID).
 */
import type { MapCounts, MapNode, MapProblem, ServiceMap } from '../../../src/model/service-map.js';
import { MAP_PROBLEMS, worstProblem } from '../../../src/model/service-map.js';
import type { MessageKey } from '../catalogue.js';
import { h, clear } from '../dom.js';
import { num, t, time } from '../i18n.js';
import { get } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty, errorNote, section, unsupported } from './common.js';

const WINDOWS = ['5m', '15m', '1h', '24h'] as const;
const REFRESH_MS = 3000;
/** The agent writes its events to the store every second (sessions/event-collector.ts flush). */
const STORE_LAG_MS = 1200;
const COLOURS: Readonly<Record<MapProblem, string>> = { failed: '#b91c1c', reset: '#ea580c', retransmit: '#ca8a04', none: '#9ca3af' };
const COLUMN_W = 180;
const GAP = 70;
const ROW_H = 34;
const NODE_H = 26;
const TOP = 28;
const SVG_NS = 'http://www.w3.org/2000/svg';

/** What /api/v1/map adds to the map: the window, and whether only the newest events of it were counted. */
type MapReply = ServiceMap & { readonly windowMs: number; readonly eventsLimited: boolean };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | number>> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function columnOf(n: MapNode): number {
  if (n.kind === 'listener') return 1;
  if (n.kind === 'process') return 2;
  return n.direction === 'outbound' ? 3 : 0;
}

/** What the page writes for a node: data (translate="no") or, for the nodes it names itself, catalogue text. */
function nodeName(n: MapNode): { readonly text: string; readonly data: boolean } {
  if (n.special === 'unknown-process') return { text: t('map.unknownProcess'), data: false };
  if (n.special === 'other-peers') return { text: t('map.otherPeers', { n: n.members }), data: false };
  if (n.special === 'closed-port') return { text: `${n.label} · ${t('map.closedPort')}`, data: false };
  if (n.kind === 'process') return { text: `${n.label} (${n.pid ?? '?'})`, data: true };
  return { text: n.label, data: true };
}

const COUNT_ROWS: readonly (readonly [keyof MapCounts, MessageKey])[] = [
  ['connections', 'map.connections'], ['retransmits', 'map.retransmits'], ['resetsSent', 'map.resetsSent'], ['resetsReceived', 'map.resetsReceived'], ['failedConnects', 'map.failedConnects'],
];

function countsTable(c: MapCounts, testid: string): HTMLElement {
  return h('table', { class: 'table', 'data-testid': testid }, h('tbody', {}, ...COUNT_ROWS.map(([k, label]) => h('tr', { 'data-count': k }, h('th', {}, t(label)), h('td', { class: 'right' }, num(c[k]))))));
}

function legend(): HTMLElement {
  return h('div', { class: 'map-legend', 'data-testid': 'map-legend' }, h('span', { class: 'muted' }, t('map.legend')),
    ...MAP_PROBLEMS.map((p) => h('span', { class: 'map-key' }, h('span', { class: 'map-swatch', style: `background:${COLOURS[p]}` }), t(`map.problem.${p}`))));
}

function setParams(window: string, top: string | null, node: string | null): void {
  const q = new URLSearchParams({ window });
  if (top !== null) q.set('top', top);
  if (node !== null) q.set('node', node);
  history.replaceState(null, '', `#/map?${q.toString()}`);
}

export const map: Page = {
  path: 'map',
  title: 'nav.map',
  mount(root, params) {
    const asked = params.get('window') ?? '15m';
    const span = (WINDOWS as readonly string[]).includes(asked) ? asked : '15m';
    const topText = params.get('top');
    const top = topText !== null && /^\d{1,3}$/.test(topText) && Number(topText) >= 1 && Number(topText) <= 500 ? topText : null;
    let selected = params.get('node');
    let last: MapReply | null = null;
    const picker = h('div', { class: 'range', role: 'group', 'aria-label': t('map.window') }, h('span', { class: 'muted' }, `${t('map.window')} `),
      ...WINDOWS.map((w) => h('a', { href: `#/map?window=${w}${top === null ? '' : `&top=${top}`}`, class: w === span ? 'active' : '', 'aria-current': w === span ? 'true' : undefined, 'data-window': w }, w)));
    const note = h('div', {});
    const summary = h('p', { class: 'muted', 'data-testid': 'map-summary' });
    const drawing = h('div', { class: 'map-box' });
    const details = h('aside', { class: 'details', 'data-testid': 'map-details', 'aria-live': 'polite' });
    root.append(section(t('map.title'), h('p', { class: 'muted' }, t('map.explain')), h('div', { class: 'toolbar' }, picker, legend()), note, summary,
      h('div', { class: 'split' }, drawing, details)));

    const select = (id: string | null) => {
      selected = id;
      setParams(span, top, id);
      if (last !== null) draw(last);
      drawing.querySelector<SVGElement>(`[data-node="${CSS.escape(id ?? '')}"]`)?.focus();
    };

    const drawDetails = (m: MapReply) => {
      clear(details);
      const n = selected === null ? undefined : m.nodes.find((x) => x.id === selected);
      if (n === undefined) {
        details.append(empty(t('map.pick')));
        return;
      }
      const name = nodeName(n);
      details.append(h('h3', { translate: name.data ? 'no' : undefined, 'data-testid': 'map-details-name' }, name.text), countsTable(n.counts, 'map-node-counts'));
      const links = m.edges.filter((e) => e.from === n.id || e.to === n.id);
      if (links.length > 0) {
        details.append(h('h3', {}, t('map.edges')));
        const label = (id: string): HTMLElement => {
          const other = m.nodes.find((x) => x.id === id);
          const name = other === undefined ? { text: id, data: true } : nodeName(other);
          return h('span', { translate: name.data ? 'no' : undefined }, name.text);
        };
        for (const e of links) {
          details.append(h('div', { class: 'map-edge-detail', 'data-edge': `${e.from}>${e.to}`, 'data-problem': worstProblem(e.counts) },
            h('p', { class: 'mono' }, label(e.from), ' → ', label(e.to)), countsTable(e.counts, 'map-edge-counts')));
        }
      }
    };

    const draw = (m: MapReply) => {
      clear(note);
      if (!m.events.running) note.append(h('p', { class: 'muted', 'data-testid': 'map-no-events' }, t('map.noEvents', { reason: '' }), h('span', { translate: 'no' }, `${m.events.reason ?? ''}${m.events.hint === null ? '' : ` (${m.events.hint})`}`)));
      if (m.eventsLimited) note.append(h('p', { class: 'muted', 'data-testid': 'map-events-limited' }, t('map.eventsLimited')));
      summary.textContent = `${t('map.peersSummary', { inbound: m.peers.inbound, outbound: m.peers.outbound, grouped: m.peers.grouped })} · ${t('map.takenAt', { time: time(m.takenAtMs) })}`;
      clear(drawing);
      if (m.nodes.length === 0) {
        drawing.append(empty(t('map.empty')));
        drawDetails(m);
        return;
      }
      const columns: MapNode[][] = [[], [], [], []];
      for (const n of m.nodes) columns[columnOf(n)]!.push(n);
      const rows = Math.max(...columns.map((c) => c.length));
      const width = 4 * COLUMN_W + 3 * GAP;
      const height = TOP + rows * ROW_H + 8;
      const at = new Map<string, { readonly x: number; readonly y: number }>();
      columns.forEach((col, i) => col.forEach((n, j) => at.set(n.id, { x: i * (COLUMN_W + GAP), y: TOP + j * ROW_H })));
      const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'group', 'aria-label': t('map.title'), 'data-testid': 'map-svg', class: 'map' });
      (['map.colInbound', 'map.colListeners', 'map.colProcesses', 'map.colOutbound'] as const).forEach((key, i) => root.append(svg('text', { x: i * (COLUMN_W + GAP) + 4, y: 16, class: 'map-col' }, t(key))));
      const maxConns = Math.max(1, ...m.edges.map((e) => e.counts.connections));
      for (const e of m.edges) {
        const a = at.get(e.from);
        const b = at.get(e.to);
        if (a === undefined || b === undefined) continue;
        const problem = worstProblem(e.counts);
        const x1 = a.x + COLUMN_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x;
        const y2 = b.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        const widthPx = 1.5 + 4 * Math.log1p(e.counts.connections) / Math.log1p(maxConns) + (problem === 'none' ? 0 : 1);
        const dim = selected !== null && e.from !== selected && e.to !== selected;
        root.append(svg('path', { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, fill: 'none', stroke: COLOURS[problem], 'stroke-width': widthPx.toFixed(1), opacity: dim ? 0.2 : 0.9, 'data-edge': `${e.from}>${e.to}`, 'data-problem': problem },
          svg('title', {}, `${e.counts.connections} / ${e.counts.retransmits} / ${e.counts.resetsSent + e.counts.resetsReceived} / ${e.counts.failedConnects}`)));
      }
      for (const n of m.nodes) {
        const p = at.get(n.id)!;
        const problem = worstProblem(n.counts);
        const name = nodeName(n);
        const g = svg('g', { transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'button', 'aria-pressed': String(n.id === selected), 'aria-label': name.text, 'data-node': n.id, 'data-kind': n.kind, 'data-problem': problem, class: `map-node${n.id === selected ? ' selected' : ''}` },
          svg('rect', { width: COLUMN_W, height: NODE_H, rx: 5, fill: n.id === selected ? '#dbeafe' : '#fff', stroke: COLOURS[problem], 'stroke-width': problem === 'none' ? 1 : 2 }),
          svg('text', { x: 8, y: 17, ...(name.data ? { translate: 'no' } : {}) }, name.text.length > 24 ? `${name.text.slice(0, 23)}…` : name.text),
          svg('text', { x: COLUMN_W - 8, y: 17, 'text-anchor': 'end', class: 'map-n' }, num(n.counts.connections)));
        g.addEventListener('click', () => select(n.id === selected ? null : n.id));
        g.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            select(n.id === selected ? null : n.id);
          } else if (ev.key === 'Escape') select(null);
        });
        root.append(g);
      }
      drawing.append(root);
      drawDetails(m);
    };

    let stopped = false;
    let timer: number | undefined;
    let dueAtMs = Infinity;
    let inFlight = false;
    const schedule = (ms: number) => {
      if (stopped || Date.now() + ms >= dueAtMs) return;
      window.clearTimeout(timer);
      dueAtMs = Date.now() + ms;
      timer = window.setTimeout(() => void load(), ms);
    };
    const load = async () => {
      dueAtMs = Infinity;
      if (inFlight) return schedule(STORE_LAG_MS);
      inFlight = true;
      try {
        const m = await get<MapReply>(`/api/v1/map?window=${encodeURIComponent(span)}${top === null ? '' : `&top=${top}`}`);
        if (stopped) return;
        if (m === null) {
          clear(drawing);
          drawing.append(unsupported('/api/v1/map'));
          return;
        }
        last = m;
        const focused = document.activeElement?.getAttribute('data-node') ?? null;
        draw(m);
        // A refresh redraws the SVG: keep the keyboard where it was.
        if (focused !== null) drawing.querySelector<SVGElement>(`[data-node="${CSS.escape(focused)}"]`)?.focus();
      } catch (e: unknown) {
        if (stopped) return;
        clear(note);
        note.append(errorNote(e));
      } finally {
        inFlight = false;
      }
      schedule(REFRESH_MS);
    };
    // A reset, failed connect or retransmission on the stream: redraw once the agent has stored
    // it (its event store is written every second), not at the next poll.
    const off = live.subscribe((msg) => {
      if (msg?.kind === 'event') schedule(STORE_LAG_MS);
    });
    drawing.append(empty(t('common.loading')));
    drawDetails({ nodes: [], edges: [] } as unknown as MapReply);
    void load();
    return () => {
      stopped = true;
      off();
      window.clearTimeout(timer);
    };
  },
};
