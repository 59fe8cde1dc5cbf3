/**
 * Overview: the health score and what lowers it, connections by state (now and over time), new
 * connections per second by direction, the retransmission ratio, SYN, SYN-ACK, FIN and RST per
 * second, RTT percentiles, active alerts. The
 * range is live (the stream) or 15 min .. 7 d from /api/v1/series (the store picks the tier).
 */
import type { SampleMessage } from '../../../src/model/stream.js';
import { healthScore } from '../../../src/model/health.js';
import { Chart } from '../chart.js';
import { h, clear } from '../dom.js';
import { num, t, time } from '../i18n.js';
import { get } from '../api.js';
import { live } from '../live.js';
import type { Page } from './page.js';
import { empty, errorNote, section } from './common.js';
import type { MessageKey } from '../catalogue.js';

const RANGES = [['live', 0], ['15m', 15 * 60_000], ['1h', 3_600_000], ['24h', 86_400_000], ['7d', 7 * 86_400_000]] as const;
const CHART_STATES = ['ESTABLISHED', 'TIME_WAIT', 'CLOSE_WAIT', 'SYN_RECV', 'SYN_SENT', 'FIN_WAIT2'] as const;
const STATE_COLORS = ['#2563eb', '#9333ea', '#dc2626', '#ea580c', '#ca8a04', '#0d9488'];
export const SHOWN_STATES = ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'] as const;

/**
 * The agent's 1 s series the charts read (src/server/agent.ts RATE_SERIES, EVENT_RATE_SERIES,
 * RTT_SERIES). The control packets: SYN sent is ActiveOpens (the first SYN of each connect),
 * SYN-ACK answered is PassiveOpens (a handshake this host's SYN-ACK completed), retransmitted
 * SYNs and SYN-ACKs are TCPSynRetrans, RST sent is OutRsts (include/uapi/linux/snmp.h); FINs and
 * RSTs received are the kernel event collector's (tracepoints: absent without root).
 */
const SERIES = [
  'active_opens_per_s', 'passive_opens_per_s', 'segments_sent_per_s', 'retransmits_per_s',
  'syn_retransmits_per_s', 'fins_sent_per_s', 'fins_received_per_s', 'resets_sent_per_s', 'resets_received_per_s',
  'rtt_p50_ms', 'rtt_p90_ms', 'rtt_p99_ms',
] as const;
type SeriesName = (typeof SERIES)[number];
const CONTROL: readonly (readonly [SeriesName, MessageKey, string])[] = [
  ['active_opens_per_s', 'overview.synSent', '#2563eb'],
  ['passive_opens_per_s', 'overview.synAckAnswered', '#16a34a'],
  ['syn_retransmits_per_s', 'overview.synRetrans', '#ca8a04'],
  ['fins_sent_per_s', 'overview.finSent', '#0d9488'],
  ['fins_received_per_s', 'overview.finReceived', '#64748b'],
  ['resets_sent_per_s', 'overview.rstSent', '#dc2626'],
  ['resets_received_per_s', 'overview.rstReceived', '#9333ea'],
];
const RTT: readonly (readonly [SeriesName, MessageKey, string])[] = [
  ['rtt_p50_ms', 'overview.rttP50', '#2563eb'],
  ['rtt_p90_ms', 'overview.rttP90', '#ea580c'],
  ['rtt_p99_ms', 'overview.rttP99', '#dc2626'],
];

interface Columns {
  x: number[];
  states: number[][];
  series: Record<SeriesName, (number | null)[]>;
  ratio: (number | null)[];
}

const emptySeries = (): Record<SeriesName, (number | null)[]> => Object.fromEntries(SERIES.map((n) => [n, []])) as unknown as Record<SeriesName, (number | null)[]>;

function fromSamples(samples: readonly SampleMessage[]): Columns {
  const c: Columns = { x: [], states: CHART_STATES.map(() => []), series: emptySeries(), ratio: [] };
  for (const s of samples) {
    c.x.push(s.atMs / 1000);
    CHART_STATES.forEach((st, i) => c.states[i]!.push(s.states[st] ?? 0));
    for (const n of SERIES) c.series[n].push(s.series[n] ?? null);
    const out = s.series.segments_sent_per_s;
    const re = s.series.retransmits_per_s;
    c.ratio.push(out !== undefined && re !== undefined && out > 0 ? (100 * re) / out : out === 0 ? 0 : null);
  }
  return c;
}

interface SeriesReply {
  readonly points: readonly { ts: number; mean: number }[];
}

async function fromStore(spanMs: number): Promise<Columns> {
  const to = Date.now();
  const from = to - spanMs;
  const names = [...CHART_STATES.map((s) => `connections.${s}`), ...SERIES];
  const replies = await Promise.all(names.map((m) => get<SeriesReply>(`/api/v1/series?metric=${encodeURIComponent(m)}&from=${from}&to=${to}&limit=10000`)));
  const byTs = new Map<number, Map<string, number>>();
  replies.forEach((r, i) => {
    for (const p of r?.points ?? []) {
      let row = byTs.get(p.ts);
      if (row === undefined) byTs.set(p.ts, (row = new Map<string, number>()));
      row.set(names[i]!, p.mean);
    }
  });
  const samples: SampleMessage[] = [...byTs.keys()].sort((a, b) => a - b).map((ts) => {
    const row = byTs.get(ts)!;
    const states: Record<string, number> = {};
    const series: Record<string, number> = {};
    for (const [k, v] of row) {
      if (k.startsWith('connections.')) states[k.slice(12)] = v;
      else series[k] = v;
    }
    return { kind: 'sample', atMs: ts, states, series };
  });
  return fromSamples(samples);
}

/** The store's columns up to where the stream's begin, then the stream's. */
function joined(backfill: Columns, c: Columns): Columns {
  const since = c.x[0] ?? Infinity;
  const keep = backfill.x.findIndex((x) => x >= since);
  const cut = keep === -1 ? backfill.x.length : keep;
  const series = emptySeries();
  for (const n of SERIES) series[n] = [...backfill.series[n].slice(0, cut), ...c.series[n]];
  return {
    x: [...backfill.x.slice(0, cut), ...c.x],
    states: c.states.map((col, i) => [...backfill.states[i]!.slice(0, cut), ...col]),
    series,
    ratio: [...backfill.ratio.slice(0, cut), ...c.ratio],
  };
}

const camel = (name: string): string => name.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase());

export const overview: Page = {
  path: 'overview',
  title: 'nav.overview',
  mount(root, params) {
    const range = (RANGES.find((r) => r[0] === params.get('range'))?.[0] ?? 'live');
    const picker = h('div', { class: 'range', role: 'group', 'aria-label': t('range.label') },
      ...RANGES.map(([name]) => h('a', { href: `#/overview?range=${name}`, class: name === range ? 'active' : '', 'aria-current': name === range ? 'true' : undefined, 'data-range': name }, t(`range.${name}` as MessageKey))));
    const score = h('div', { class: 'score', 'data-testid': 'health-score' });
    const lowered = h('div', {});
    const counts = h('div', { class: 'counts', 'data-testid': 'state-counts' });
    const alerts = h('div', { 'data-testid': 'active-alerts' });
    const charts = h('div', { class: 'charts' });
    const note = h('div', {});
    root.append(
      h('div', { class: 'toolbar' }, picker),
      h('div', { class: 'grid2' },
        section(t('overview.health'), score, lowered),
        section(t('overview.activeAlerts'), alerts)),
      section(t('overview.states'), counts),
      note,
      charts,
    );
    const chartBox = () => h('div', { class: 'chart card' });
    const boxes = [chartBox(), chartBox(), chartBox(), chartBox(), chartBox()];
    boxes[3]!.dataset.testid = 'control-chart';
    boxes[4]!.dataset.testid = 'rtt-chart';
    charts.append(...boxes);
    const zoomAll = (min: number, max: number) => list.forEach((c) => c.zoom(min, max));
    const list = [
      new Chart(boxes[0]!, t('overview.statesOverTime'), CHART_STATES.map((s, i) => ({ label: s, color: STATE_COLORS[i]! })), zoomAll),
      new Chart(boxes[1]!, t('overview.newConns'), [{ label: t('overview.active'), color: '#2563eb' }, { label: t('overview.passive'), color: '#16a34a' }], zoomAll),
      new Chart(boxes[2]!, t('overview.retransRatio'), [{ label: t('overview.retransRatio'), color: '#dc2626' }], zoomAll),
      new Chart(boxes[3]!, t('overview.control'), CONTROL.map(([, key, color]) => ({ label: t(key), color })), zoomAll),
      new Chart(boxes[4]!, t('overview.rtt'), RTT.map(([, key, color]) => ({ label: t(key), color })), zoomAll),
    ];
    const draw = (c: Columns) => {
      list[0]!.setData(c.x, c.states);
      list[1]!.setData(c.x, [c.series.active_opens_per_s, c.series.passive_opens_per_s]);
      list[2]!.setData(c.x, [c.ratio]);
      list[3]!.setData(c.x, CONTROL.map(([n]) => c.series[n]));
      list[4]!.setData(c.x, RTT.map(([n]) => c.series[n]));
      // The latest values, for a reader without the canvas (and the end-to-end test).
      const at = c.x.length - 1;
      for (const [box, names] of [[boxes[3]!, CONTROL], [boxes[4]!, RTT]] as const) {
        box.dataset.atMs = at < 0 ? '' : String(Math.round(c.x[at]! * 1000));
        for (const [n] of names) box.dataset[camel(n)] = at < 0 ? '' : String(c.series[n][at] ?? '');
      }
    };
    const drawCounts = () => {
      const last = live.samples.at(-1);
      clear(counts);
      if (last === undefined) {
        counts.append(empty(t('common.loading')));
        return;
      }
      let total = 0;
      for (const s of SHOWN_STATES) {
        const n = last.states[s] ?? 0;
        if (s !== 'LISTEN') total += n;
        counts.append(h('a', { class: 'count', href: `#/connections?state=${s}`, 'data-state': s, 'data-value': n }, h('span', { class: 'n' }, num(n)), h('span', { class: 'label', translate: 'no' }, s)));
      }
      counts.append(h('div', { class: 'count total', 'data-state': 'total', 'data-value': total }, h('span', { class: 'n' }, num(total)), h('span', { class: 'label' }, t('overview.total'))));
      counts.dataset.atMs = String(last.atMs);
    };
    const drawHealth = () => {
      const hs = healthScore(live.findings);
      score.textContent = live.findingsAtMs === null ? '—' : num(hs.score);
      score.className = `score ${hs.score >= 85 ? 'good' : hs.score >= 60 ? 'warn' : 'bad'}`;
      clear(lowered);
      if (live.findingsAtMs === null) lowered.append(empty(t('overview.healthUnknown')));
      else if (hs.loweredBy.length === 0) lowered.append(empty(t('overview.healthGood')));
      else lowered.append(h('p', {}, t('overview.healthLoweredBy')), h('ul', {}, ...hs.loweredBy.map((d) => h('li', {}, h('span', { class: `sev ${d.severity}` }, t(`severity.${d.severity}`)), ` ${t('overview.healthPoints', { points: d.points })} `, h('a', { href: '#/alerts', translate: 'no' }, d.title), h('span', { translate: 'no' }, ` — ${d.subject}`)))));
    };
    const drawAlerts = () => {
      clear(alerts);
      const firing = [...live.firing.values()];
      if (firing.length === 0) alerts.append(empty(t('overview.noAlerts')));
      else alerts.append(h('ul', { class: 'alerts' }, ...firing.map((a) => h('li', { 'data-rule': a.rule }, h('span', { class: `sev ${a.severity}` }, a.severity), ' ', h('a', { href: '#/alerts', translate: 'no' }, a.rule), ` ${a.scope ?? t('alerts.host')} · ${a.value === null ? '—' : num(a.value, 2)} / ${num(a.threshold, 2)} · ${t('alerts.since')} ${time(a.startsAtMs)}`))));
    };
    drawCounts();
    drawHealth();
    drawAlerts();
    // Live: the last 15 minutes from the store, then what the stream brings.
    let backfill: Columns | null = null;
    const drawLive = () => {
      const c = fromSamples(live.samples);
      draw(backfill === null ? c : joined(backfill, c));
    };
    if (range === 'live') {
      drawLive();
      fromStore(15 * 60_000).then((c) => {
        backfill = c;
        drawLive();
      }, () => undefined);
    } else {
      note.append(empty(t('common.loading')));
      fromStore(RANGES.find((r) => r[0] === range)![1]).then((c) => {
        clear(note);
        if (c.x.length === 0) note.append(empty(t('overview.noHistory')));
        draw(c);
      }, (error: unknown) => {
        clear(note);
        note.append(errorNote(error));
      });
    }
    const off = live.subscribe((m) => {
      if (m === null || m.kind === 'sample') {
        drawCounts();
        if (range === 'live') drawLive();
      }
      if (m === null || m.kind === 'findings') drawHealth();
      if (m === null || m.kind === 'alert') drawAlerts();
    });
    const onResize = () => list.forEach((c, i) => c.resize(boxes[i]!.clientWidth - 16));
    window.addEventListener('resize', onResize);
    return () => {
      off();
      window.removeEventListener('resize', onResize);
      list.forEach((c) => c.destroy());
    };
  },
};
