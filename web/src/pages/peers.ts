/**
 * Peers: the remote addresses this host talks to, grouped by /24 (IPv4) or /48 (IPv6) prefix,
 * or by country when the agent has a GeoIP file (agent.geoip_file: the agent looks the country
 * up, the page only groups), as a heat map over time from the agent's per-minute per-peer
 * rollups (/api/v1/rollups?by=peer: connections opened, closed, reset, retransmitted, failed),
 * with the top groups, the top addresses, and the remote ports of the connections open now; or
 * by this host's listening port (the service the peers reach) from the per-listener rollups
 * (by=listener), where the accepts are keyed by the listening socket (analysis/events/aggregate.ts);
 * or by the remote port of the connections this host opened (the services it calls) from the
 * per-remote-port rollups (by=remote-port). Below, the guard's source fingerprints
 * (peer-fingerprints.ts).
 * Range, grouping and measure are in the URL (#/peers?range=1h&group=prefix&measure=opened).
 */
import type { RollupBy, RollupRow } from '../../../src/model/agent-event.js';
import { OTHER_KEY } from '../../../src/model/agent-event.js';
import type { TcpSocket } from '../../../src/model/socket.js';
import { h, clear } from '../dom.js';
import { currentLang, num, t, time } from '../i18n.js';
import { get } from '../api.js';
import { drawHeatmap, prefixOf } from '../heatmap.js';
import type { Page } from './page.js';
import { empty, errorNote, section, unsupported } from './common.js';
import type { MessageKey } from '../catalogue.js';
import { fingerprints } from './peer-fingerprints.js';

const TOP = 25;
/** Columns drawn at most: minutes are summed into wider buckets past this (7 days are 10,080 minutes). */
const MAX_COLUMNS = 240;
const MINUTE_MS = 60_000;
const RANGES = [['15m', 15 * MINUTE_MS], ['1h', 60 * MINUTE_MS], ['24h', 1440 * MINUTE_MS], ['7d', 7 * 1440 * MINUTE_MS]] as const;
const GROUPS = ['prefix', 'country', 'port', 'remote-port'] as const;
const MEASURES = ['opened', 'closed', 'resets', 'retransmits', 'failed'] as const;
type Group = (typeof GROUPS)[number];
type Measure = (typeof MEASURES)[number];

interface PeerRow extends RollupRow {
  /** From the agent's GeoIP file; absent without one, null where the file has no country. */
  readonly country?: string | null;
}

interface RollupReply {
  readonly from: number;
  readonly to: number;
  readonly stepMs: number;
  readonly geoip: { readonly file: string } | null;
  readonly rows: readonly PeerRow[];
}

/** What each grouping reads (its rollups) and how its tables are headed. */
interface GroupView {
  readonly by: RollupBy;
  readonly explain: MessageKey;
  readonly head: MessageKey;
  readonly none: MessageKey;
  /**
   * The table of the keys in each group (addresses, listeners) and its headings; null where the
   * groups are the keys (one row per remote port already: the table would repeat them).
   */
  readonly keys: { readonly count: MessageKey; readonly top: MessageKey; readonly head: MessageKey } | null;
}

const ADDRESS_KEYS = { count: 'peers.addresses', top: 'peers.topAddresses', head: 'peers.address' } as const;
const GROUP_VIEWS: Readonly<Record<Group, GroupView>> = {
  prefix: { by: 'peer', explain: 'peers.explainPrefix', head: 'peers.prefix', none: 'peers.none', keys: ADDRESS_KEYS },
  country: { by: 'peer', explain: 'peers.explainCountry', head: 'peers.country', none: 'peers.none', keys: ADDRESS_KEYS },
  port: { by: 'listener', explain: 'peers.explainPort', head: 'peers.port', none: 'peers.noListeners', keys: { count: 'peers.listeners', top: 'peers.topListeners', head: 'peers.listener' } },
  'remote-port': { by: 'remote-port', explain: 'peers.explainRemotePort', head: 'peers.remotePort', none: 'peers.noRemotePorts', keys: null },
};

/** The group a row belongs to: its prefix, its country (?? when the file has none for it), its listener's port, or its remote port (the key). */
function groupOf(row: PeerRow, group: Group): string {
  if (row.key === OTHER_KEY) return OTHER_KEY;
  if (group === 'remote-port') return row.key;
  if (group === 'country') return row.country ?? '??';
  // A listener's key is its endpoint, 0.0.0.0:443 or [::]:443.
  if (group === 'port') return row.key.slice(row.key.lastIndexOf(':') + 1);
  return prefixOf(row.key, row.key.includes(':') && !/^::ffff:\d/i.test(row.key) ? 6 : 4);
}

function regionName(code: string): string {
  try {
    return new Intl.DisplayNames([currentLang()], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

function label(key: string, group: Group): string {
  if (key === OTHER_KEY) return t(group === 'remote-port' ? 'peers.otherPorts' : 'peers.other');
  if (group === 'country') return key === '??' ? t('peers.unknownCountry') : `${key} · ${regionName(key)}`;
  return key;
}

interface Totals {
  peers: Set<string>;
  opened: number;
  closed: number;
  resets: number;
  retransmits: number;
  failed: number;
}

const zero = (): Totals => ({ peers: new Set(), opened: 0, closed: 0, resets: 0, retransmits: 0, failed: 0 });

function add(into: Totals, r: PeerRow): void {
  into.peers.add(r.key);
  for (const m of MEASURES) into[m] += r[m];
}

const link = (params: URLSearchParams, key: string, value: string): string => {
  const p = new URLSearchParams(params);
  p.set(key, value);
  return `#/peers?${p.toString()}`;
};

export const peers: Page = {
  path: 'peers',
  title: 'nav.peers',
  mount(root, params) {
    const range = RANGES.find((r) => r[0] === params.get('range')) ?? RANGES[1];
    const group: Group = (GROUPS as readonly string[]).includes(params.get('group') ?? '') ? (params.get('group') as Group) : 'prefix';
    const { by, explain, head: groupHead, none: noRows, keys } = GROUP_VIEWS[group];
    const measure: Measure = (MEASURES as readonly string[]).includes(params.get('measure') ?? '') ? (params.get('measure') as Measure) : 'opened';
    const picker = <T extends string>(key: string, values: readonly T[], current: T, labelKey: MessageKey, text: (v: T) => string) =>
      h('div', { class: 'range', role: 'group', 'aria-label': t(labelKey), 'data-testid': `peers-${key}` },
        ...values.map((v) => h('a', { href: link(params, key, v), class: v === current ? 'active' : '', 'aria-current': v === current ? 'true' : undefined, [`data-${key}`]: v }, text(v))));
    const canvas = h('canvas', { 'data-testid': 'peers-heatmap', role: 'img', 'aria-label': t('peers.title') });
    const note = h('div', {});
    const groupsBody = h('tbody', { 'data-testid': 'peer-groups' });
    const peersBody = h('tbody', { 'data-testid': 'peer-addresses' });
    const portsBody = h('tbody', { 'data-testid': 'peer-ports' });
    const measureHead = () => MEASURES.map((m) => h('th', { class: 'right' }, t(`peers.measure.${m}` as MessageKey)));
    root.append(
      h('div', { class: 'toolbar' },
        picker('range', RANGES.map((r) => r[0]), range[0], 'range.label', (v) => t(`range.${v}` as MessageKey)),
        picker('group', GROUPS, group, 'peers.groupBy', (v) => t(`peers.group.${v}` as MessageKey)),
        picker('measure', MEASURES, measure, 'peers.measure', (v) => t(`peers.measure.${v}` as MessageKey))),
      section(t('peers.title'), h('p', { class: 'muted' }, t(explain)), note, h('div', { class: 'heat' }, canvas)),
      h('div', { class: keys === null ? '' : 'grid2' },
        section(t('peers.topGroups'), h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, t(groupHead)), keys === null ? null : h('th', { class: 'right' }, t(keys.count)), ...measureHead())), groupsBody)),
        keys === null ? null : section(t(keys.top), h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, t(keys.head)), h('th', {}, t(groupHead)), ...measureHead())), peersBody))),
      section(t('peers.ports'), h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, t('peers.port')), h('th', { class: 'right' }, t('peers.connections')))), portsBody)),
    );

    const draw = (reply: RollupReply) => {
      clear(note);
      if (group === 'country' && reply.geoip === null) note.append(empty(t('peers.noGeoip')));
      if (reply.rows.length === 0) note.append(empty(t(noRows)));
      const byGroup = new Map<string, Totals>();
      const byPeer = new Map<string, Totals>();
      for (const r of reply.rows) {
        const g = groupOf(r, group);
        let gt = byGroup.get(g);
        if (gt === undefined) byGroup.set(g, (gt = zero()));
        add(gt, r);
        let pt = byPeer.get(r.key);
        if (pt === undefined) byPeer.set(r.key, (pt = zero()));
        add(pt, r);
      }
      const top = [...byGroup.entries()].filter(([, v]) => v[measure] > 0).sort((a, b) => b[1][measure] - a[1][measure]).slice(0, TOP);
      // Columns: every minute of the range (empty ones too), summed into buckets past MAX_COLUMNS.
      const first = Math.floor(reply.from / MINUTE_MS) * MINUTE_MS;
      const minutes = Math.max(1, Math.ceil((reply.to - first) / MINUTE_MS));
      const per = Math.ceil(minutes / MAX_COLUMNS);
      const columns = Array.from({ length: Math.ceil(minutes / per) }, (_, i) => first + i * per * MINUTE_MS);
      const rowIndex = new Map(top.map(([k], i) => [k, i]));
      const values = top.map(() => new Array<number>(columns.length).fill(0));
      for (const r of reply.rows) {
        const i = rowIndex.get(groupOf(r, group));
        const c = Math.floor((r.ts - first) / (per * MINUTE_MS));
        if (i !== undefined && c >= 0 && c < columns.length) values[i]![c]! += r[measure];
      }
      drawHeatmap(canvas, { rows: top.map(([k]) => label(k, group)), columns, values }, time);
      canvas.dataset.rows = JSON.stringify(top.map(([k]) => k));
      const cells = (v: Totals) => MEASURES.map((m) => h('td', { class: 'right', [`data-${m}`]: v[m] }, num(v[m])));
      clear(groupsBody);
      for (const [k, v] of top) groupsBody.append(h('tr', { 'data-group': k, 'data-peers': v.peers.size }, h('td', { translate: k === OTHER_KEY ? undefined : 'no' }, label(k, group)), keys === null ? null : h('td', { class: 'right' }, num(v.peers.size)), ...cells(v)));
      clear(peersBody);
      const topPeers = [...byPeer.entries()].filter(([k, v]) => k !== OTHER_KEY && v[measure] > 0).sort((a, b) => b[1][measure] - a[1][measure]).slice(0, TOP);
      const rowOf = new Map(reply.rows.map((r) => [r.key, r]));
      for (const [k, v] of topPeers) peersBody.append(h('tr', { 'data-peer': k }, h('td', { translate: 'no' }, k), h('td', { translate: 'no' }, label(groupOf(rowOf.get(k)!, group), group)), ...cells(v)));
    };

    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const to = Date.now();
        const reply = await get<RollupReply>(`/api/v1/rollups?by=${by}&from=${to - range[1]}&to=${to}&limit=100000`);
        if (stopped) return;
        if (reply === null) {
          clear(note);
          note.append(unsupported('/api/v1/rollups'));
        } else draw(reply);
      } catch (e: unknown) {
        clear(note);
        note.append(errorNote(e));
      }
      if (!stopped) timer = window.setTimeout(() => void load(), 10_000);
    };
    const loadPorts = async () => {
      try {
        const r = await get<{ connections: TcpSocket[] }>('/api/v1/connections?state=connected&limit=100000');
        if (stopped || r === null) return;
        const counts = new Map<number, number>();
        for (const c of r.connections) counts.set(c.remote.port, (counts.get(c.remote.port) ?? 0) + 1);
        clear(portsBody);
        for (const [port, n] of [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) portsBody.append(h('tr', { 'data-port': port, 'data-count': n }, h('td', { translate: 'no' }, String(port)), h('td', { class: 'right' }, num(n))));
      } catch (e: unknown) {
        clear(portsBody);
        portsBody.append(h('tr', {}, h('td', { colspan: 2 }, errorNote(e))));
      }
    };
    const unmountFingerprints = fingerprints(root);
    void load();
    void loadPorts();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      unmountFingerprints();
    };
  },
};
