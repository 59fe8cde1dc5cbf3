/**
 * sysctl-tcp_tw_reuse: TIME_WAIT reuse off while outgoing TIME_WAIT fills a destination's ports.
 *
 * Why it fires: with net.ipv4.tcp_tw_reuse=0 (or 2, loopback only, the default since Linux 5.7)
 * connect() will not take a port still in TIME_WAIT toward the same destination; with 1 it may
 * when TCP timestamps prove the new connection's segments cannot be confused with the old one's
 * (tcp_twsk_unique() in net/ipv4/tcp_ipv4.c; RFC 7323 PAWS). It fires only when TIME_WAIT sockets
 * this host closed as a client hold capacity_percent of the port range toward one destination.
 */
import { sysctlAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { destinationPorts } from './port-exhaustion.js';
import { percent } from '../view.js';

export const sysctlTcpTwReuse: Rule = {
  id: 'sysctl-tcp_tw_reuse',
  summary: 'tcp_tw_reuse off while outgoing TIME_WAIT fills a destination\'s ephemeral ports',
  needs: ['sockets', 'sysctls'],
  evaluate({ view, thresholds }) {
    const current = view.sysctlText('net.ipv4.tcp_tw_reuse');
    const range = view.portRange;
    if (range === null) return { skip: 'net.ipv4.ip_local_port_range could not be read' };
    const crowded = destinationPorts(view).filter((d) => d.reusableTimeWait === 0 && percent(d.timeWait, range.size) >= thresholds.capacity_percent);
    const worst = Math.max(0, ...destinationPorts(view).map((d) => (d.reusableTimeWait === 0 ? percent(d.timeWait, range.size) : 0)));
    const measure = '% of the port range held in non-reusable TIME_WAIT toward one destination';
    if (crowded.length === 0) return { value: worst, threshold: thresholds.capacity_percent, measure, findings: [] };
    const d = crowded[0]!;
    return {
      value: worst,
      threshold: thresholds.capacity_percent,
      measure,
      findings: [{
        severity: 'warning',
        title: `tcp_tw_reuse is ${current} while ${d.timeWait} TIME_WAIT ports toward ${d.destination} cannot be reused`,
        subject: 'net.ipv4.tcp_tw_reuse',
        explanation: `This host closes its connections to ${d.destination} first, so their ports wait out TIME_WAIT, and with tcp_tw_reuse=${current} connect() may not take them back: they hold ${percent(d.timeWait, range.size)}% of the ephemeral range.`,
        evidence: { tcpTwReuse: current, tcpTimestamps: view.sysctlText('net.ipv4.tcp_timestamps'), destination: d.destination, timeWait: d.timeWait, portRangeSize: range.size },
        advice: [sysctlAdvice('net.ipv4.tcp_tw_reuse', current, '1', 'Allow reuse for outgoing connections (needs tcp_timestamps=1 on both ends; it never affects incoming connections). Pooling connections removes the cause; this removes the symptom.')],
      }],
    };
  },
};
