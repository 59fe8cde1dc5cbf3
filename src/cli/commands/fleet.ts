/**
 * `tcpdiag fleet`: questions over many agents at once, answered by the engines they export to:
 * hosts and their health from a Prometheus-compatible store (PromQL HTTP API), events from
 * ClickHouse. Wiring only: the queries live in src/server/fleet/.
 */
import type { Command } from 'commander';
import { action, out } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { duration, httpUrlFlag, integer } from '../options.js';
import { FLEET_ROWS, FLEET_SINCE, STEP_TIMEOUT } from '../../model/limits.js';
import { UsageError } from '../../errors.js';
import type { TcpdiagConfig } from '../../config/schema.js';
import type { ClickHouseTarget, HostTally } from '../../server/fleet/events.js';

interface RangeFlags {
  since?: number;
  from?: string;
  to?: string;
  json?: boolean;
  timeout?: number;
}

interface EventFlags extends RangeFlags {
  clickhouse?: string;
  host?: string;
}

const DEFAULT_SINCE_MS = 3_600_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/** --from/--to: ISO 8601 or epoch milliseconds. */
function parseInstant(text: string, flag: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${flag}: expected a time (ISO 8601 like 2026-12-01T10:00:00Z, or epoch ms), got ${JSON.stringify(text.slice(0, 40))}`);
  return ms;
}

function rangeOf(flags: RangeFlags): { fromMs: number; toMs: number } {
  if (flags.since !== undefined && flags.from !== undefined) throw new UsageError('--since and --from both set: pick one', 'e.g. --since 1h, or --from 2026-12-01T10:00:00Z --to 2026-12-01T11:00:00Z');
  const toMs = flags.to === undefined ? Date.now() : parseInstant(flags.to, '--to');
  const fromMs = flags.from === undefined ? toMs - (flags.since ?? DEFAULT_SINCE_MS) : parseInstant(flags.from, '--from');
  if (fromMs > toMs) throw new UsageError(`--from is after --to (${new Date(fromMs).toISOString()} > ${new Date(toMs).toISOString()})`);
  return { fromMs, toMs };
}

function addRange(command: Command): Command {
  return command
    .option('--since <duration>', 'how far back from --to (default 1h)', duration(FLEET_SINCE))
    .option('--from <time>', 'start of the range: ISO 8601 or epoch ms (instead of --since)')
    .option('--to <time>', 'end of the range (default now)')
    .option('--timeout <duration>', 'deadline of each query (default 10s)', duration(STEP_TIMEOUT))
    .option('--json', 'print one JSON array; every row names its host');
}

function clickhouseTarget(config: TcpdiagConfig, flags: EventFlags): ClickHouseTarget {
  const url = flags.clickhouse ?? config.fleet.clickhouse;
  if (url === '') throw new UsageError('no ClickHouse to ask: pass --clickhouse http://HOST:8123 or set fleet.clickhouse in tcp_diag.conf');
  const f = config.fleet;
  return { url, database: f.clickhouse_database, table: f.clickhouse_table, user: f.clickhouse_user, password: f.clickhouse_password, timeoutMs: flags.timeout ?? DEFAULT_TIMEOUT_MS };
}

function addClickhouse(command: Command): Command {
  return addRange(command.option('--clickhouse <url>', 'ClickHouse\'s HTTP interface (default fleet.clickhouse)', httpUrlFlag('--clickhouse')).option('--host <name>', 'only this host'));
}

const EXAMPLE_CH = 'http://127.0.0.1:8123';
const EXAMPLE_PROM = 'http://127.0.0.1:8428';

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('questions across many agents: hosts with health and alerts (Prometheus/VictoriaMetrics), resets, overflows and retransmissions (ClickHouse)')
    .addHelpText(
      'after',
      `
The agents export with tcpdiag serve --remote-write URL --clickhouse URL [--host-label NAME]
(or [fleet] in tcp_diag.conf); deploy/fleet/ has a setup with one VictoriaMetrics and one
ClickHouse for many agents. The engines' URLs come from the flags or fleet.prometheus and
fleet.clickhouse.

Examples:
  tcpdiag fleet hosts --prometheus ${EXAMPLE_PROM}
  tcpdiag fleet resets --clickhouse ${EXAMPLE_CH} --peer 10.0.3.7 --since 1h
  tcpdiag fleet overflows --clickhouse ${EXAMPLE_CH} --listener 10.0.0.5:8080
  tcpdiag fleet retrans --clickhouse ${EXAMPLE_CH} --top 10 --since 24h
  tcpdiag fleet events --clickhouse ${EXAMPLE_CH} --kind alert --since 30m --json`,
    );

  addRange(
    fleet
      .command('hosts')
      .description('every host that pushed metrics in the range: health (ok, degraded, down, stale), score, firing alerts, key rates')
      .option('--prometheus <url>', 'the PromQL HTTP API root of Prometheus or VictoriaMetrics (default fleet.prometheus)', httpUrlFlag('--prometheus'))
      .option('--host <name>', 'only this host'),
  )
    .addHelpText(
      'after',
      `
health: stale when the host sent no sample in the last 5 minutes (PromQL's lookback), down with a
P1 alert firing, degraded with a P2 or P3 firing, else ok. score: the agent's last diagnosis
(100 less each finding's penalty). Rates are over the last 5 minutes.

Examples:
  tcpdiag fleet hosts --prometheus ${EXAMPLE_PROM}
  tcpdiag fleet hosts --prometheus http://127.0.0.1:9090 --since 24h --json`,
    )
    .action(
      action(async (flags: RangeFlags & { prometheus?: string; host?: string }, command: Command) => {
        const config = loadConfig(command, { sections: ['fleet'] });
        const base = flags.prometheus ?? config.fleet.prometheus;
        if (base === '') throw new UsageError('no metrics store to ask: pass --prometheus http://HOST:8428 (VictoriaMetrics) or http://HOST:9090 (Prometheus), or set fleet.prometheus');
        const { fromMs, toMs } = rangeOf(flags);
        const { fleetHosts } = await import('../../server/fleet/promql.js');
        const hosts = await fleetHosts(base, { atMs: toMs, sinceMs: toMs - fromMs, ...(flags.host === undefined ? {} : { host: flags.host }), timeoutMs: flags.timeout ?? DEFAULT_TIMEOUT_MS, signal: AbortSignal.timeout(10 * 60_000) });
        if (flags.json) return printJson(hosts);
        if (hosts.length === 0) return out(`no host pushed tcpdiag metrics to ${base} in the range\n`);
        const { renderTable } = await import('../../sinks/table.js');
        const rate = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
        out(renderTable(hosts, [
          { header: 'HOST', value: (h) => h.host },
          { header: 'HEALTH', value: (h) => h.health },
          { header: 'SCORE', value: (h) => h.score, align: 'right' },
          { header: 'FIRING', value: (h) => Object.entries(h.firing).map(([s, n]) => `${s}:${n}`).join(' ') || 'none' },
          { header: 'ESTAB', value: (h) => h.established, align: 'right' },
          { header: 'RETRANS/S', value: (h) => rate(h.retransmitsPerS), align: 'right' },
          { header: 'OVERFLOWS/S', value: (h) => rate(h.listenOverflowsPerS), align: 'right' },
          { header: 'BACKLOG', value: (h) => h.backlogItems, align: 'right' },
          { header: 'LAST SAMPLE', value: (h) => h.lastSampleAt },
        ]));
      }),
    );

  addClickhouse(
    fleet
      .command('events')
      .description('event rows from ClickHouse, newest first: alerts, findings, kernel events, rollups, dropped-row notes')
      .option('--kind <kind>', 'only this kind (alert, finding, dropped, rollup.peer, rollup.listener, or a kernel event\'s name: reset, retransmit, connect-failed, state)')
      .option('--name <name>', 'only this rule or event name (listen-overflows, close-wait-leak, ...)')
      .option('--peer <addr>', 'only rows about this peer address')
      .option('--listener <addr:port>', 'only rows about this listener')
      .option('-n, --limit <n>', 'rows at most (default 100)', integer(FLEET_ROWS)),
  )
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag fleet events --clickhouse ${EXAMPLE_CH} --since 30m
  tcpdiag fleet events --clickhouse ${EXAMPLE_CH} --kind alert --host web1 --json
  tcpdiag fleet events --clickhouse ${EXAMPLE_CH} --from 2026-12-01T10:00:00Z --to 2026-12-01T11:00:00Z`,
    )
    .action(
      action(async (flags: EventFlags & { kind?: string; name?: string; peer?: string; listener?: string; limit?: number }, command: Command) => {
        const config = loadConfig(command, { sections: ['fleet'] });
        const target = clickhouseTarget(config, flags);
        const range = rangeOf(flags);
        const { listEvents } = await import('../../server/fleet/events.js');
        const rows = await listEvents(target, {
          ...range,
          ...(flags.kind === undefined ? {} : { kinds: [flags.kind] }),
          ...(flags.name === undefined ? {} : { names: [flags.name] }),
          ...(flags.peer === undefined ? {} : { peer: flags.peer }),
          ...(flags.listener === undefined ? {} : { listener: flags.listener }),
          ...(flags.host === undefined ? {} : { host: flags.host }),
          limit: flags.limit ?? 100,
        }, AbortSignal.timeout(10 * 60_000));
        if (flags.json) return printJson(rows);
        if (rows.length === 0) return out('no event rows in the range\n');
        const { renderTable } = await import('../../sinks/table.js');
        out(renderTable(rows, [
          { header: 'TIME', value: (r) => r.time },
          { header: 'HOST', value: (r) => r.host },
          { header: 'KIND', value: (r) => r.kind },
          { header: 'NAME', value: (r) => r.name },
          { header: 'SEV', value: (r) => r.severity },
          { header: 'LISTENER', value: (r) => r.listener },
          { header: 'PEER', value: (r) => r.peer },
          { header: 'PROCESS', value: (r) => r.process },
          { header: 'REASON', value: (r) => r.reason, maxWidth: 60 },
        ]));
      }),
    );

  const tallyTable = async (rows: readonly HostTally[], empty: string): Promise<void> => {
    if (rows.length === 0) return out(`${empty}\n`);
    const { renderTable } = await import('../../sinks/table.js');
    out(renderTable(rows, [
      { header: 'HOST', value: (r) => r.host },
      { header: 'EVENTS', value: (r) => r.events, align: 'right' },
      { header: 'ROWS', value: (r) => r.rows, align: 'right' },
      { header: 'FIRST', value: (r) => r.first },
      { header: 'LAST', value: (r) => r.last },
      { header: 'KINDS', value: (r) => r.kinds.join(',') },
      { header: 'PROCESSES', value: (r) => r.processes.join(','), maxWidth: 40 },
    ]));
  };

  addClickhouse(
    fleet
      .command('resets')
      .description('which hosts saw resets (with --peer: with that peer) in the range')
      .option('--peer <addr>', 'the peer address (as the agents write it: 10.0.3.7, 2001:db8::7)'),
  )
    .addHelpText('after', `
Counts reset events (kernel events named reset*, reset-storm findings) per host.

Examples:
  tcpdiag fleet resets --clickhouse ${EXAMPLE_CH} --peer 10.0.3.7 --since 1h
  tcpdiag fleet resets --clickhouse ${EXAMPLE_CH} --since 24h --json`)
    .action(
      action(async (flags: EventFlags & { peer?: string }, command: Command) => {
        const config = loadConfig(command, { sections: ['fleet'] });
        const target = clickhouseTarget(config, flags);
        const { resetsByHost } = await import('../../server/fleet/events.js');
        const rows = (await resetsByHost(target, flags.peer, rangeOf(flags), AbortSignal.timeout(10 * 60_000))).filter((r) => flags.host === undefined || r.host === flags.host);
        if (flags.json) return printJson(rows);
        await tallyTable(rows, `no resets${flags.peer === undefined ? '' : ` with ${flags.peer}`} in the range`);
      }),
    );

  addClickhouse(
    fleet
      .command('overflows')
      .description('where a listener (with --listener: that one) overflowed its accept queue in the range')
      .option('--listener <addr:port>', 'the listener as the agents name it (10.0.0.5:8080, [::]:443)'),
  )
    .addHelpText('after', `
Counts listen-overflow alerts, findings and kernel events per host.

Examples:
  tcpdiag fleet overflows --clickhouse ${EXAMPLE_CH} --listener 10.0.0.5:8080
  tcpdiag fleet overflows --clickhouse ${EXAMPLE_CH} --since 168h --json`)
    .action(
      action(async (flags: EventFlags & { listener?: string }, command: Command) => {
        const config = loadConfig(command, { sections: ['fleet'] });
        const target = clickhouseTarget(config, flags);
        const { overflowsByHost } = await import('../../server/fleet/events.js');
        const rows = (await overflowsByHost(target, flags.listener, rangeOf(flags), AbortSignal.timeout(10 * 60_000))).filter((r) => flags.host === undefined || r.host === flags.host);
        if (flags.json) return printJson(rows);
        await tallyTable(rows, `no listen overflows${flags.listener === undefined ? '' : ` on ${flags.listener}`} in the range`);
      }),
    );

  addClickhouse(
    fleet
      .command('retrans')
      .description('the peers that carry the most retransmission events across the fleet, with the hosts that saw them')
      .option('--top <n>', 'peers at most (default 10)', integer(FLEET_ROWS)),
  )
    .addHelpText('after', `
Counts retransmission and loss events (kernel events, packet-loss and retransmission alerts
and findings) per peer.

Examples:
  tcpdiag fleet retrans --clickhouse ${EXAMPLE_CH} --top 10
  tcpdiag fleet retrans --clickhouse ${EXAMPLE_CH} --top 3 --since 24h --json`)
    .action(
      action(async (flags: EventFlags & { top?: number }, command: Command) => {
        const config = loadConfig(command, { sections: ['fleet'] });
        const target = clickhouseTarget(config, flags);
        const { retransByPeer } = await import('../../server/fleet/events.js');
        const peers = (await retransByPeer(target, flags.top ?? 10, rangeOf(flags), AbortSignal.timeout(10 * 60_000))).filter((p) => flags.host === undefined || p.hosts.some((h) => h.host === flags.host));
        // One row per peer and host (the contract: every row names its host), the peers in rank order.
        if (flags.json) return printJson(peers.flatMap((p, rank) => p.hosts.map((h) => ({ rank: rank + 1, peer: p.peer, host: h.host, events: h.events, peerEvents: p.events, last: p.last }))));
        if (peers.length === 0) return out('no retransmission events with a peer in the range\n');
        const { renderTable } = await import('../../sinks/table.js');
        out(renderTable(peers, [
          { header: 'PEER', value: (p) => p.peer },
          { header: 'EVENTS', value: (p) => p.events, align: 'right' },
          { header: 'HOSTS', value: (p) => p.hosts.map((h) => `${h.host}:${h.events}`).join(' '), maxWidth: 60 },
          { header: 'LAST', value: (p) => p.last },
        ]));
      }),
    );
}
