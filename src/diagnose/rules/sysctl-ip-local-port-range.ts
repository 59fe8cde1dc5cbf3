/**
 * sysctl-ip_local_port_range: a narrowed ephemeral range that a destination is running out of.
 *
 * Why it fires: the kernel default is 32768-60999 (28232 ports, inet_init_net() in
 * net/ipv4/af_inet.c). A range narrower than that, with a destination using capacity_percent of
 * it, is a setting that contradicts the traffic; a default range under the same pressure is the
 * port-exhaustion finding alone.
 */
import { sysctlAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { destinationPorts } from './port-exhaustion.js';

const DEFAULT_RANGE_SIZE = 60999 - 32768 + 1;

export const sysctlIpLocalPortRange: Rule = {
  id: 'sysctl-ip_local_port_range',
  summary: 'a narrowed ip_local_port_range that a destination is running out of',
  needs: ['sockets', 'sysctls'],
  logPatterns: [/cannot assign requested address|EADDRNOTAVAIL/i],
  evaluate({ view, thresholds }) {
    const range = view.portRange;
    if (range === null) return { skip: 'net.ipv4.ip_local_port_range could not be read' };
    const current = view.sysctlText('net.ipv4.ip_local_port_range');
    const crowded = destinationPorts(view).filter((d) => d.usedPercent >= thresholds.capacity_percent);
    const measure = `ports in net.ipv4.ip_local_port_range (default ${DEFAULT_RANGE_SIZE})`;
    if (range.size >= DEFAULT_RANGE_SIZE || crowded.length === 0) return { value: range.size, threshold: DEFAULT_RANGE_SIZE, measure, findings: [] };
    return {
      value: range.size,
      threshold: DEFAULT_RANGE_SIZE,
      measure,
      findings: [{
        severity: 'warning',
        title: `ip_local_port_range is narrowed to ${range.size} ports (${current}) and ${crowded[0]!.destination} uses ${crowded[0]!.usedPercent}% of it`,
        subject: 'net.ipv4.ip_local_port_range',
        explanation: `The ephemeral range was set below the kernel default of ${DEFAULT_RANGE_SIZE} ports, and outgoing connections to ${crowded.length === 1 ? 'a destination' : `${crowded.length} destinations`} now nearly fill it.`,
        evidence: { current, size: range.size, defaultSize: DEFAULT_RANGE_SIZE, destinations: crowded.slice(0, 5).map((d) => ({ destination: d.destination, portsInUse: d.used, usedPercent: d.usedPercent })) },
        advice: [sysctlAdvice('net.ipv4.ip_local_port_range', current, '32768 60999', 'Give connect() the default range back (or wider). If it was narrowed to keep ports free for listeners, reserve those with net.ipv4.ip_local_reserved_ports instead.')],
      }],
    };
  },
};
