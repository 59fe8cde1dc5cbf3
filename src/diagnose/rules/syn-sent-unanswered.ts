/**
 * syn-sent-unanswered: connection attempts that hang in SYN_SENT.
 *
 * Why it fires: connect() sends a SYN and resends it with exponential backoff from a 1 s initial
 * RTO (TCP_TIMEOUT_INIT, include/net/tcp.h; RFC 6298 section 2.1) up to net.ipv4.tcp_syn_retries
 * times (6 by default: about 127 s before ETIMEDOUT). A SYN resent twice has had no answer for
 * 3 s — no SYN-ACK, no RST (which would mean "closed"), and when no ICMP unreachable arrived
 * either, something on the path silently drops it: a firewall DROP rule, a security group, a
 * host that is down behind a router that says nothing. The socket table shows the attempts
 * still pending (their SYN retransmit count is the timer's retransmits); kernel events add the
 * attempts that already gave up in the window.
 */
import type { Owner } from '../../model/process.js';
import { plural, commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, ownersEvidence, remoteText } from '../view.js';
import { floodedServices } from './syn-flood.js';

interface Destination {
  remote: string;
  pending: number;
  timedOut: number;
  maxSynRetransmits: number;
  processes: Array<Owner & { sockets?: number }>;
}

export const synSentUnanswered: Rule = {
  id: 'syn-sent-unanswered',
  summary: 'connects hanging in SYN_SENT with no SYN-ACK, RST or ICMP: probably filtered',
  needs: ['sockets'],
  logPatterns: [/timed? ?out|ETIMEDOUT|timeout/i, /no route to host|EHOSTUNREACH/i],
  evaluate({ view, facts, thresholds }) {
    const minRetransmits = thresholds.syn_sent_retransmits_min;
    const pending = view.byState('SYN_SENT').filter((s) => Math.max(s.timer.retransmits, s.tcpInfo?.retransmits ?? 0) >= minRetransmits);
    const destinations = new Map<string, Destination>();
    for (const [remote, group] of groupBy(pending, (s) => remoteText(s))) {
      destinations.set(remote, {
        remote,
        pending: group.length,
        timedOut: 0,
        maxSynRetransmits: Math.max(...group.map((s) => Math.max(s.timer.retransmits, s.tcpInfo?.retransmits ?? 0))),
        processes: ownersEvidence(group),
      });
    }
    for (const f of facts.events?.connectFailures ?? []) {
      if (f.reason !== 'timeout') continue;
      const remote = f.family === 6 ? `[${f.remote.address}]:${f.remote.port}` : `${f.remote.address}:${f.remote.port}`;
      const d = destinations.get(remote) ?? { remote, pending: 0, timedOut: 0, maxSynRetransmits: 0, processes: [] };
      d.timedOut += f.count;
      d.maxSynRetransmits = Math.max(d.maxSynRetransmits, f.synRetransmits);
      if (f.owner !== null && !d.processes.some((p) => p.pid === f.owner!.pid)) d.processes.push({ ...f.owner });
      destinations.set(remote, d);
    }
    const icmpUnreachable = view.delta('IcmpInDestUnreachs') + view.delta('Icmp6InDestUnreachs');
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const d of destinations.values()) {
      const attempts = d.pending + d.timedOut;
      worst = Math.max(worst, attempts);
      if (attempts === 0) continue;
      const proc = d.processes[0];
      const who = proc === undefined ? 'a client' : `${proc.process} (pid ${proc.pid})`;
      const port = d.remote.slice(d.remote.lastIndexOf(':') + 1);
      const host = d.remote.slice(0, d.remote.lastIndexOf(':')).replace(/^\[|\]$/g, '');
      findings.push({
        severity: 'warning',
        title: `${plural(attempts, 'connection attempt')} from ${who} to ${d.remote} get no answer (SYN_SENT)`,
        subject: d.remote,
        explanation:
          `${who} sent SYNs to ${d.remote} and resent them up to ${d.maxSynRetransmits} times without a SYN-ACK or a reset. ` +
          (icmpUnreachable === 0
            ? 'No ICMP unreachable arrived in the window either, so the SYNs are most likely dropped silently on the way: a firewall or security group that filters the port, or a host that is down. '
            : `${plural(icmpUnreachable, 'ICMP destination-unreachable message')} arrived in the window: the network says the destination cannot be reached. `) +
          'Each attempt blocks its caller until connect() times out (tcp_syn_retries resends, about 127 s by default) unless the application sets its own timeout.',
        evidence: {
          destination: d.remote,
          pending: d.pending,
          timedOut: d.timedOut,
          maxSynRetransmits: d.maxSynRetransmits,
          processes: d.processes,
          icmpUnreachableInWindow: icmpUnreachable,
          verdict: icmpUnreachable === 0 ? 'filtered' : 'unreachable',
          tcpSynRetries: view.sysctlNumber('net.ipv4.tcp_syn_retries'),
        },
        advice: [
          textAdvice(`Check that ${d.remote} is reachable and allowed: the destination's firewall, security group or network ACL for TCP port ${port}, and that the service runs there.`),
          commandAdvice('Test the path step by step (name, connect, TLS, HTTP), each timed:', `tcpdiag probe ${host}:${port}`),
          textAdvice('Give the client a connect timeout of a few seconds so a filtered destination fails fast instead of holding a worker for two minutes; lowering net.ipv4.tcp_syn_retries does the same host-wide, but also for destinations on lossy paths that would have answered.'),
        ],
      });
    }
    return { value: worst, threshold: 1, measure: `connects to one destination unanswered after ${minRetransmits} SYN resends`, findings };
  },
  capture({ facts, thresholds }) {
    // SYNs sent more than once and never answered (no SYN-ACK, no RST) in the capture; a flood's
    // unanswered SYNs are syn-flood's, not a client's unreachable destination.
    const capture = facts.capture!;
    const flooded = new Set(floodedServices(capture).map((s) => `${s.address}|${s.port}`));
    const hanging = capture.unanswered.filter((h) => h.synCount >= thresholds.syn_sent_retransmits_min + 1 && !flooded.has(`${h.server.address}|${h.server.port}`));
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [destination, group] of groupBy(hanging, (h) => (h.server.address.includes(':') ? `[${h.server.address}]:${h.server.port}` : `${h.server.address}:${h.server.port}`))) {
      worst = Math.max(worst, group.length);
      const clients = [...new Set(group.map((h) => h.client.address))];
      findings.push({
        severity: 'warning',
        title: `${plural(group.length, 'connection attempt')} to ${destination} got no answer (SYN resent, no SYN-ACK or RST)`,
        subject: destination,
        explanation:
          `Clients sent SYNs to ${destination} up to ${Math.max(...group.map((h) => h.synCount))} times and the capture holds no SYN-ACK and no reset for them: ` +
          'the SYNs are dropped silently on the way (a firewall or security group that filters the port) or the host is down. This is not loss on an established path: no data was ever sent.',
        evidence: { destination, attempts: group.length, maxSynCount: Math.max(...group.map((h) => h.synCount)), clients: clients.slice(0, 10), verdict: 'filtered' },
        advice: [
          textAdvice(`Check that ${destination} is reachable and allowed: its firewall, security group or network ACL, and that the service runs there.`),
          commandAdvice('Test the path step by step (name, connect, TLS, HTTP), each timed:', `tcpdiag probe ${destination}`),
        ],
      });
    }
    return { value: worst, threshold: 1, measure: `connects to one destination unanswered after ${thresholds.syn_sent_retransmits_min} SYN resends`, findings };
  },
};
