import type { Command } from 'commander';
import { Option } from 'commander';
import { action, out } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { duration, parseCount } from '../options.js';
import { FILE_LIMITS, STEP_TIMEOUT } from '../../model/limits.js';
import { stopOnSignal } from '../lifetime.js';

interface ProbeFlags {
  count: number;
  interval: number;
  timeout: number;
  method: string;
  ca?: string;
  servername?: string;
  insecure?: boolean;
  family: '0' | '4' | '6';
  json?: boolean;
}

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('layered connectivity check: DNS -> TCP connect -> TLS -> HTTP, each step timed and each failure named')
    .argument('<target>', 'HOST:PORT, or an http:// or https:// URL')
    .option('--count <n>', 'probe n times and summarise', parseCount, 1)
    .option('--interval <time>', 'time between attempts (default 1s)', duration(STEP_TIMEOUT), 1000)
    .option('--timeout <time>', 'deadline for each step (default 5s)', duration(STEP_TIMEOUT), 5000)
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--ca <file>', 'also trust this CA certificate (PEM) when verifying TLS')
    .option('--servername <name>', 'TLS name (SNI and certificate check); default: the target host')
    .option('--insecure', 'certificate problems are reported but do not fail the tls step')
    .addOption(new Option('--family <n>', 'address family for name resolution (0: any)').choices(['0', '4', '6']).default('0'))
    .option('--json', 'print the report as JSON (see below)')
    .addHelpText(
      'after',
      `
Failure classes: dns, refused (RST to the SYN), timeout (SYN unanswered), unreachable (ICMP
or no route), reset (RST after the handshake), tls (handshake failed or certificate problems:
expired, not yet valid, self-signed, untrusted issuer, name mismatch; all are listed), http
(status >= 400 or a malformed response). Exit code 0 when every attempt passed, 1 otherwise.

--json prints {"target", "attempts": [{"ok", "ms", "steps": [{"name": "dns"|"connect"|"tls"|"http",
"ok", "ms", "error": {"class", "code", "message"} | null, "detail": {...}}], "tcpInfo": {rttMs,
retransmits, totalRetrans, ...} | null, "log": [...]}], "summary": {"attempts", "ok", "failed",
"errors": {class: n}, "steps": {name: {minMs, avgMs, p50Ms, maxMs}}, "statusCodes"}}.

Examples:
  tcpdiag probe 10.0.0.5:5432
  tcpdiag probe https://example.com/health
  tcpdiag probe http://[::1]:8080/ --count 10 --interval 200ms
  tcpdiag probe https://internal.svc:8443/ --ca ca.pem --json`,
    )
    .action(
      action(async (targetText: string, flags: ProbeFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { parseProbeTarget } = await import('../../assist/probe/target.js');
        const { runProbe } = await import('../../assist/probe/probe.js');
        const { renderAttempt, renderAttemptLine, renderSummary } = await import('../../assist/probe/render.js');
        const target = parseProbeTarget(targetText);
        let ca: string | null = null;
        if (flags.ca !== undefined) {
          const { readBoundedFile } = await import('../../platform/read-file.js');
          ca = (await readBoundedFile(flags.ca, FILE_LIMITS.caBundle, 'CA bundle')).toString('utf8');
        }
        const controller = stopOnSignal();
        try {
          const report = await runProbe(
            {
              target,
              timeoutMs: flags.timeout,
              count: flags.count,
              intervalMs: flags.interval,
              method: flags.method.toUpperCase(),
              ca,
              servername: flags.servername ?? null,
              insecure: flags.insecure === true,
              family: Number(flags.family) as 0 | 4 | 6,
              signal: controller.signal,
            },
            (attempt, index) => {
              if (flags.json) return;
              // One attempt: the full step report; several: one line each, then the summary.
              if (flags.count === 1) out(renderAttempt(attempt, index, 1, target.display) + '\n');
              else out((index === 0 ? `probe ${target.display}, ${flags.count} attempts\n` : '') + renderAttemptLine(attempt, index) + '\n');
            },
          );
          if (flags.json) printJson(report);
          else if (flags.count > 1) out(renderSummary(report) + '\n');
          return report.summary.failed === 0 && report.summary.attempts > 0 ? 0 : 1;
        } finally {
          controller.release();
        }
      }),
    );
}
