/**
 * `tcpdiag serve`: open the history, decide the token, bind, collect until the signal aborts,
 * then stop the collectors, close the server and the store. Library code: what it says goes
 * through `say` (stdout) and `note` (stderr); the CLI owns the process.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { TcpdiagError, describeSystemError } from '../errors.js';
import type { AlertTransition } from '../model/alert.js';
import { HistoryStore } from '../store/history.js';
import type { RetentionOptions } from '../store/history.js';
import { agentRegistry } from '../sinks/prometheus/metrics.js';
import type { PeerMetricsOptions } from '../sinks/prometheus/peer-metrics.js';
import { registerHealthScore } from '../sinks/prometheus/export-metrics.js';
import { healthScore } from '../model/health.js';
import { Agent } from './agent.js';
import type { AgentOptions } from './agent.js';
import { createAgentServer, createFleetServer, streamOf } from './http.js';
import type { Server } from 'node:http';
import type { FleetEngines } from './api-fleet.js';
import { resolveToken } from './token.js';
import { fleetExporters } from './exporters/index.js';
import type { FleetExportOptions } from './exporters/index.js';
import { Recordings } from './recordings.js';
import { GeoIp } from './geoip.js';
import type { RecordingsOptions } from './recordings.js';
import type { PlanApiOptions } from './api-plans.js';
import type { GuardApiOptions } from './api-guard.js';

export interface ServeOptions extends Omit<AgentOptions, 'store' | 'retention'> {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly storePath: string;
  readonly retention: RetentionOptions;
  readonly configuredToken: string;
  readonly newToken: boolean;
  readonly topListeners: number;
  /** Per-peer series in /metrics (agent.metrics_peer_labels); null: none. */
  readonly peerMetrics: PeerMetricsOptions | null;
  /** agent.geoip_file ("" : none). */
  readonly geoipFile: string;
  readonly version: string;
  readonly say: (line: string) => void;
  readonly onTransition?: (t: AlertTransition) => void;
  /** Remote write and ClickHouse export ([fleet], --remote-write, --clickhouse). */
  readonly fleet?: FleetExportOptions;
  /** Escalations, captures, traces and the capture rings ([escalation], agent.actions). */
  readonly recordings: Omit<RecordingsOptions, 'history' | 'bus' | 'note'>;
  /** Change plans through the API (agent.plans_dir, guard.data_dir, agent.actions). */
  readonly plans?: PlanApiOptions;
  /** The [guard] settings of POST /api/v1/guard/observe. */
  readonly guard?: GuardApiOptions;
  /** The engines the fleet API and the Fleet page ask (fleet.prometheus, fleet.clickhouse); absent: none configured. */
  readonly fleetEngines?: Omit<FleetEngines, 'signal'>;
}

/** Bind, or say what holds the address; returns what to print (the address as a URL). */
async function listen(server: Server, host: string, port: number): Promise<string> {
  server.listen(port, host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  } catch (error: unknown) {
    throw new TcpdiagError('TCPDIAG_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${describeSystemError(error)}`, { hint: 'pick another --listen ADDR:PORT (or agent.port), or stop what holds it (ss -ltnp)', cause: error });
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}

export interface FleetServeOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly configuredToken: string;
  readonly newToken: boolean;
  readonly version: string;
  readonly engines: Omit<FleetEngines, 'signal'>;
  readonly signal: AbortSignal;
  readonly say: (line: string) => void;
  readonly note: (text: string) => void;
}

/**
 * `tcpdiag serve --fleet`: the dashboard and the fleet API over the configured engines, with no
 * collector, no history and no tracing (one view of many agents, on a host of its own).
 */
export async function runFleetServe(options: FleetServeOptions): Promise<void> {
  const token = resolveToken(options.configuredToken, options.dataDir, options.host, options.newToken);
  const server = createFleetServer({ context: { engines: { ...options.engines, signal: options.signal }, version: options.version, startedAtMs: Date.now() }, token: token.token, onError: options.note });
  const url = await listen(server, options.host, options.port);
  try {
    if (token.generated) options.say(`token (shown once; kept in ${token.file}, mode 0600): ${token.token!}`);
    options.say(`listening on ${url}`);
    const e = options.engines;
    options.note(`fleet view only (no local collectors): hosts from ${e.prometheus === '' ? 'no metrics store (set fleet.prometheus)' : e.prometheus}, events from ${e.clickhouse.url === '' ? 'no ClickHouse (set fleet.clickhouse)' : e.clickhouse.url}${token.token === null ? '' : '; requests need the bearer token'}`);
    if (!options.signal.aborted) await once(options.signal, 'abort');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function runServe(options: ServeOptions): Promise<void> {
  const token = resolveToken(options.configuredToken, options.dataDir, options.host, options.newToken);
  // Before the store: a wrong path is a one-line error at start, not a page that says nothing.
  const geoip = options.geoipFile === '' ? null : GeoIp.open(options.geoipFile);
  const store = HistoryStore.open(options.storePath);
  try {
    const agent = new Agent({ ...options, store });
    const recordings = Recordings.open({ ...options.recordings, history: store, bus: agent.bus, note: options.note });
    const registry = agentRegistry(() => agent.snapshot(), options.topListeners, options.peerMetrics);
    registerHealthScore(registry, () => (agent.findingsAtMs === null ? null : healthScore(agent.findings).score));
    const fleet = options.fleetEngines === undefined ? {} : { fleet: { ...options.fleetEngines, signal: options.signal } };
    const server = createAgentServer({ context: { agent, store, version: options.version, signal: options.signal, recordings, geoip, ...(options.plans === undefined ? {} : { plans: options.plans }), ...(options.guard === undefined ? {} : { guard: options.guard }), ...fleet }, registry, token: token.token, onError: options.note });
    const url = await listen(server, options.host, options.port);
    if (token.generated) options.say(`token (shown once; kept in ${token.file}, mode 0600): ${token.token!}`);
    options.say(`listening on ${url}`);
    options.note(`history in ${store.path}; counters every ${options.countersIntervalMs / 1000} s, sockets every ${options.socketsIntervalMs / 1000} s${token.token === null ? '' : '; requests need the bearer token'}`);
    const exporters = options.fleet === undefined ? null : fleetExporters(options.fleet, { dataDir: options.dataDir, registry, bus: agent.bus, userAgent: `tcpdiag/${options.version}`, signal: options.signal, note: options.note });
    if (options.fleet !== undefined && exporters !== null) {
      const f = options.fleet;
      options.note(`fleet: host ${f.host}${f.remoteWrite === '' ? '' : `; metrics to ${f.remoteWrite} every ${f.remoteWriteIntervalMs / 1000} s`}${f.clickhouse === '' ? '' : `; events to ${f.clickhouse}`}`);
    }
    try {
      recordings.start();
      await Promise.all([agent.run(), exporters?.run()]);
    } finally {
      await recordings.close();
      streamOf(server)?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  } finally {
    store.close();
  }
}
