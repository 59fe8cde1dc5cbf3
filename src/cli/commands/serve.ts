/**
 * `tcpdiag serve`: the agent. Wiring only: [agent], [events], [storage], [alerts] and the flags in; the
 * server layer (src/server/) collects, stores, alerts and answers /metrics and the API.
 */
import { hostname } from 'node:os';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { alertSetup } from '../alert-setup.js';
import { action, out, warn } from '../run.js';
import { loadConfig } from '../context.js';
import { commandScope, stopOnSignal } from '../lifetime.js';
import { VERSION } from '../program.js';
import { UsageError } from '../../errors.js';
import { httpUrlFlag } from '../options.js';
import type { TcpdiagConfig } from '../../config/schema.js';
import type { AgentEventOptions } from '../../server/agent.js';
import { AGENT_ACTIONS } from '../../model/recording.js';
import type { AgentAction } from '../../model/recording.js';

/** --install-service: the unit runs this node and this tcpdiag's launcher (dist/src/cli/launcher.cjs). */
async function installServiceCommand(flags: ServeFlags): Promise<number> {
  const { installService, nextCommands, shippedTemplates } = await import('../../agent/install-service.js');
  const root = resolve(flags.installRoot ?? '/');
  const launcher = fileURLToPath(new URL('../launcher.cjs', import.meta.url));
  const result = installService({ root, ...shippedTemplates(), exec: [process.execPath, realpathSync(launcher)], force: flags.force === true });
  out(`unit ${result.unit}: ${result.unitPath}${result.backup === null ? '' : ` (the changed one is kept as ${result.backup})`}\n`);
  out(`configuration ${result.config === 'created' ? 'created' : 'kept as it was'}: ${result.configPath}\n`);
  for (const w of result.warnings) warn(w);
  out(`then run:\n${nextCommands(root).map((c) => `  ${c}\n`).join('')}`);
  out('the agent then answers on http://127.0.0.1:9477 (/metrics, /api/health, /api/v1/); its log: journalctl -u tcpdiag\n');
  return 0;
}

interface ServeFlags {
  listen?: string;
  data?: string;
  newToken?: boolean;
  remoteWrite?: string;
  hostLabel?: string;
  clickhouse?: string;
  prometheus?: string;
  fleet?: boolean;
  installService?: boolean;
  installRoot?: string;
  force?: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('the agent: collect TCP counters, listeners and sockets continuously, keep history, judge alerts, serve /metrics and a JSON API')
    .option('--listen <addr:port>', 'address and port to bind (default agent.listen and agent.port: 127.0.0.1:9477); any non-loopback address needs a token')
    .option('--data <dir>', 'where the history (history.db), the token and the alert state are kept (default agent.data_dir)')
    .option('--new-token', 'generate a bearer token once, keep it in DATA/token (mode 0600) and print it once')
    .option('--remote-write <url>', 'push the metrics by Prometheus remote write to URL (default fleet.remote_write), e.g. http://127.0.0.1:8428/api/v1/write', httpUrlFlag('--remote-write'))
    .option('--host-label <name>', 'the host label on every series and event row (default fleet.host_label, else the hostname)')
    .option('--clickhouse <url>', 'send events (alerts with evidence, findings, kernel events) to ClickHouse\'s HTTP interface at URL (default fleet.clickhouse), e.g. http://127.0.0.1:8123', httpUrlFlag('--clickhouse'))
    .option('--prometheus <url>', 'the PromQL HTTP API the fleet view asks for hosts and health (default fleet.prometheus), e.g. http://127.0.0.1:8428', httpUrlFlag('--prometheus'))
    .option('--fleet', 'the fleet view only: serve the dashboard and /api/v1/fleet/ over --prometheus and --clickhouse, with no local collectors, history or tracing')
    .option('--install-service', 'write the systemd unit (etc/systemd/system/tcpdiag.service, running this tcpdiag) and, when absent, the default etc/tcpdiag/tcp_diag.conf; print the systemctl commands to run; does not start the agent')
    .option('--install-root <dir>', 'with --install-service: install under DIR instead of / (an image, a chroot, a test)')
    .option('--force', 'with --install-service: replace a unit that was changed since tcpdiag wrote it (the old one is kept as .bak)')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag serve                                        127.0.0.1:9477, history in /var/lib/tcpdiag
  tcpdiag serve --listen 127.0.0.1:9100 --data /tmp/tcpdiag
  tcpdiag serve --listen 0.0.0.0:9477 --new-token      reachable from the network: token required
  sudo tcpdiag serve --install-service                 install the hardened systemd unit, then systemctl enable --now tcpdiag
  curl -s http://127.0.0.1:9477/metrics | grep tcpdiag_connections
  curl -s 'http://127.0.0.1:9477/api/v1/connections?state=close-wait&port=8080'
  curl -s 'http://127.0.0.1:9477/api/v1/series?metric=connections.ESTABLISHED&tier=1m'
  curl -s -X POST http://127.0.0.1:9477/api/v1/diagnose
  tcpdiag serve --remote-write http://10.0.0.9:8428/api/v1/write --clickhouse http://10.0.0.9:8123 --host-label web1
                                                       one of many agents feeding a fleet (deploy/fleet/)
  tcpdiag serve --fleet --prometheus http://10.0.0.9:8428 --clickhouse http://10.0.0.9:8123
                                                       the dashboard's Fleet page (/#/fleet) over many agents, nothing collected here

Once it accepts connections it prints "listening on http://ADDR:PORT".
Counters, state counts and listeners are read every agent.counters_interval_s (1 s), the socket
table every agent.sample_interval_s (5 s, off the main thread), when the alerts ([alerts], the
rules of tcpdiag watch) are judged; the diagnosis every agent.diagnose_interval_s (60 s).
Fleet: with --remote-write (or fleet.remote_write) the /metrics values are pushed every
fleet.remote_write_interval_s (15 s) with a host label; with --clickhouse (or fleet.clickhouse)
alerts, findings and kernel events go to the table fleet.clickhouse_table, created on first use.
Both keep what the receiver has not taken in DATA/fleet/ (fleet.backlog_mb each), across outages
and restarts; tcpdiag_export_* metrics say what is waiting and what was dropped.
History: 1 s samples, 1 min and 1 h aggregates, alerts and findings in SQLite, kept per
[storage] (retention_1s_h, retention_1m_days, retention_days, max_size_mb).

API (JSON; errors are { "error": { "code", "message", "hint" } }; Authorization: Bearer TOKEN when a
token is set):
  GET /metrics                 Prometheus text: tcpdiag_connections{state}, tcpdiag_retransmits_total, ...
  GET /api/health              version, uptime, collectors, sources, store size, lost events
  GET /api/v1/connections      state=, port=, sport=, dport=, addr=CIDR, family=4|6, pid=, process=,
                               expr=<ss filter expression>, limit=, fresh=1
  GET /api/v1/listeners, /api/v1/stats, /api/v1/alerts, /api/v1/findings
  GET /api/v1/series           metric=, from=, to= (epoch ms or ISO 8601), tier=1s|1m|1h
  POST /api/v1/diagnose        judge the window since the last diagnosis now
  GET /api/v1/recordings       captures and traces: reason, trigger, scope, times, status, file, size
  POST /api/v1/captures        {filter, expr, port, duration_s, max_mb, interface, snaplen} (agent.actions "capture")
  POST /api/v1/traces          {expr, port, duration_s, max_mb, detail} (agent.actions "trace")
  POST /api/v1/recordings/stop?id=N, GET /api/v1/recordings/download?id=N (the pcap),
  GET /api/v1/recordings/analysis?id=N (as tcpdiag analyze --json)
  POST /api/v1/analyze         body: a pcap or pcapng file (escalation.upload_max_mb): its analysis
  GET /api/v1/events           from=, to=, kind=connect,accept,close,connect-failed,reset,retransmit,state, limit=, local=ADDR:PORT&remote=ADDR:PORT (one connection)
  GET /api/v1/rollups          by=listener|peer|remote-port, from=, to=, key=, limit= (per minute)
  GET /api/v1/plans            the change plans of agent.plans_dir with their status; /api/v1/plans/show?id=
  POST /api/v1/plans/approve   ?id= {by}: approve as tcpdiag plan approve does (agent.actions "approve");
                               applying stays sudo tcpdiag plan apply FILE
  POST /api/v1/guard/observe   {seconds (1-60, default guard.duration_s), ports}: one tcpdiag guard window
                               with [guard]'s settings, as guard --json; one at a time (409 TCPDIAG_BUSY)
  GET /api/v1/fleet/hosts      since= (or from=, to=), host= : hosts, health and firing alerts (fleet.prometheus)
  GET /api/v1/fleet/events     question=resets|overflows|retrans|rows, peer=, listener=, host=, kind=, since=
                               (fleet.clickhouse); both answer 503 TCPDIAG_NOT_CONFIGURED without the URL

Escalation ([escalation]): an alert that begins firing, or a finding of escalation.on_findings,
starts a trace and a capture narrowed to its listener or peer for escalation.duration_s (one
per scope at a time, max_concurrent at once, cooldown_s between two of one scope); the capture
rings of escalation.ring_interfaces keep the last ring_max_mb, and the ring_before_s before an
alert are frozen into a recording when it fires. Files in data_dir/recordings.

As root, kernel events ([events]: tracefs, continuously): resets, retransmissions, failed connects
and state anomalies are kept one by one (events.max_stored_per_s), opens and closes are counted
per second, and per-minute rollups are kept per listener, per peer (events.top_peers) and per
remote port of the connections this host opens.
Without root the agent says so once and collects the rest.`,
    )
    .action(
      action(async (flags: ServeFlags, cmd: Command) => {
        if (flags.installService === true) return installServiceCommand(flags);
        if (flags.installRoot !== undefined || flags.force === true) throw new UsageError('--install-root and --force go with --install-service', 'tcpdiag serve --install-service [--install-root DIR] [--force]');
        const config = loadConfig(cmd, { sections: ['agent', 'events', 'storage', 'trace', 'thresholds', 'diagnose', 'alerts', 'fleet', 'escalation', 'privacy', 'guard'] });
        const fl = config.fleet;
        const engines = {
          prometheus: flags.prometheus ?? fl.prometheus,
          clickhouse: { url: flags.clickhouse ?? fl.clickhouse, database: fl.clickhouse_database, table: fl.clickhouse_table, user: fl.clickhouse_user, password: fl.clickhouse_password, timeoutMs: Math.round(fl.timeout_s * 1000) },
        };
        if (flags.fleet === true) {
          if (flags.remoteWrite !== undefined || flags.hostLabel !== undefined) throw new UsageError('--remote-write and --host-label go with an agent that collects, not with --fleet', 'tcpdiag serve --fleet --prometheus URL --clickhouse URL');
          const { parseHostPort } = await import('../../assist/client/endpoint.js');
          const { runFleetServe } = await import('../../server/serve.js');
          const listen = flags.listen === undefined ? { host: config.agent.listen, port: config.agent.port } : parseHostPort(flags.listen, '--listen', config.agent.port);
          const stop = stopOnSignal();
          try {
            await runFleetServe({
              host: listen.host, port: listen.port, dataDir: flags.data ?? config.agent.data_dir, configuredToken: config.agent.token, newToken: flags.newToken === true,
              version: VERSION, engines, signal: stop.signal, say: (line) => out(`${line}\n`), note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
            });
            return 0;
          } finally {
            stop.release();
          }
        }
        const { parseHostPort } = await import('../../assist/client/endpoint.js');
        const { createDiagnoseSources } = await import('../../sources/diagnose.js');
        const { runServe } = await import('../../server/serve.js');
        const { Redactor } = await import('../../privacy/redact.js');
        const { parseCidr } = await import('../../model/address.js');
        const ag = config.agent;
        const st = config.storage;
        const es = config.escalation;
        const pv = config.privacy;
        const MB = 1024 * 1024;
        const a = config.alerts;
        const listen = flags.listen === undefined ? { host: ag.listen, port: ag.port } : parseHostPort(flags.listen, '--listen', ag.port);
        const dataDir = flags.data ?? ag.data_dir;
        const { rules, metrics, baseline, sinks } = await alertSetup(config, {
          webhook: a.webhook,
          alertmanager: a.alertmanager,
          generatorUrl: `http://${listen.host}:${listen.port}/`,
          instance: hostname(),
        });
        const remoteWrite = flags.remoteWrite ?? fl.remote_write;
        const clickhouse = flags.clickhouse ?? fl.clickhouse;
        const hostLabel = flags.hostLabel ?? (fl.host_label === '' ? hostname() : fl.host_label);
        if (hostLabel.trim() === '') throw new UsageError('--host-label: expected a name, got ""', 'pass the name this host has in the fleet, e.g. --host-label web1');
        const fleet = remoteWrite === '' && clickhouse === '' ? undefined : {
          host: hostLabel,
          labels: fl.labels,
          remoteWrite,
          remoteWriteIntervalMs: Math.round(fl.remote_write_interval_s * 1000),
          remoteWriteMaxSamples: fl.remote_write_max_samples,
          clickhouse,
          clickhouseDatabase: fl.clickhouse_database,
          clickhouseTable: fl.clickhouse_table,
          clickhouseUser: fl.clickhouse_user,
          clickhousePassword: fl.clickhouse_password,
          eventsFlushIntervalMs: Math.round(fl.events_flush_interval_s * 1000),
          eventsMaxPerMinute: fl.events_max_per_minute,
          backlogBytes: Math.round(fl.backlog_mb * 1024 * 1024),
          timeoutMs: Math.round(fl.timeout_s * 1000),
          maxBackoffMs: Math.round(fl.max_backoff_s * 1000),
        };
        const stop = stopOnSignal();
        try {
          await runServe({
            host: listen.host,
            port: listen.port,
            dataDir,
            storePath: st.path === '' ? join(dataDir, 'history.db') : st.path,
            retention: {
              keepMs: { '1s': st.retention_1s_h * 3_600_000, '1m': st.retention_1m_days * 86_400_000, '1h': st.retention_days * 86_400_000 },
              maxBytes: st.max_size_mb * 1024 * 1024,
            },
            configuredToken: ag.token,
            newToken: flags.newToken === true,
            topListeners: ag.metrics_top_listeners,
            peerMetrics: ag.metrics_peer_labels ? { topPeers: ag.metrics_top_peers, prefixes: ag.metrics_peer_prefixes.map((p) => parseCidr(p)) } : null,
            geoipFile: ag.geoip_file,
            version: VERSION,
            countersIntervalMs: Math.round(ag.counters_interval_s * 1000),
            socketsIntervalMs: Math.round(ag.sample_interval_s * 1000),
            diagnoseIntervalMs: Math.round(ag.diagnose_interval_s * 1000),
            thresholds: { ...config.thresholds, ...config.diagnose },
            alerts: {
              rules,
              metrics,
              baseline,
              stateFile: join(dataDir, 'alerts-state.json'),
              sinks,
            },
            events: eventOptions(config.events),
            evidenceSources: createDiagnoseSources({ traceBufferKb: config.trace.buffer_kb, scope: commandScope() }),
            ...(fleet === undefined ? {} : { fleet }),
            ...(engines.prometheus === '' && engines.clickhouse.url === '' ? {} : { fleetEngines: engines }),
            recordings: {
              scope: commandScope(),
              directory: es.directory === '' ? join(dataDir, 'recordings') : es.directory,
              escalation: {
                enabled: es.enabled, trace: es.trace, capture: es.capture, traceDetail: es.trace_detail, durationMs: es.duration_s * 1000,
                onFindings: es.on_findings, maxConcurrent: es.max_concurrent, cooldownMs: es.cooldown_s * 1000,
                captureMaxBytes: Math.round(es.capture_max_mb * MB), traceMaxBytes: Math.round(es.trace_max_mb * MB),
                interface: es.interface, snaplen: es.snaplen, ringBeforeMs: es.ring_before_s * 1000,
              },
              ring: { interfaces: es.ring_interfaces, snaplen: es.ring_snaplen, maxBytes: Math.round(es.ring_max_mb * MB), fileBytes: Math.round(es.ring_file_mb * MB) },
              actions: ag.actions.filter((a): a is AgentAction => (AGENT_ACTIONS as readonly string[]).includes(a)),
              maxTotalBytes: Math.round(es.max_total_mb * MB),
              uploadMaxBytes: Math.round(es.upload_max_mb * MB),
              traceBufferKb: config.trace.buffer_kb,
              tracePollMs: config.trace.poll_interval_ms,
              thresholds: { ...config.thresholds, ...config.diagnose },
              redactor: pv.redact ? () => new Redactor({ kinds: pv.kinds, patterns: pv.patterns, maskChar: pv.mask_char }) : () => null,
            },
            plans: { dir: ag.plans_dir, dataDir: config.guard.data_dir, actions: ag.actions },
            guard: {
              thresholds: config.guard,
              allowlist: config.guard.allowlist.map((c) => parseCidr(c)),
              idleMs: config.guard.idle_s * 1000,
              idleMaxBytes: config.guard.idle_max_bytes,
              pollMs: config.guard.poll_interval_ms,
              durationS: config.guard.duration_s,
            },
            signal: stop.signal,
            say: (line) => out(`${line}\n`),
            note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
          });
          return 0;
        } finally {
          stop.release();
        }
      }),
    );
}

/** [events] into the agent's collector options (null: off). */
function eventOptions(e: TcpdiagConfig['events']): AgentEventOptions | null {
  if (!e.enabled) return null;
  return {
    bufferKb: e.buffer_kb,
    pollIntervalMs: e.poll_interval_ms,
    slowStateMs: Math.round(e.slow_state_s * 1000),
    maxRecordsPerSecond: e.max_stored_per_s,
    maxEvents: e.max_stored,
    keepMs: e.retention_days * 86_400_000,
    topPeers: e.top_peers,
    inNamespace: e.in_namespace,
    scope: commandScope(),
  };
}
