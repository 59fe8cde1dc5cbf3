/**
 * `tcpdiag watch`: alerts in the foreground. Wiring only: the configuration's [alerts] rules
 * and receivers plus the flags in, the session runs the loop, transitions go to stdout as text
 * or one JSON line each, and to the receivers.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { alertSetup } from '../alert-setup.js';
import { action, out } from '../run.js';
import { loadConfig } from '../context.js';
import { commandScope, stopOnSignal } from '../lifetime.js';
import { duration } from '../options.js';
import type { FlagParser } from '../options.js';
import { REFRESH_INTERVAL } from '../../model/limits.js';
import { showValue } from '../../model/show-value.js';

interface WatchFlags {
  json?: boolean;
  interval?: number;
  webhook?: string;
  alertmanager?: string;
  state?: string;
}

/** An http(s) URL (receivers are reached over HTTP only). */
const httpUrl: FlagParser<string> = Object.assign(
  (text: string) => {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new InvalidArgumentError(`${showValue(text)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgumentError(`${showValue(text)} is not an http:// or https:// URL`);
    return text;
  },
  { accepts: 'http(s) URL' },
);

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('alert in the foreground: held thresholds and learned baselines over the kernel\'s TCP counters and sockets, each transition printed and sent to the receivers')
    .option('--json', 'print one JSON object per line per transition')
    .option('--interval <time>', 'sampling interval (default alerts.interval_s, 5 s)', duration(REFRESH_INTERVAL))
    .option('--webhook <url>', 'POST each transition in Alertmanager\'s webhook format (version 4) to this URL', httpUrl)
    .option('--alertmanager <url>', 'push alerts to this Alertmanager\'s /api/v2/alerts (re-sent while firing)', httpUrl)
    .option('--state <file>', 'where baselines and firing alerts are kept across restarts (default alerts.state_file; "" keeps nothing)')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag watch                                    the shipped rules, printed as they fire and resolve
  tcpdiag watch --json | jq -c 'select(.status == "firing")'
  tcpdiag watch --interval 1s --webhook http://127.0.0.1:5001/alerts
  tcpdiag watch --alertmanager http://127.0.0.1:9093
  tcpdiag --config /etc/tcpdiag/tcp_diag.conf watch

Shipped rules (thresholds from [thresholds]; override or add rules in [alerts.rules.NAME]):
  syn-rate, new-connection-rate, new-connection-surge (learned baseline), retransmission-ratio,
  packet-loss, rtt, connect-failure-rate, port-capacity, listen-overflows, syn-recv-backlog,
  close-wait-growth. Counter resets and the first sample never fire; a restart keeps firing
  alerts firing (the state file) instead of firing them again.
A command hook gets each transition as one JSON line on stdin: alerts.exec = ["/usr/local/bin/page", "--team", "net"].

JSON: { "type": "alert", "status": "firing"|"resolved", "rule", "severity": "P1"|"P2"|"P3",
"scope"?, "value", "threshold", "ts", "startsAt", "evidence"?: { counters, topListeners,
topSources, sockets, baseline?, finding?: {id, title, explanation, evidence, advice} } }`,
    )
    .action(
      action(async (flags: WatchFlags, cmd: Command) => {
        const config = loadConfig(cmd, { sections: ['trace', 'thresholds', 'diagnose', 'alerts'] });
        const a = config.alerts;
        const { createDiagnoseSources } = await import('../../sources/diagnose.js');
        const { runWatch } = await import('../../sessions/watch-session.js');
        const { jsonLine, textLine } = await import('../../sinks/alerts/format.js');
        const intervalMs = flags.interval ?? Math.round(a.interval_s * 1000);
        const { rules, metrics, baseline, sinks } = await alertSetup(config, {
          webhook: flags.webhook ?? a.webhook,
          alertmanager: flags.alertmanager ?? a.alertmanager,
          generatorUrl: '',
          instance: hostname(),
        });
        const state = flags.state ?? a.state_file;
        const stop = stopOnSignal();
        try {
          const summary = await runWatch(
            {
              intervalMs,
              rules,
              metrics,
              baseline,
              stateFile: state === '' ? null : state,
              thresholds: { ...config.thresholds, ...config.diagnose },
              sinks,
              signal: stop.signal,
              onTransition: (t) => out(`${flags.json ? jsonLine(t) : textLine(t)}\n`),
              note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
            },
            createDiagnoseSources({ traceBufferKb: config.trace.buffer_kb, scope: commandScope() }),
          );
          process.stderr.write(`tcpdiag: ${summary.samples} samples, ${summary.transitions} transitions\n`);
          return 0;
        } finally {
          stop.release();
        }
      }),
    );
}
