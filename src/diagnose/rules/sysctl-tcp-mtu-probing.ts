/**
 * sysctl-tcp_mtu_probing: path MTU probing off while connections stall in a black hole.
 *
 * Why it fires: with net.ipv4.tcp_mtu_probing=0 (the default) Linux relies on ICMP alone to learn
 * a smaller path MTU; with 1 it starts packetization-layer probing (RFC 4821) once it detects a
 * black hole (repeated RTOs, tcp_mtu_probing() in net/ipv4/tcp_timer.c) and shrinks the MSS until
 * segments get through. Fires only when mtu-blackhole's evidence is present (stalled full-size
 * segments, path alive).
 */
import { sysctlAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { stalledLargeSegments } from './mtu-blackhole.js';

export const sysctlTcpMtuProbing: Rule = {
  id: 'sysctl-tcp_mtu_probing',
  summary: 'tcp_mtu_probing off while connections stall resending full-size segments',
  needs: ['sockets', 'tcpInfo', 'sysctls'],
  evaluate({ view, thresholds }) {
    const current = view.sysctlText('net.ipv4.tcp_mtu_probing');
    const stalled = stalledLargeSegments(view, thresholds.stall_rto_min).filter((x) => x.pathAlive);
    const measure = `net.ipv4.tcp_mtu_probing (connections stalled on full-size segments: ${stalled.length})`;
    if (current !== '0' || stalled.length === 0) return { value: current, threshold: '1', measure, findings: [] };
    const peers = [...new Set(stalled.map((x) => x.socket.remote.address))];
    return {
      value: current,
      threshold: '1',
      measure,
      findings: [{
        severity: 'warning',
        title: `tcp_mtu_probing is off while ${stalled.length} connections to ${peers.join(', ')} stall on full-size segments`,
        subject: 'net.ipv4.tcp_mtu_probing',
        explanation: 'With probing off, the kernel lowers the segment size only when an ICMP fragmentation-needed message arrives; on a path that filters it, connections stay stuck.',
        evidence: { tcpMtuProbing: current, stalledConnections: stalled.length, peers },
        advice: [sysctlAdvice('net.ipv4.tcp_mtu_probing', current, '1', 'Probe only after a black hole is detected (1). Fix the ICMP filtering too: probing recovers slowly, after several timeouts.')],
      }],
    };
  },
};
