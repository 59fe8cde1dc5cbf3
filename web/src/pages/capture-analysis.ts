/**
 * The analysis of one capture as `tcpdiag analyze --json` gives it (a recording's stored
 * analysis, or an uploaded file's): the totals, Wireshark's verdicts, Zeek's conn_state counts,
 * the per-second timeline of control packets, the findings of diagnose's rules, and the
 * per-connection table with conn_state, history and each connection's verdicts.
 */
import type { AnalysisReport, AnalysisSummary, ConnectionReport, EndpointJson } from '../../../src/model/capture-report.js';
import { bySeverity } from '../../../src/model/finding.js';
import type { MessageKey } from '../catalogue.js';
import { Chart } from '../chart.js';
import { h } from '../dom.js';
import { num, t } from '../i18n.js';
import { findingCard } from './alerts.js';
import { empty } from './common.js';

/** Wireshark's tcp.analysis.* verdicts, per connection and in the summary, and the ICMP errors that quote a connection. */
const VERDICTS = ['retransmissions', 'fastRetransmissions', 'spuriousRetransmissions', 'duplicateAcks', 'zeroWindows', 'outOfOrder', 'lostSegments', 'keepAlives'] as const satisfies readonly (keyof AnalysisSummary & keyof ConnectionReport)[];

/** Zeek's conn_state values (base/protocols/conn/main.zeek), each with its meaning for a tooltip. */
const CONN_STATES = new Set(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']);

const TIMELINE = [
  ['syn', 'series.syn', '#2563eb'], ['synAck', 'series.synAck', '#0d9488'], ['fin', 'series.fin', '#9333ea'],
  ['rst', 'series.rst', '#dc2626'], ['retransmissions', 'series.retransmissions', '#ea580c'], ['icmpErrors', 'series.icmpErrors', '#ca8a04'],
] as const;

function stateTitle(state: string): string | undefined {
  return CONN_STATES.has(state) ? t(`connState.${state}` as MessageKey) : undefined;
}

function endpoint(e: EndpointJson, family: 4 | 6): string {
  return family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

function countBox(key: string, label: string, value: number, title?: string): HTMLElement {
  return h('div', { class: 'count', 'data-key': key, 'data-value': value, title }, h('span', { class: 'n' }, num(value)), h('span', { class: 'label' }, label));
}

/** Each non-zero verdict of a connection as `label N`, marked for the end-to-end test. */
function connVerdicts(c: ConnectionReport): HTMLElement {
  const parts: HTMLElement[] = [];
  for (const v of VERDICTS) {
    if (c[v] > 0) parts.push(h('span', { class: 'verdict', 'data-verdict': v, 'data-value': c[v] }, `${t(`verdict.${v}`)} ${num(c[v])}`));
  }
  const icmp = c.icmpErrors.reduce((n, e) => n + e.count, 0);
  if (icmp > 0) parts.push(h('span', { class: 'verdict', 'data-verdict': 'icmpErrors', 'data-value': icmp, title: c.icmpErrors.map((e) => `${e.name} ×${e.count}`).join(', ') }, `${t('verdict.icmpErrors')} ${num(icmp)}`));
  return h('td', { 'data-testid': 'conn-verdicts' }, ...(parts.length === 0 ? [h('span', { class: 'muted' }, t('analysis.noVerdicts'))] : parts));
}

function connRow(c: ConnectionReport): HTMLElement {
  const flagged = VERDICTS.some((v) => c[v] > 0 && v !== 'keepAlives') || c.resetBy !== null || c.icmpErrors.length > 0;
  return h('tr', { 'data-conn': c.id, class: flagged ? 'bad' : '' },
    h('td', { class: 'right' }, String(c.id)),
    h('td', { translate: 'no' }, endpoint(c.client, c.family)),
    h('td', { translate: 'no' }, endpoint(c.server, c.family)),
    h('td', { translate: 'no', 'data-state': c.state, title: stateTitle(c.state) }, c.state),
    h('td', { translate: 'no', class: 'mono', 'data-history': c.history }, c.history),
    h('td', { translate: 'no' }, c.start),
    h('td', { class: 'right' }, num(c.durationMs, 1)),
    h('td', { class: 'right' }, `${num(c.packets.client)} / ${num(c.packets.server)}`),
    h('td', { class: 'right' }, `${num(c.payloadBytes.client)} / ${num(c.payloadBytes.server)}`),
    h('td', { class: 'right' }, c.handshakeRttMs === null ? '—' : num(c.handshakeRttMs, 3)),
    connVerdicts(c));
}

/** Draws `report` into `root` (already in the document: the chart measures its width); returns its cleanup. */
export function drawAnalysis(root: HTMLElement, report: AnalysisReport): () => void {
  const s = report.summary;
  const totals = h('div', { class: 'counts', 'data-testid': 'analysis-summary' },
    countBox('packets', t('analysis.packets'), report.packets), countBox('tcpPackets', t('analysis.tcpPackets'), report.tcpPackets),
    countBox('bytes', t('analysis.bytes'), report.bytes), countBox('durationS', t('analysis.duration'), report.durationS),
    h('div', { class: 'count', 'data-key': 'connections', 'data-value': s.connections, 'data-testid': 'analysis-connections' }, h('span', { class: 'n' }, num(s.connections)), h('span', { class: 'label' }, t('analysis.connections'))),
    countBox('streams', t('analysis.streams'), s.streams), countBox('handshakesCompleted', t('analysis.handshakesCompleted'), s.handshakesCompleted),
    countBox('handshakesFailed', t('analysis.handshakesFailed'), s.handshakesFailed));
  const verdicts = h('div', { class: 'counts', 'data-testid': 'analysis-verdicts' },
    ...VERDICTS.map((v) => countBox(v, t(`verdict.${v}`), s[v])), countBox('icmpErrors', t('verdict.icmpErrors'), s.icmpErrors));
  const states = Object.entries(report.connStates).sort((a, b) => b[1] - a[1]);
  const stateBox = h('div', { class: 'counts', 'data-testid': 'analysis-states' },
    ...states.map(([state, n]) => h('div', { class: 'count', 'data-state': state, 'data-value': n, title: stateTitle(state) }, h('span', { class: 'n' }, num(n)), h('span', { class: 'label', translate: 'no' }, state))));
  const chartBox = h('div', { 'data-testid': 'analysis-timeline' });
  const findings = [...report.findings].sort(bySeverity);
  const listed = report.connections;
  root.append(
    report.error === null ? '' : h('p', { class: 'error', role: 'alert' }, t('captures.damaged', { packet: report.error.afterPacket }), ' ', h('span', { translate: 'no' }, `${report.error.code}: ${report.error.message}`)),
    totals,
    h('h3', {}, t('analysis.verdicts')), verdicts,
    h('h3', {}, t('analysis.connStates')), states.length === 0 ? empty(t('common.none')) : stateBox,
    h('h3', {}, t('analysis.timeline')), chartBox,
    h('h3', {}, t('analysis.findings')), h('div', { 'data-testid': 'analysis-findings' }, ...(findings.length === 0 ? [empty(t('analysis.noFindings'))] : findings.map(findingCard))),
    h('h3', {}, t('analysis.connTable', { listed: listed.length, total: s.connections })),
    h('p', { class: 'muted' }, t('analysis.historyHelp')),
    listed.length === 0 ? empty(t('common.none')) : h('div', { class: 'scroll-x' }, h('table', { class: 'table', 'data-testid': 'analysis-conns' },
      h('thead', {}, h('tr', {}, ...['#', t('analysis.client'), t('analysis.server'), t('analysis.state'), t('analysis.history'), t('analysis.start'), t('analysis.durationMs'), t('analysis.packetsCS'), t('analysis.bytesCS'), t('analysis.rtt'), t('analysis.connVerdicts')].map((c) => h('th', {}, c)))),
      h('tbody', {}, ...listed.map(connRow)))));
  if (report.timeline.length === 0) {
    chartBox.append(empty(t('analysis.noTimeline')));
    return () => undefined;
  }
  const chart = new Chart(chartBox, '', TIMELINE.map(([, label, color]) => ({ label: t(label), color })));
  chart.setData(report.timeline.map((b) => b.t), TIMELINE.map(([key]) => report.timeline.map((b) => b[key])));
  return () => chart.destroy();
}
