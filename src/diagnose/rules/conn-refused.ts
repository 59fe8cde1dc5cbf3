/**
 * conn-refused: SYNs answered with RST.
 *
 * Why it fires: a host that has no listening socket for a SYN's destination port answers it with
 * a reset (RFC 9293 section 3.10.7.1; tcp_v4_send_reset() with reason NO_SOCKET), and a firewall
 * REJECT "with tcp reset" does the same; the client's connect() fails with ECONNREFUSED at once.
 * The kernel counts the failure (AttemptFails) but not where it went, so the destinations and
 * the client processes come from the kernel's events (a SYN_SENT socket that received a reset)
 * or from a capture. The rate is judged against connect attempts the way the field guides judge
 * connection failures: above 0.5% of attempts.
 */
import { percent, groupBy } from '../view.js';
import { plural, commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { formatEndpoint } from '../../model/socket.js';

export const connRefused: Rule = {
  id: 'conn-refused',
  summary: 'connection attempts answered by RST (connection refused)',
  needs: ['events'],
  logPatterns: [/refused|ECONNREFUSED/i],
  evaluate({ facts, view, thresholds }) {
    const events = facts.events!;
    const refused = events.connectFailures.filter((f) => f.reason === 'refused');
    const failures = events.connectFailures.reduce((n, f) => n + f.count, 0);
    const attempts = events.connects + failures;
    const total = refused.reduce((n, f) => n + f.count, 0);
    const ratePercent = percent(total, attempts);
    const findings: FindingDraft[] = [];
    const significant = total >= thresholds.connect_failures_min && ratePercent >= thresholds.connect_timeout_rate_percent;
    if (total > 0) {
      for (const [destination, group] of groupBy(refused, (f) => formatEndpoint(f.remote, f.family))) {
        const count = group.reduce((n, f) => n + f.count, 0);
        const processes = [...new Map(group.flatMap((f) => (f.owner === null ? [] : [[f.owner.pid, f.owner] as const]))).values()];
        const port = group[0]!.remote.port;
        const local = view.listeners.some((l) => l.local.port === port);
        const who = processes[0] === undefined ? 'clients' : `${processes[0].process} (pid ${processes[0].pid})`;
        findings.push({
          severity: significant ? 'warning' : 'info',
          title: `${plural(count, 'connection')} from ${who} to ${destination} refused (SYN answered by RST)`,
          subject: destination,
          explanation:
            `The destination answered the SYN with a reset: nothing listens on port ${port} at that address, or a firewall rejects it with a TCP reset. ` +
            `The client sees ECONNREFUSED immediately. ${total} of ${attempts} connection attempts in the window (${ratePercent}%) were refused.`,
          evidence: {
            destination,
            refused: count,
            processes,
            attemptsInWindow: attempts,
            refusedPercent: ratePercent,
            listenerOnThisHost: local,
            attemptFailsCounter: view.delta('AttemptFails'),
            eventsLost: events.lost,
          },
          advice: [
            textAdvice(`Check that the service runs and listens on ${destination} (the address matters: a service bound to 127.0.0.1 refuses connections to the host's other addresses), and that the client is configured with the right port.`),
            commandAdvice('On the destination host, list what listens on that port:', `ss -ltnp 'sport = :${port}'`),
            textAdvice('If a firewall REJECT rule is meant to refuse these clients, this finding is expected: leave it.'),
          ],
        });
      }
    }
    return { value: ratePercent, threshold: thresholds.connect_timeout_rate_percent, measure: `% of ${attempts} connect attempts refused (${total})`, findings };
  },
  capture({ facts, thresholds }) {
    const services = facts.capture!.services;
    const attempts = services.reduce((n, s) => n + s.attempts, 0);
    const total = services.reduce((n, s) => n + s.refused, 0);
    const ratePercent = percent(total, attempts);
    const significant = total >= thresholds.connect_failures_min && ratePercent >= thresholds.connect_timeout_rate_percent;
    const findings: FindingDraft[] = services.filter((s) => s.refused > 0).map((s) => {
      const destination = s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
      return {
        severity: significant ? 'warning' : 'info',
        title: `${plural(s.refused, 'connection')} to ${destination} refused (SYN answered by RST)`,
        subject: destination,
        explanation:
          `The destination answered the SYN with a reset: nothing listens on port ${s.port} at that address, or a firewall rejects it with a TCP reset. ` +
          `${total} of ${attempts} connection attempts in the capture (${ratePercent}%) were refused.`,
        evidence: { destination, refused: s.refused, attempts: s.attempts, attemptsInCapture: attempts, refusedPercent: ratePercent },
        advice: [
          textAdvice(`Check that the service runs and listens on ${destination}, and that the client is configured with the right port.`),
          commandAdvice('On the destination host, list what listens on that port:', `ss -ltnp 'sport = :${s.port}'`),
        ],
      };
    });
    return { value: ratePercent, threshold: thresholds.connect_timeout_rate_percent, measure: `% of ${attempts} connect attempts refused (${total})`, findings };
  },
};
