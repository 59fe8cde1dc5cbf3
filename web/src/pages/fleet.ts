/**
 * Fleet: many agents at once, from the engines they export to (GET /api/v1/fleet/hosts from
 * the metrics store, GET /api/v1/fleet/events from ClickHouse): hosts with their health and
 * firing alerts, and the event questions (resets from a peer, listener overflows, peers that
 * carry retransmissions) over one time range. The range and the question's inputs live in the
 * URL (#/fleet?since=1h&peer=10.0.3.7), so a view can be shared. An engine not configured says
 * which setting to make; one that fails says so, per section.
 */
import type { FleetHost, HostTally, PeerTally } from '../../../src/model/fleet.js';
import type { MessageKey } from '../catalogue.js';
import { h, clear } from '../dom.js';
import { dateTime, num, t } from '../i18n.js';
import { ApiError, get } from '../api.js';
import type { Page } from './page.js';
import { empty, errorNote, section, unsupported } from './common.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;
type Range = (typeof RANGES)[number];
const RANGE_KEY: Readonly<Record<Range, MessageKey>> = { '15m': 'fleet.range.15m', '1h': 'fleet.range.1h', '6h': 'fleet.range.6h', '24h': 'fleet.range.24h', '7d': 'fleet.range.7d' };
const RANGE_SINCE: Readonly<Record<Range, string>> = { '15m': '15m', '1h': '1h', '6h': '6h', '24h': '24h', '7d': '168h' };
const HEALTH_KEY: Readonly<Record<FleetHost['health'], MessageKey>> = { ok: 'fleet.health.ok', degraded: 'fleet.health.degraded', down: 'fleet.health.down', stale: 'fleet.health.stale' };

/** A section's failure: which engine to configure, an engine that failed, or the agent's own error. */
function failure(error: unknown, engine: 'prometheus' | 'clickhouse'): HTMLElement {
  if (error instanceof ApiError && error.code === 'TCPDIAG_NOT_CONFIGURED') return h('p', { class: 'error', role: 'alert', 'data-testid': `fleet-not-configured-${engine}` }, t(engine === 'prometheus' ? 'fleet.notConfigured.prometheus' : 'fleet.notConfigured.clickhouse'));
  if (error instanceof ApiError && error.code === 'TCPDIAG_ENGINE_FAILED') return h('p', { class: 'error', role: 'alert', 'data-testid': `fleet-engine-failed-${engine}` }, t('fleet.engineFailed', { message: error.message }));
  return errorNote(error);
}

function when(iso: string | null): string {
  return iso === null ? '' : dateTime(Date.parse(iso));
}

function table(testId: string, headers: readonly MessageKey[], body: HTMLElement): HTMLElement {
  return h('table', { class: 'table', 'data-testid': testId }, h('thead', {}, h('tr', {}, ...headers.map((k) => h('th', {}, t(k))))), body);
}

function tallyRows(body: HTMLElement, rows: readonly HostTally[]): void {
  for (const r of rows) body.append(h('tr', { 'data-host': r.host }, h('td', { translate: 'no' }, r.host), h('td', { class: 'right' }, num(r.events)), h('td', { class: 'mono' }, r.kinds.join(', ')), h('td', {}, when(r.first)), h('td', {}, when(r.last))));
}

export const fleet: Page = {
  path: 'fleet',
  title: 'nav.fleet',
  mount(root, params) {
    const range: Range = (RANGES as readonly string[]).includes(params.get('range') ?? '') ? (params.get('range') as Range) : '1h';
    const since = RANGE_SINCE[range];
    const rangeSel = h('select', { 'aria-label': t('fleet.range'), 'data-testid': 'fleet-range' }, ...RANGES.map((r) => h('option', { value: r }, t(RANGE_KEY[r]))));
    rangeSel.value = range;
    const peer = h('input', { type: 'text', size: 28, placeholder: t('fleet.peerPlaceholder'), 'aria-label': t('fleet.peer'), 'data-testid': 'fleet-peer', translate: 'no' });
    peer.value = params.get('peer') ?? '';
    const listener = h('input', { type: 'text', size: 28, placeholder: t('fleet.listenerPlaceholder'), 'aria-label': t('fleet.listener'), 'data-testid': 'fleet-listener', translate: 'no' });
    listener.value = params.get('listener') ?? '';
    // Asking writes the inputs into the URL; the hash change mounts the page again with them.
    const ask = () => {
      const q = new URLSearchParams({ range: rangeSel.value });
      if (peer.value.trim() !== '') q.set('peer', peer.value.trim());
      if (listener.value.trim() !== '') q.set('listener', listener.value.trim());
      location.hash = `#/fleet?${q.toString()}`;
    };
    rangeSel.addEventListener('change', ask);
    const askButton = (testId: string) => h('button', { type: 'button', 'data-testid': testId, onclick: ask }, t('fleet.ask'));

    const hostsBody = h('tbody', {});
    const hostsNote = h('div', {});
    const resetsBody = h('tbody', {});
    const resetsNote = h('div', {});
    const overflowsBody = h('tbody', {});
    const overflowsNote = h('div', {});
    const retransBody = h('tbody', {});
    const retransNote = h('div', {});
    root.append(
      h('div', { class: 'toolbar' }, h('label', {}, t('fleet.range'), ' ', rangeSel)),
      section(t('fleet.hosts'), h('p', { class: 'muted' }, t('fleet.hostsExplain')), hostsNote,
        table('fleet-hosts', ['fleet.host', 'fleet.health', 'fleet.score', 'fleet.firing', 'fleet.established', 'fleet.retransPerS', 'fleet.lastSample'], hostsBody)),
      section(t('fleet.resets'), h('div', { class: 'toolbar' }, peer, askButton('fleet-ask-resets')), resetsNote,
        table('fleet-resets', ['fleet.host', 'fleet.events', 'fleet.kinds', 'fleet.first', 'fleet.last'], resetsBody)),
      section(t('fleet.overflows'), h('div', { class: 'toolbar' }, listener, askButton('fleet-ask-overflows')), overflowsNote,
        table('fleet-overflows', ['fleet.host', 'fleet.events', 'fleet.kinds', 'fleet.first', 'fleet.last'], overflowsBody)),
      section(t('fleet.retrans'), retransNote, table('fleet-retrans', ['fleet.peer', 'fleet.events', 'fleet.hostsOfPeer', 'fleet.last'], retransBody)),
    );
    let stopped = false;
    const settle = (note: HTMLElement, body: HTMLElement, child: HTMLElement | null) => {
      if (stopped) return false;
      clear(note);
      clear(body);
      if (child !== null) note.append(child);
      return true;
    };
    const hostsPath = `/api/v1/fleet/hosts?since=${since}`;
    get<{ hosts: FleetHost[] }>(hostsPath).then((r) => {
      if (!settle(hostsNote, hostsBody, r === null ? unsupported(hostsPath) : r.hosts.length === 0 ? empty(t('fleet.noHosts')) : null) || r === null) return;
      for (const x of r.hosts) {
        const firing = Object.entries(x.firing).map(([sev, n]) => `${sev}: ${num(n)}`).join(' ');
        hostsBody.append(h('tr', { 'data-host': x.host, 'data-health': x.health, 'data-firing': firing },
          h('td', { translate: 'no' }, x.host),
          h('td', { class: `health ${x.health}` }, t(HEALTH_KEY[x.health])),
          h('td', { class: 'right' }, x.score === null ? '' : num(x.score)),
          h('td', {}, firing === '' ? t('fleet.noneFiring') : firing),
          h('td', { class: 'right' }, x.established === null ? '' : num(x.established)),
          h('td', { class: 'right' }, x.retransmitsPerS === null ? '' : num(x.retransmitsPerS, 2)),
          h('td', {}, when(x.lastSampleAt))));
      }
    }, (e: unknown) => settle(hostsNote, hostsBody, failure(e, 'prometheus')));

    const peerText = peer.value.trim();
    const resetsPath = `/api/v1/fleet/events?question=resets&since=${since}${peerText === '' ? '' : `&peer=${encodeURIComponent(peerText)}`}`;
    get<{ hosts: HostTally[] }>(resetsPath).then((r) => {
      const none = empty(t('fleet.noResets', { peer: peerText === '' ? '' : t('fleet.withPeer', { peer: peerText }) }));
      if (settle(resetsNote, resetsBody, r === null ? unsupported(resetsPath) : r.hosts.length === 0 ? none : null) && r !== null) tallyRows(resetsBody, r.hosts);
    }, (e: unknown) => settle(resetsNote, resetsBody, failure(e, 'clickhouse')));

    const listenerText = listener.value.trim();
    const overflowsPath = `/api/v1/fleet/events?question=overflows&since=${since}${listenerText === '' ? '' : `&listener=${encodeURIComponent(listenerText)}`}`;
    get<{ hosts: HostTally[] }>(overflowsPath).then((r) => {
      if (settle(overflowsNote, overflowsBody, r === null ? unsupported(overflowsPath) : r.hosts.length === 0 ? empty(t('fleet.noOverflows')) : null) && r !== null) tallyRows(overflowsBody, r.hosts);
    }, (e: unknown) => settle(overflowsNote, overflowsBody, failure(e, 'clickhouse')));

    const retransPath = `/api/v1/fleet/events?question=retrans&since=${since}`;
    get<{ peers: PeerTally[] }>(retransPath).then((r) => {
      if (!settle(retransNote, retransBody, r === null ? unsupported(retransPath) : r.peers.length === 0 ? empty(t('fleet.noRetrans')) : null) || r === null) return;
      for (const p of r.peers) {
        retransBody.append(h('tr', { 'data-peer': p.peer, 'data-hosts': p.hosts.map((x) => x.host).join(' ') },
          h('td', { translate: 'no' }, p.peer),
          h('td', { class: 'right' }, num(p.events)),
          h('td', { translate: 'no' }, p.hosts.map((x) => `${x.host} (${num(x.events)})`).join(', ')),
          h('td', {}, when(p.last))));
      }
    }, (e: unknown) => settle(retransNote, retransBody, failure(e, 'clickhouse')));

    return () => {
      stopped = true;
    };
  },
};
