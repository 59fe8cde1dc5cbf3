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
 * attempts that already gave up in the window. A capture shows the ICMP errors that answered
 * the SYNs too, so there the verdict is "filtered" (administratively prohibited: a firewall
 * REJECT) or "unreachable" (no route, no host) from the error itself.
 */
import type { CaptureIcmpError } from '../../model/facts.js';
import type { Advice } from '../../model/finding.js';
import type { Owner } from '../../model/process.js';
import { plural, commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, ownersEvidence, remoteText, maxOf } from '../view.js';
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
        maxSynRetransmits: maxOf(group, (s) => Math.max(s.timer.retransmits, s.tcpInfo?.retransmits ?? 0)),
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
    // SYNs sent more than once and never answered (no SYN-ACK, no RST) in the capture, and
    // segments answered by an ICMP error instead: "administratively prohibited" (and port
    // unreachable, which Linux never sends for TCP: tcp_v4_send_reset() answers a closed port)
    // is a firewall REJECT rule; net/host unreachable is a router with no way there. Linux
    // aborts a connect at once on such an error in SYN_SENT (tcp_v4_err(), net/ipv4/tcp_ipv4.c),
    // so one SYN is enough. A flood's unanswered SYNs are syn-flood's, not a client's
    // unreachable destination.
    const capture = facts.capture!;
    const flooded = new Set(floodedServices(capture).map((s) => endpointText(s.address, s.port)));
    const destinations = new Map<string, { unanswered: typeof capture.unanswered[number][]; silent: number; icmp: CaptureIcmpError[] }>();
    const entry = (destination: string): { unanswered: typeof capture.unanswered[number][]; silent: number; icmp: CaptureIcmpError[] } => {
      let d = destinations.get(destination);
      if (d === undefined) destinations.set(destination, (d = { unanswered: [], silent: 0, icmp: [] }));
      return d;
    };
    for (const h of capture.unanswered) {
      const destination = endpointText(h.server.address, h.server.port);
      if (flooded.has(destination)) continue;
      const d = entry(destination);
      d.unanswered.push(h);
      if (h.synCount >= thresholds.syn_sent_retransmits_min + 1) d.silent++;
    }
    for (const e of capture.icmpErrors) {
      if ((e.kind === 'filtered' || e.kind === 'unreachable' || e.kind === 'ttl') && !flooded.has(e.server)) entry(e.server).icmp.push(e);
    }
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [destination, d] of destinations) {
      if (d.silent === 0 && d.icmp.length === 0) continue;
      const clients = [...new Set([...d.unanswered.map((h) => h.client.address), ...d.icmp.flatMap((e) => e.senders)])];
      const icmpConnections = new Set(d.icmp.flatMap((e) => e.connections)).size;
      const attempts = d.icmp.length === 0 ? d.silent : Math.max(d.unanswered.length, icmpConnections, 1);
      worst = Math.max(worst, attempts);
      const maxSynCount = Math.max(0, ...d.unanswered.map((h) => h.synCount));
      findings.push(d.icmp.length === 0 ? silentFinding(destination, attempts, maxSynCount, clients) : icmpFinding(destination, attempts, maxSynCount, clients, d.icmp));
    }
    return { value: worst, threshold: 1, measure: `connects to one destination unanswered after ${thresholds.syn_sent_retransmits_min} SYN resends, or refused by ICMP`, findings };
  },
};

function endpointText(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function probeAdvice(destination: string): Advice {
  return commandAdvice('Test the path step by step (name, connect, TLS, HTTP), each timed:', `tcpdiag probe ${destination}`);
}

function silentFinding(destination: string, attempts: number, maxSynCount: number, clients: readonly string[]): FindingDraft {
  return {
    severity: 'warning',
    title: `${plural(attempts, 'connection attempt')} to ${destination} got no answer (SYN resent, no SYN-ACK or RST)`,
    subject: destination,
    explanation:
      `Clients sent SYNs to ${destination} up to ${maxSynCount} times and the capture holds no SYN-ACK, no reset and no ICMP error for them: ` +
      'the SYNs are dropped silently on the way (a firewall or security group that filters the port) or the host is down. This is not loss on an established path: no data was ever sent.',
    evidence: { destination, attempts, maxSynCount, clients: clients.slice(0, 10), verdict: 'filtered' },
    advice: [
      textAdvice(`Check that ${destination} is reachable and allowed: its firewall, security group or network ACL, and that the service runs there.`),
      probeAdvice(destination),
    ],
  };
}

function icmpFinding(destination: string, attempts: number, maxSynCount: number, clients: readonly string[], errors: readonly CaptureIcmpError[]): FindingDraft {
  const byCount = [...errors].sort((x, y) => y.count - x.count);
  // A rejection is the most specific answer, then no route, then a TTL that ran out.
  const main = byCount.find((e) => e.kind === 'filtered') ?? byCount.find((e) => e.kind === 'unreachable') ?? byCount[0]!;
  const total = errors.reduce((n, e) => n + e.count, 0);
  const icmp = main.family === 6 ? 'ICMPv6' : 'ICMP';
  const host = destination.slice(0, destination.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const errorsText = `${plural(total, `${icmp} error`)} (${main.name}) from ${main.from}`;
  const evidence = {
    destination,
    attempts,
    maxSynCount,
    clients: clients.slice(0, 10),
    verdict: main.kind === 'filtered' ? 'filtered' : 'unreachable',
    icmpErrors: byCount.slice(0, 10).map((e) => ({ error: e.name, type: e.type, code: e.code, from: e.from, count: e.count, connections: e.connections })),
  };
  const routeAdvice = commandAdvice(`Check the route to ${host} from the clients and from ${main.from}:`, `ip route get ${host}`);
  if (main.kind === 'filtered') {
    return {
      severity: 'warning',
      title: `connections to ${destination} rejected by a firewall: ${errorsText}`,
      subject: destination,
      explanation:
        `${main.from} answered segments toward ${destination} with ${icmp} ${main.name}: a firewall rule there rejects them (a REJECT rule; a host with the port closed answers with a TCP reset, never with ICMP). ` +
        'The client\'s connect() fails at once with EHOSTUNREACH or ECONNREFUSED; nothing reaches the service, and this is not loss on the path.',
      evidence,
      advice: [
        textAdvice(`Find the rule that rejects traffic to ${destination} on ${main.from} (its firewall, security group or network ACL) and allow the clients, or point them elsewhere if the rejection is meant.`),
        commandAdvice(`If ${main.from} is a Linux host, list its rules and look for the reject:`, 'nft list ruleset'),
        probeAdvice(destination),
      ],
    };
  }
  if (main.kind === 'ttl') {
    const ttl = main.family === 6 ? 'hop limit' : 'TTL';
    // RFC 792 type 11 code 0 / RFC 4443 type 3 code 0: a router decremented the TTL to zero.
    // Linux's tcp_v4_err() maps it to EHOSTUNREACH and aborts a connect in SYN_SENT.
    return {
      severity: 'warning',
      title: `${destination} unreachable: the ${ttl} ran out on the way, ${errorsText}`,
      subject: destination,
      explanation:
        `${main.from} discarded segments toward ${destination} because their ${ttl} reached zero there (${icmp} ${main.name}): ` +
        `the packets loop between routers (two routes that point at each other, often after a route change or a missing return route), or the sender sets a ${ttl} shorter than the path. ` +
        'The client\'s connect() fails with EHOSTUNREACH; nothing reaches the service.',
      evidence,
      advice: [
        routeAdvice,
        commandAdvice(`Follow the path hop by hop: a loop shows the same routers over and over (run it from a client):`, `tracepath -n ${host}`),
        commandAdvice('Check the TTL this host sends with (64 is Linux\'s default; a low value shortens every path):', main.family === 6 ? 'sysctl net.ipv6.conf.all.hop_limit' : 'sysctl net.ipv4.ip_default_ttl'),
      ],
    };
  }
  return {
    severity: 'warning',
    title: `${destination} unreachable: ${errorsText}`,
    subject: destination,
    explanation:
      `${main.from} could not deliver segments toward ${destination} (${icmp} ${main.name}): no route, or no answer to ARP or neighbour discovery for the next hop. ` +
      'The client\'s connect() fails with EHOSTUNREACH or ENETUNREACH.',
    evidence,
    advice: [routeAdvice, probeAdvice(destination)],
  };
}
