/**
 * keepalive: long-idle connections that a NAT or load balancer will silently forget.
 *
 * Why it fires: middleboxes keep per-connection state and drop it after an idle timeout (350 s
 * on an AWS NAT gateway, 4 min by default on Azure's load balancer). The endpoints are not told;
 * the next send meets a reset or silence, and the application sees a hang or ECONNRESET after
 * minutes. TCP keepalive (RFC 1122 section 4.2.3.6) keeps such state alive, but only when
 * SO_KEEPALIVE is set on the socket and the first probe comes sooner than the middlebox forgets:
 * Linux waits net.ipv4.tcp_keepalive_time (7200 s by default) before the first probe, far longer
 * than any NAT. Idle here is the time since anything was sent, received or acknowledged
 * (tcpi_last_data_sent, tcpi_last_data_recv, tcpi_last_ack_recv; an answered keepalive probe
 * refreshes the last), and a pending `keepalive` timer in sock_diag says SO_KEEPALIVE is on.
 * Loopback peers are left out: they cross no middlebox.
 */
import type { TcpSocket } from '../../model/socket.js';
import { humanMs, plural, sysctlAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, isLoopback, ownersEvidence, round, maxOf } from '../view.js';

function idleMs(s: TcpSocket): number | null {
  const i = s.tcpInfo;
  if (i === null) return null;
  return Math.min(i.lastSendMs, i.lastReceiveMs, i.lastAckReceiveMs);
}

export const keepalive: Rule = {
  id: 'keepalive',
  summary: 'connections idle past a NAT/LB idle timeout with keepalive off or slower than it',
  needs: ['sockets', 'tcpInfo', 'sysctls'],
  logPatterns: [/reset|ECONNRESET|broken pipe|EPIPE/i, /timed? ?out|ETIMEDOUT/i],
  evaluate({ view, thresholds }) {
    const limitMs = thresholds.nat_idle_timeout_s * 1000;
    const keepaliveTime = view.sysctlNumber('net.ipv4.tcp_keepalive_time');
    const idle = view.end.filter((s) => s.state === 'ESTABLISHED' && !isLoopback(s.remote.address) && (idleMs(s) ?? 0) >= limitMs);
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [peer, group] of groupBy(idle, (s) => s.remote.address)) {
      worst = Math.max(worst, group.length);
      if (group.length < thresholds.keepalive_min_connections) continue;
      const withKeepalive = group.filter((s) => s.timer.kind === 'keepalive').length;
      const maxIdle = maxOf(group, (s) => idleMs(s) ?? 0);
      findings.push({
        severity: 'info',
        title: `${plural(group.length, 'connection')} to ${peer} idle for up to ${humanMs(maxIdle)}, past a ${humanMs(limitMs)} NAT/LB idle timeout`,
        subject: peer,
        explanation:
          `Nothing has crossed these connections for longer than a NAT gateway or load balancer keeps idle state (${thresholds.nat_idle_timeout_s} s assumed). ` +
          `${withKeepalive === 0 ? 'None of them has' : `${withKeepalive} of them have`} SO_KEEPALIVE on, and the kernel's first probe comes after tcp_keepalive_time = ${keepaliveTime ?? '?'} s. ` +
          'If a middlebox sits on the path it has forgotten them: the next request will hang or be reset.',
        evidence: {
          peer,
          connections: group.length,
          withKeepalive,
          withoutKeepalive: group.length - withKeepalive,
          maxIdleMs: maxIdle,
          natIdleTimeoutS: thresholds.nat_idle_timeout_s,
          tcpKeepaliveTimeS: keepaliveTime,
          tcpKeepaliveIntvlS: view.sysctlNumber('net.ipv4.tcp_keepalive_intvl'),
          tcpKeepaliveProbes: view.sysctlNumber('net.ipv4.tcp_keepalive_probes'),
          processes: ownersEvidence(group),
          idleHours: round(maxIdle / 3_600_000, 2),
        },
        advice: [
          textAdvice('Turn SO_KEEPALIVE on in the application (or its client library / pool) and set TCP_KEEPIDLE below the middlebox timeout, or close pooled connections idle longer than that.'),
          sysctlAdvice('net.ipv4.tcp_keepalive_time', keepaliveTime === null ? null : String(keepaliveTime), String(Math.max(30, Math.floor(thresholds.nat_idle_timeout_s / 2))),
            'Host-wide default for sockets that enable SO_KEEPALIVE without their own TCP_KEEPIDLE. It does nothing for sockets without SO_KEEPALIVE, and is not needed when no NAT or load balancer is on the path.'),
        ],
      });
    }
    return { value: worst, threshold: thresholds.keepalive_min_connections, measure: `connections to one peer idle past ${thresholds.nat_idle_timeout_s} s`, findings };
  },
};
