/** Human-readable rendering of an analysis report (the CLI prints it; this only builds text). */
import { humanNumber, renderTable } from '../table.js';
import type { AnalysisReport, ConnectionReport } from '../../analysis/pcap/report-types.js';

const ep = (e: { address: string; port: number }): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

export function renderAnalysisText(r: AnalysisReport, maxRows = 30): string {
  const s = r.summary;
  const lines: string[] = [];
  lines.push(`${r.file ?? 'capture'}: ${r.format ?? '?'} (${r.linkTypes.join(', ') || 'no interfaces'}), ${r.packets} packets (${r.tcpPackets} TCP), ${humanNumber(r.bytes, true)}B, ${r.durationS} s`);
  if (r.firstPacket !== null) lines.push(`from ${r.firstPacket} to ${r.lastPacket ?? ''}`);
  lines.push('');
  lines.push(`connections ${s.connections}   handshakes completed ${s.handshakesCompleted}, failed ${s.handshakesFailed}   states ${Object.entries(r.connStates).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  lines.push(`SYN ${s.syn}  SYN-ACK ${s.synAck}  FIN ${s.fin}  RST ${s.rst}  ICMP errors ${s.icmpErrors}`);
  lines.push(`retransmissions ${s.retransmissions} (fast ${s.fastRetransmissions}, spurious ${s.spuriousRetransmissions})  dup ACKs ${s.duplicateAcks}  zero windows ${s.zeroWindows}  out-of-order ${s.outOfOrder}  lost segments ${s.lostSegments}  keep-alives ${s.keepAlives}`);
  if (r.rtt.handshakeMs !== null) lines.push(`handshake RTT ms: min ${r.rtt.handshakeMs.min} avg ${r.rtt.handshakeMs.avg} p95 ${r.rtt.handshakeMs.p95} max ${r.rtt.handshakeMs.max}`);
  if (r.rtt.dataMs !== null) lines.push(`data RTT ms:      min ${r.rtt.dataMs.min} avg ${r.rtt.dataMs.avg} p95 ${r.rtt.dataMs.p95} max ${r.rtt.dataMs.max}`);
  lines.push('');
  const rows = [...r.connections].sort((a, b) => trouble(b) - trouble(a) || a.id - b.id).slice(0, maxRows);
  if (rows.length > 0) {
    lines.push(`connections (${rows.length} of ${s.connections}, most troubled first):`);
    const extra: Array<{ header: string; value: (c: ConnectionReport) => string }> = [];
    if (rows.some((c) => c.icmpErrors.length > 0)) extra.push({ header: 'icmp', value: icmpCell });
    if (rows.some((c) => c.encapsulation.length > 0)) extra.push({ header: 'encap', value: (c) => (c.encapsulation.length === 0 ? '-' : c.encapsulation.join('/')) });
    lines.push(renderTable(rows, [
      { header: '#', value: (c) => String(c.id), align: 'right' },
      { header: 'client', value: (c) => ep(c.client) },
      { header: 'server', value: (c) => ep(c.server) },
      { header: 'state', value: (c) => c.state },
      { header: 'history', value: (c) => c.history },
      { header: 'pkts c/s', value: (c) => `${c.packets.client}/${c.packets.server}`, align: 'right' },
      { header: 'bytes c/s', value: (c) => `${humanNumber(c.payloadBytes.client, true)}/${humanNumber(c.payloadBytes.server, true)}`, align: 'right' },
      { header: 'hs rtt ms', value: (c) => (c.handshakeRttMs === null ? '-' : String(c.handshakeRttMs)), align: 'right' },
      { header: 'retr', value: (c) => String(c.retransmissions), align: 'right' },
      { header: 'dupack', value: (c) => String(c.duplicateAcks), align: 'right' },
      { header: 'zwin', value: (c) => String(c.zeroWindows), align: 'right' },
      { header: 'ooo', value: (c) => String(c.outOfOrder), align: 'right' },
      { header: 'lost', value: (c) => String(c.lostSegments), align: 'right' },
      { header: 'rst', value: (c) => (c.resetBy === null ? '-' : c.resetBy), align: 'right' },
      ...extra,
    ]));
  }
  if (r.topTalkers.length > 0) {
    lines.push('top talkers:');
    for (const t of r.topTalkers.slice(0, 5)) lines.push(`  ${t.address}  ${t.packets} packets  ${humanNumber(t.bytes, true)}B payload`);
    lines.push('');
  }
  if (r.findings.length === 0) lines.push('findings: none');
  else {
    lines.push('findings:');
    for (const f of r.findings) {
      // The id is diagnose's: the same one scripts, alerts and `analyze --diagnose` match on.
      lines.push(`  [${f.severity}] ${f.id}: ${f.title}`);
      for (const a of f.advice) {
        lines.push(`      advice: ${a.text}`);
        if (a.command !== undefined) lines.push(`        $ ${a.command}`);
      }
    }
  }
  // The damage itself is the command's error (stderr), printed once after this report.
  return lines.join('\n') + '\n';
}

/** `communication-prohibited x3, fragmentation-needed (mtu 1400)` */
function icmpCell(c: ConnectionReport): string {
  if (c.icmpErrors.length === 0) return '-';
  return c.icmpErrors.map((e) => `${e.name}${e.nextHopMtu === undefined ? '' : ` (mtu ${e.nextHopMtu})`}${e.count > 1 ? ` x${e.count}` : ''}`).join(', ');
}

function trouble(c: ConnectionReport): number {
  return c.retransmissions + c.duplicateAcks + c.zeroWindows + c.outOfOrder + c.lostSegments + c.resets.client + c.resets.server + c.icmpErrors.length + (c.state === 'S0' || c.state === 'REJ' ? 1 : 0);
}
