/**
 * Text for the report modes (states --stats, retrans --interval). Pure.
 */
import { renderTable } from '../table.js';
import { formatEndpoint } from '../../model/socket.js';
import type { DropSummary, RetransReport, SocketStateRow, StateStatsReport } from '../../analysis/trace/stats.js';

export function formatStateStats(report: StateStatsReport): string {
  const states = Object.entries(report.byState).sort((a, b) => b[1] - a[1]);
  const transitions = Object.entries(report.transitions).sort((a, b) => b[1] - a[1]);
  let text = `-- ${new Date(report.ts).toISOString()}  traced for ${(report.tracedForMs / 1000).toFixed(1)} s --\n`;
  text += renderTable(states, [
    { header: 'STATE', value: (r) => r[0] },
    { header: 'SOCKETS', value: (r) => r[1], align: 'right' },
  ]);
  text += '\n';
  text += transitions.length === 0
    ? 'no transitions seen yet\n'
    : renderTable(transitions, [
      { header: 'TRANSITION', value: (r) => r[0] },
      { header: 'COUNT', value: (r) => r[1], align: 'right' },
    ]);
  text += '\n';
  text += renderTable<SocketStateRow>(report.sockets, [
    { header: 'STATE', value: (r) => r.state },
    { header: 'LOCAL', value: (r) => formatEndpoint(r.local, r.family) },
    { header: 'REMOTE', value: (r) => formatEndpoint(r.remote, r.family) },
    { header: 'IN STATE', value: (r) => (r.inStateMs === null ? '?' : `${(r.inStateMs / 1000).toFixed(3)}s`), align: 'right' },
    { header: 'HOW KNOWN', value: (r) => r.known },
  ]);
  return text;
}

export function formatRetransReport(report: RetransReport): string {
  const c = report.counters;
  let text = `-- ${new Date(report.ts).toISOString()}  last ${(report.intervalMs / 1000).toFixed(1)} s --\n`;
  text += `kernel: RetransSegs ${c.RetransSegs ?? '?'} of OutSegs ${c.OutSegs ?? '?'}`;
  if (c.RetransSegs !== undefined && c.OutSegs !== undefined && c.OutSegs > 0) text += ` (${((100 * c.RetransSegs) / c.OutSegs).toFixed(2)}%)`;
  text += `, SYN/SYN-ACK ${c.TCPSynRetrans ?? '?'}, timeouts ${c.TCPTimeouts ?? '?'}, fast ${c.TCPFastRetrans ?? '?'}, D-SACKs received ${c.TCPDSACKRecv ?? '?'}\n`;
  text += `traced: data ${report.events.data}, SYN ${report.events.syn}, SYN-ACK ${report.events.synack}`;
  const errors = Object.entries(report.errors).map(([name, n]) => `${name} ${n}`).join(', ');
  text += report.events.failed > 0 ? `; failed attempts ${report.events.failed} (${errors}; kernel TCPRetransFail ${c.TCPRetransFail ?? '?'})\n` : '\n';
  if (report.connections.length > 0) {
    text += renderTable(report.connections, [
      { header: 'LOCAL', value: (r) => formatEndpoint(r.local, r.family) },
      { header: 'REMOTE', value: (r) => formatEndpoint(r.remote, r.family) },
      { header: 'SYN', value: (r) => r.syn, align: 'right' },
      { header: 'SYN-ACK', value: (r) => r.synack, align: 'right' },
      { header: 'DATA', value: (r) => r.data, align: 'right' },
      { header: 'FAILED', value: (r) => r.failed, align: 'right' },
    ]);
  }
  if (report.hiddenConnections > 0) text += `(${report.hiddenConnections} connections below --ignore hidden)\n`;
  return text + '\n';
}

export function formatDropSummary(summary: DropSummary): string {
  const rows = Object.entries(summary.reasons);
  let text = `\n-- ${summary.total} TCP drops${summary.lost > 0 ? ` (and ${summary.lost} events lost: counts are short)` : ''} --\n`;
  if (rows.length > 0) {
    text += renderTable(rows, [
      { header: 'REASON', value: (r) => r[0] },
      { header: 'DROPS', value: (r) => r[1], align: 'right' },
    ]);
  }
  return text;
}
