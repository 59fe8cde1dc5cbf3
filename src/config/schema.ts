/**
 * The one configuration schema. Keys are spelled exactly as in tcp_diag.conf (snake_case TOML),
 * so an error names the key path the user wrote: `capture.snaplen: expected ...`.
 * Every key has a default; the file, the environment and flags only override.
 *
 * Written with zod/mini: the full zod build takes ~73 ms to load here (bundled), zod/mini ~4 ms,
 * and every command reads the configuration, `stats` included, which must start in well under
 * 100 ms. Ranges shared with flags come from model/limits.ts, so a flag and its key agree.
 */
import * as z from 'zod/mini';
import { METRICS_PEER_PREFIXES_MAX, METRICS_TOP_PEERS, PORT, SNAPLEN, TRACE_BUFFER_KB } from '../model/limits.js';
import { ALERT_METRICS, ALERT_SCOPES, ALERT_SEVERITIES } from '../model/alert.js';
import type { NumberRange } from '../model/units.js';
import { parseCidr } from '../model/address.js';
import { AGENT_ACTIONS } from '../model/recording.js';
import { PLAN_ACTIONS } from '../model/guard.js';

const int = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));
const intIn = (range: NumberRange) => int(range.min, range.max);
const atLeast = (min: number) => z.number().check(z.minimum(min));
const between = (min: number, max: number) => z.number().check(z.minimum(min), z.maximum(max));
const nonEmpty = () => z.string().check(z.minLength(1));
const percent = () => between(0, 100);

export const agentSchema = z.strictObject({
  /** Address the dashboard/API binds. Loopback unless the operator says otherwise. */
  listen: z._default(nonEmpty(), '127.0.0.1'),
  /** 9477: unassigned by IANA and not taken in Prometheus's default port allocations list. */
  port: z._default(intIn(PORT), 9477),
  /** Bearer token; required whenever `listen` is not a loopback address. */
  token: z._default(z.string(), ''),
  /** Where the agent keeps its history (history.db), its generated token and its alert state. */
  data_dir: z._default(nonEmpty(), '/var/lib/tcpdiag'),
  /** The kernel's counters, the state counts and the listener table are read this often. */
  counters_interval_s: z._default(between(0.1, 3600), 1),
  /** How often the agent reads the whole socket table (with tcp_info) and judges the alerts. */
  sample_interval_s: z._default(between(0.1, 3600), 5),
  /** The diagnosis rules judge the last window this often (0: only on request, POST /api/v1/diagnose). */
  diagnose_interval_s: z._default(between(0, 86400), 60),
  /** Listeners exported with their accept queue in /metrics: those with the fullest queues. */
  metrics_top_listeners: z._default(int(0, 1000), 20),
  /**
   * Per-peer series in /metrics (connections, retransmissions and resets by remote address). Off:
   * one series per address is the cardinality that sank per-IP metrics in other agents.
   */
  metrics_peer_labels: z._default(z.boolean(), false),
  /** With metrics_peer_labels: the busiest peers named; every other one is summed into peer="other". */
  metrics_top_peers: z._default(intIn(METRICS_TOP_PEERS), 20),
  /** With metrics_peer_labels: blocks always shown, each as one series summing its addresses (peer="10.0.0.0/8"). */
  metrics_peer_prefixes: z._default(z.array(z.string().check(z.refine(isCidr, 'expected an address or CIDR block such as 10.0.0.0/8'))).check(z.maxLength(METRICS_PEER_PREFIXES_MAX)), []),
  /** A MaxMind DB (.mmdb) country file: the peers are grouped by country ("" : by /24 and /48 prefix only). */
  geoip_file: z._default(z.string(), ''),
  /** What the API may start or change: captures and traces on request (none by default: an open API changes nothing). */
  actions: z._default(z.array(z.enum([...AGENT_ACTIONS, ...PLAN_ACTIONS])), []),
  /** Plan files (tcpdiag guard plan / tune plan -o) the API lists, shows and approves; "" is off. */
  plans_dir: z._default(z.string(), ''),
});

/** The agent's continuous kernel events (root and tracefs; without them the agent runs without). */
export const eventsSchema = z.strictObject({
  enabled: z._default(z.boolean(), true),
  /** Per-CPU tracefs ring; 16 MiB held a 150k events/s burst without loss here (architecture.md). */
  buffer_kb: z._default(intIn(TRACE_BUFFER_KB), 16384),
  /** How often the rings are drained (non-blocking reads). */
  poll_interval_ms: z._default(int(10, 5000), 100),
  /** A socket that leaves SYN_SENT, SYN_RECV, FIN_WAIT*, CLOSE_WAIT, CLOSING or LAST_ACK after this long is kept as an anomaly. */
  slow_state_s: z._default(between(0.1, 86400), 10),
  /** Abnormal events kept one by one per second; beyond it they are only counted (a reset storm must not fill the disk). */
  max_stored_per_s: z._default(int(1, 100000), 200),
  /** Events kept at most, and for how long (rollups and per-second counts as long). */
  max_stored: z._default(int(1000, 100_000_000), 1_000_000),
  retention_days: z._default(between(0.01, 3650), 7),
  /** Peers kept per minute in the rollups; the rest are summed as "other". */
  top_peers: z._default(int(1, 10000), 100),
  /**
   * Inside a network namespace tracepoints still fire for every namespace (they carry none):
   * "off" collects nothing there; "own-addresses" keeps only the events whose local address is
   * one of this namespace's own non-loopback addresses (read again every second), which is
   * right when the namespaces' addresses do not overlap (loopback traffic is left out).
   */
  in_namespace: z._default(z.enum(['off', 'own-addresses']), 'off'),
});

export const captureSchema = z.strictObject({
  /** Interface to capture on; "any" is every interface (LINUX_SLL2 frames). */
  interface: z._default(nonEmpty(), 'any'),
  direction: z._default(z.enum(['in', 'out', 'both']), 'both'),
  /** Capture depth in bytes: 65535 keeps whole packets on every common MTU, as tcpdump -s 0 does. */
  snaplen: z._default(intIn(SNAPLEN), 65535),
  /** The kernel's capture buffer (tcpdump -B): loopback bursts overflow tcpdump's 2 MiB (see DEFAULT_BUFFER_KIB). */
  buffer_mb: z._default(int(1, 4096), 32),
  /** Rotating files kept in continuous capture (0 = one file, no rotation). */
  ring_files: z._default(int(0, 10000), 0),
  ring_file_mb: z._default(int(1, 100000), 100),
  directory: z._default(nonEmpty(), '/var/lib/tcpdiag/captures'),
});

export const storageSchema = z.strictObject({
  /** The history file; "" is history.db in agent.data_dir. */
  path: z._default(z.string(), ''),
  /** How long 1 h aggregates (and alerts and findings) are kept. */
  retention_days: z._default(between(0.01, 3650), 30),
  /** How long 1 s samples are kept before only their 1 min aggregates remain. */
  retention_1s_h: z._default(between(0.01, 24 * 365), 24),
  /** How long 1 min aggregates are kept. */
  retention_1m_days: z._default(between(0.01, 3650), 7),
  /** The file is kept under this size by dropping the oldest 1 s rows first. */
  max_size_mb: z._default(between(1, 1024 * 1024), 512),
});

export const traceSchema = z.strictObject({
  /** Per-CPU tracefs ring size; the default 1.4 MiB lost 35% of a burst here (architecture.md). */
  buffer_kb: z._default(intIn(TRACE_BUFFER_KB), 16384),
  poll_interval_ms: z._default(int(10, 5000), 100),
});

/**
 * Health thresholds. Defaults are the figures field guides for TCP operations quote: new
 * connections <= 500/s normal and a +300% surge anomalous, > 5000/s critical; SYN > 10000/s;
 * retransmissions > 1%; loss > 5% held 60 s; RTT > 100 ms; connect timeouts > 0.5%; > 80% of
 * capacity; an advertised window under 10 KB; a 1 MB transfer over 15 ms.
 */
export const thresholdsSchema = z.strictObject({
  new_connections_per_s: z._default(atLeast(0), 500),
  new_connections_critical_per_s: z._default(atLeast(0), 5000),
  new_connections_surge_percent: z._default(atLeast(0), 300),
  syn_per_s: z._default(atLeast(0), 10000),
  retrans_ratio_percent: z._default(percent(), 1),
  loss_percent: z._default(percent(), 5),
  loss_hold_s: z._default(atLeast(0), 60),
  rtt_ms: z._default(atLeast(0), 100),
  connect_timeout_rate_percent: z._default(percent(), 0.5),
  capacity_percent: z._default(percent(), 80),
  window_low_bytes: z._default(int(0, Number.MAX_SAFE_INTEGER), 10240),
  time_wait_max: z._default(int(0, Number.MAX_SAFE_INTEGER), 20000),
  close_wait_max: z._default(int(0, Number.MAX_SAFE_INTEGER), 100),
  transfer_1mb_ms: z._default(atLeast(0), 15),
});

/**
 * What `tcpdiag diagnose` (and the alerts that reuse its rules) counts as a problem, beside the
 * shared figures of [thresholds] (ratios, RTT, capacity_percent). Each default says where it
 * comes from; a rule's `checked` entry shows the value it was compared with.
 */
export const diagnoseSchema = z.strictObject({
  /** The observation window when --duration is not given. */
  duration_s: z._default(between(1, 3600), 10),
  /** At most this much of each --log file or --journal unit is read per window (the newest part). */
  log_max_mb: z._default(between(0.01, 1024), 8),
  /**
   * CLOSE_WAIT sockets one process held, idle, through the whole window. An application closes
   * within milliseconds of reading EOF; five that outlive a window are a pattern, not a race.
   */
  close_wait_stuck_min: z._default(int(1, Number.MAX_SAFE_INTEGER), 5),
  /**
   * FIN_WAIT2 sockets toward one peer held through the whole window: we closed, the peer
   * acknowledged our FIN and never sent its own. An orphaned one still lasts tcp_fin_timeout
   * (60 s, TCP_FIN_TIMEOUT in include/net/tcp.h), so a few are normal churn; ten are a peer that
   * does not close.
   */
  fin_wait2_stuck_min: z._default(int(1, Number.MAX_SAFE_INTEGER), 10),
  /**
   * SYN retransmissions before a SYN_SENT socket counts as unanswered: the first SYN is resent
   * after 1 s (TCP_TIMEOUT_INIT, RFC 6298 section 2.1) and the gap doubles, so two resends mean
   * no answer for 3 s, far beyond any real path's RTT.
   */
  syn_sent_retransmits_min: z._default(int(1, 10), 2),
  /** Failed connection attempts in the window below which no rate is judged. */
  connect_failures_min: z._default(int(1, Number.MAX_SAFE_INTEGER), 3),
  /** Segments sent in the window below which the retransmission ratio is not judged (1% of 1000 is 10). */
  retrans_min_segments: z._default(int(1, Number.MAX_SAFE_INTEGER), 1000),
  /** Retransmitted segments in the window below which no ratio is judged. */
  retrans_min_count: z._default(int(1, Number.MAX_SAFE_INTEGER), 10),
  /** A peer's RTT rising by this much over the window (the +300% the field guides call a surge). */
  rtt_jump_percent: z._default(atLeast(0), 300),
  /** Sockets to one peer needed before its RTT percentiles are judged. */
  rtt_min_sockets: z._default(int(1, Number.MAX_SAFE_INTEGER), 3),
  /**
   * Idle time after which a NAT or load balancer may forget a connection: 350 s is the AWS NAT
   * gateway's idle timeout (Azure's load balancer defaults to 4 min, GCP Cloud NAT to 1200 s for
   * established TCP); connections idle longer with keepalive off or slower are at risk.
   */
  nat_idle_timeout_s: z._default(atLeast(1), 350),
  /** Connections idle past nat_idle_timeout_s, toward one peer, before keepalive is a finding. */
  keepalive_min_connections: z._default(int(1, Number.MAX_SAFE_INTEGER), 1),
  /** Resets in the window below which no reset rate is judged. */
  reset_min: z._default(int(1, Number.MAX_SAFE_INTEGER), 20),
  /** Resets as a share of the connections opened in the window (one in twenty closing by RST). */
  reset_percent: z._default(atLeast(0), 5),
  /**
   * Connections one source holds idle to a listener before it looks like slowloris: its tool
   * opens 150 by default; an ordinary client or a NAT gateway rarely keeps 50 connections that
   * sent almost nothing and were never answered.
   */
  slow_attack_min_connections: z._default(int(1, Number.MAX_SAFE_INTEGER), 50),
  /** "Nearly idle": at most this many bytes received per connection over the window. */
  slow_attack_max_bytes: z._default(int(0, Number.MAX_SAFE_INTEGER), 1024),
  /** Consecutive RTO retransmissions of the head segment (tcpi_retransmits) that make a connection stalled. */
  stall_rto_min: z._default(int(1, Number.MAX_SAFE_INTEGER), 2),
});

/**
 * One alert rule in [alerts.rules.NAME]: a shipped rule's keys override its defaults (and
 * `enabled = false` turns it off); a new name with a `metric` adds a rule. Durations in seconds.
 */
export const alertRuleSchema = z.strictObject({
  enabled: z.optional(z.boolean()),
  metric: z.optional(z.enum(ALERT_METRICS)),
  comparison: z.optional(z.enum(['above', 'below'])),
  threshold: z.optional(z.number()),
  /** Hold: the condition must last this long before the alert fires (Prometheus `for`). */
  for_s: z.optional(between(0, 86400)),
  /** A firing alert resolves only after the condition has been clear this long (Prometheus `keep_firing_for`). */
  keep_firing_for_s: z.optional(between(0, 86400)),
  /** Clear means below this (a lower bar than the threshold avoids flapping). */
  resolve_threshold: z.optional(z.number()),
  severity: z.optional(z.enum(ALERT_SEVERITIES)),
  scope: z.optional(z.enum(ALERT_SCOPES)),
  max_instances: z.optional(int(1, 100000)),
  repeat_interval_s: z.optional(between(0, 7 * 86400)),
  /** Baseline rules: fire at this much above the learned usual (300: four times it). */
  surge_percent: z.optional(atLeast(0)),
  deviations: z.optional(atLeast(0)),
  floor: z.optional(atLeast(0)),
  summary: z.optional(nonEmpty()),
});

/**
 * `tcpdiag serve`'s detailed tiers: what an alert or a finding escalates to (a trace and a
 * capture narrowed to its listener or peer, for a bounded time), how often, and the continuous
 * capture ring on key interfaces whose last minutes are frozen when an alert fires.
 */
export const escalationSchema = z.strictObject({
  /** Escalate on alerts that begin firing and on the findings below. */
  enabled: z._default(z.boolean(), true),
  /** What an escalation records. */
  trace: z._default(z.boolean(), true),
  capture: z._default(z.boolean(), true),
  /** Socket fields at each state change through bpftrace (it starts in a few seconds); tracefs alone when bpftrace cannot run. */
  trace_detail: z._default(z.boolean(), true),
  /** How long an escalation's trace and capture run. */
  duration_s: z._default(between(1, 3600), 60),
  /** Diagnosis findings that escalate like an alert (their subject is the scope). */
  on_findings: z._default(z.array(nonEmpty()), ['syn-flood', 'listen-overflow', 'retransmission-high', 'reset-storm', 'zero-window', 'close-wait-leak', 'conn-refused', 'syn-sent-unanswered', 'mtu-blackhole', 'slow-connection-attack']),
  /** Recordings running at once (escalations and requests together). */
  max_concurrent: z._default(int(1, 64), 2),
  /** After an escalation of a scope ends, that scope does not escalate again for this long. */
  cooldown_s: z._default(between(0, 86400), 600),
  /** Each capture stops once it has written this much. */
  capture_max_mb: z._default(between(0.01, 100000), 50),
  /** Each trace stops once its event log is this large. */
  trace_max_mb: z._default(between(0.01, 100000), 20),
  /** Interface of the escalation captures ("any": every interface). */
  interface: z._default(nonEmpty(), 'any'),
  /** Capture depth of the escalation captures. */
  snaplen: z._default(intIn(SNAPLEN), 65535),
  /** Where recordings are kept; "" is DATA/recordings. */
  directory: z._default(z.string(), ''),
  /** All recordings' files together are kept under this: the oldest files go first. */
  max_total_mb: z._default(between(1, 10_000_000), 2048),
  /** An uploaded capture (POST /api/v1/analyze) larger than this is refused (413). */
  upload_max_mb: z._default(between(0.01, 100000), 64),
  /** Key interfaces: a continuous capture runs on each into a bounded ring of files. */
  ring_interfaces: z._default(z.array(nonEmpty()), []),
  /** The ring's capture depth: headers (128 bytes keep TCP options) rather than payloads. */
  ring_snaplen: z._default(intIn(SNAPLEN), 128),
  /** Disk each ring may use, and the size of each of its files (it keeps max_mb / file_mb files). */
  ring_max_mb: z._default(between(1, 1_000_000), 200),
  ring_file_mb: z._default(between(0.1, 100_000), 10),
  /** How far back from the moment an alert fires the frozen recording of a ring reaches. */
  ring_before_s: z._default(between(1, 86400), 300),
});

const httpUrl = () => z.string().check(z.refine((text) => text === '' || /^https?:\/\/[^\s]+$/.test(text), 'expected an http:// or https:// URL, or ""'));

/** `tcpdiag watch`: sampling, baselines, where alerts go, and the rules ([alerts.rules.NAME]). */
export const alertsSchema = z.strictObject({
  /** Sampling interval: 5 s is what the loss threshold (5% held 60 s) is judged on. */
  interval_s: z._default(between(0.1, 3600), 5),
  /** Learned baselines and firing alerts, kept across restarts (written atomically). "" keeps nothing. */
  state_file: z._default(z.string(), '/var/lib/tcpdiag/alerts-state.json'),
  /** Samples are averaged into buckets of this length; the baseline is the median of the last history_h hours of them. */
  baseline_bucket_s: z._default(between(0.1, 3600), 60),
  baseline_history_h: z._default(between(0.001, 24 * 28), 24),
  /** Buckets needed before a baseline judges (30 one-minute buckets: half an hour of normal traffic). */
  baseline_warmup_buckets: z._default(int(1, 1000000), 30),
  /** Compare each hour of the week with the same hour of earlier weeks (UTC), once it has warmed up. */
  baseline_hour_of_week: z._default(z.boolean(), false),
  /** Baseline series kept at most (a metric in one scope each). */
  baseline_max_series: z._default(int(1, 1000000), 1000),
  /** Segments sent in one sample below which a retransmission ratio is not judged. */
  min_segments: z._default(int(1, Number.MAX_SAFE_INTEGER), 500),
  /** Connection attempts in one sample below which the failure share is not judged. */
  min_attempts: z._default(int(1, Number.MAX_SAFE_INTEGER), 20),
  /** Receivers: a webhook (Alertmanager's webhook format), an Alertmanager (its /api/v2/alerts), a command (argv, the alert as JSON on stdin). */
  webhook: z._default(httpUrl(), ''),
  alertmanager: z._default(httpUrl(), ''),
  exec: z._default(z.array(nonEmpty()), []),
  /** Each delivery attempt's deadline, the retries after a failure (with doubling backoff), and the queue kept per receiver. */
  sink_timeout_s: z._default(between(0.1, 300), 5),
  sink_retries: z._default(int(0, 100), 3),
  sink_queue: z._default(int(1, 100000), 1000),
  /** Firing alerts are re-pushed to Alertmanager this often, so it does not time them out (Prometheus resends every minute). */
  alertmanager_resend_s: z._default(between(1, 3600), 60),
  rules: z._default(z.record(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/)), alertRuleSchema), {}),
});

/**
 * Fleet exporters of `tcpdiag serve` and the engines `tcpdiag fleet` asks: metrics by
 * Prometheus remote write, events to ClickHouse's HTTP interface (DEVELOPERS.md, "Fleet").
 */
export const fleetSchema = z.strictObject({
  /** The `host` label on every series and the `host` column of every event row; "" is the hostname. */
  host_label: z._default(z.string(), ''),
  /** More labels on every series (`{ dc = "fra1", role = "lb" }`): Prometheus label names. */
  labels: z._default(z.record(z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.refine((n) => !n.startsWith('__') && n !== 'host', 'reserved label name')), z.string()), {}),
  /** Remote-write endpoint (Prometheus: http://HOST:9090/api/v1/write; VictoriaMetrics: http://HOST:8428/api/v1/write); "" sends nothing. */
  remote_write: z._default(httpUrl(), ''),
  /** How often the metrics are collected and queued: 15 s is Prometheus's usual scrape interval. */
  remote_write_interval_s: z._default(between(1, 3600), 15),
  /** Samples per request at most: ~30 collections of the agent's ~100 series. */
  remote_write_max_samples: z._default(int(100, 1_000_000), 5000),
  /** ClickHouse's HTTP interface (http://HOST:8123); "" sends nothing. */
  clickhouse: z._default(httpUrl(), ''),
  clickhouse_database: z._default(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)), 'default'),
  clickhouse_table: z._default(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)), 'tcpdiag_events'),
  clickhouse_user: z._default(nonEmpty(), 'default'),
  clickhouse_password: z._default(z.string(), ''),
  /** Event rows are gathered this long into one insert (ClickHouse prefers few large inserts). */
  events_flush_interval_s: z._default(between(0.1, 3600), 5),
  /** The bound on event rows per host: beyond it rows are counted, not sent (a `dropped` row says how many). */
  events_max_per_minute: z._default(int(1, 1_000_000), 600),
  /** Each exporter's on-disk backlog (in agent.data_dir/fleet/): held through a receiver outage, oldest dropped past this. */
  backlog_mb: z._default(between(0.01, 1024 * 1024), 64),
  /** Each request's deadline; failures are retried with doubling backoff from 1 s up to max_backoff_s. */
  timeout_s: z._default(between(0.1, 300), 10),
  max_backoff_s: z._default(between(1, 3600), 60),
  /** What `tcpdiag fleet` asks: a PromQL HTTP API (Prometheus or VictoriaMetrics) and ClickHouse; "" means the flags must say. */
  prometheus: z._default(httpUrl(), ''),
});

export const REDACTION_KINDS = ['id_card', 'phone', 'email', 'bank_card'] as const;

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'g');
    return true;
  } catch {
    return false;
  }
}

export const privacySchema = z.strictObject({
  /** Mask sensitive payload data before anything is shown or written. */
  redact: z._default(z.boolean(), false),
  kinds: z._default(z.array(z.enum(REDACTION_KINDS)), [...REDACTION_KINDS]),
  /** Extra regular expressions (JavaScript syntax) whose matches are masked. */
  patterns: z._default(z.array(z.string().check(z.refine(isRegExp, 'not a valid regular expression'))), []),
  /** Byte used to mask ('*' keeps lengths and stays printable). */
  mask_char: z._default(z.string().check(z.length(1)), '*'),
});

function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * `tcpdiag guard` and the change plans (`guard plan`, `tune plan`, `plan ...`): who is judged
 * how, what a plan proposes, and where plans keep their saved state and audit log.
 */
export const guardSchema = z.strictObject({
  /** Addresses or CIDR blocks never judged (your NAT egress, CDN ranges, monitoring): the allowlist wins over every sign. */
  allowlist: z._default(z.array(z.string().check(z.refine(isCidr, 'expected an address or CIDR block such as 10.0.0.0/8'))), []),
  /** Saved state of applied plans (applied/) and the append-only audit log (audit.log). */
  data_dir: z._default(nonEmpty(), '/var/lib/tcpdiag/plans'),
  /** The observation window when --duration is not given. */
  duration_s: z._default(between(1, 3600), 10),
  /** The socket table is read this often in the window (request sockets live ~1 s to 63 s, idle connections far longer). */
  poll_interval_ms: z._default(int(50, 60000), 250),
  /** An open connection idle this long counts as idle (slowloris sends a header line every 15 s by default). */
  idle_s: z._default(between(0.1, 86400), 10),
  /** ...if it moved at most this many bytes (the diagnosis rule slow-connection-attack's "nearly idle"). */
  idle_max_bytes: z._default(int(0, Number.MAX_SAFE_INTEGER), 1024),
  /** Idle connections one source holds before it is attacking (slowloris opens 150 by default; half of it is suspicious). */
  idle_connections_attack: z._default(int(1, Number.MAX_SAFE_INTEGER), 50),
  /** Half-open (SYN_RECV) connections one source holds at once before it is attacking. */
  half_open_attack: z._default(int(1, Number.MAX_SAFE_INTEGER), 32),
  /** New connections per second from one source that, with few completing, are a flood. */
  syn_rate_attack: z._default(atLeast(0.01), 100),
  /** Below this share of completed handshakes (0-1) a source's SYNs are not a real client's. */
  completion_min: z._default(between(0, 1), 0.5),
  /** Concurrent connections of one source that, if it does not move data, are suspicious. */
  connections_suspicious: z._default(int(1, Number.MAX_SAFE_INTEGER), 200),
  /** Bytes per connection above which a busy source is moving data (a NAT, CDN or proxy), not attacking. */
  active_min_bytes: z._default(int(0, Number.MAX_SAFE_INTEGER), 4096),
  /** Half-open connections over all sources that make a flood. */
  flood_half_open: z._default(int(1, Number.MAX_SAFE_INTEGER), 64),
  /** Distinct never-completing sources needed before a flood can be called spoofed. */
  spoofed_min_sources: z._default(int(1, Number.MAX_SAFE_INTEGER), 32),
  /** Share (0-1) of those seen only once for a flood to be spoofed. */
  spoofed_seen_once_share: z._default(between(0, 1), 0.8),
  /** A ban lasts this long and then expires by itself (an nft set element timeout). */
  ban_timeout_s: z._default(between(1, 365 * 86400), 600),
  /** A plan not applied within this long is refused: its evidence is stale. */
  plan_expiry_s: z._default(between(1, 30 * 86400), 3600),
  /** Per-source limits on an abused listener are never below these. */
  limit_min_connections: z._default(int(1, 1000000), 20),
  limit_min_syn_per_s: z._default(int(1, 1000000), 20),
});

/** Every section, by the name of its [header] in tcp_diag.conf. */
export const SECTION_SCHEMAS = {
  agent: agentSchema,
  events: eventsSchema,
  capture: captureSchema,
  storage: storageSchema,
  trace: traceSchema,
  thresholds: thresholdsSchema,
  diagnose: diagnoseSchema,
  privacy: privacySchema,
  alerts: alertsSchema,
  fleet: fleetSchema,
  guard: guardSchema,
  escalation: escalationSchema,
} as const;

export type SectionName = keyof typeof SECTION_SCHEMAS;
export const SECTION_NAMES = Object.keys(SECTION_SCHEMAS) as SectionName[];

export const configSchema = z.strictObject({
  agent: z.prefault(agentSchema, {}),
  events: z.prefault(eventsSchema, {}),
  capture: z.prefault(captureSchema, {}),
  storage: z.prefault(storageSchema, {}),
  trace: z.prefault(traceSchema, {}),
  thresholds: z.prefault(thresholdsSchema, {}),
  diagnose: z.prefault(diagnoseSchema, {}),
  privacy: z.prefault(privacySchema, {}),
  alerts: z.prefault(alertsSchema, {}),
  fleet: z.prefault(fleetSchema, {}),
  guard: z.prefault(guardSchema, {}),
  escalation: z.prefault(escalationSchema, {}),
});

export type TcpdiagConfig = z.infer<typeof configSchema>;
/** What a file, the environment or flags may set: any subset of sections and keys. */
export type ConfigOverrides = { [S in keyof TcpdiagConfig]?: Partial<TcpdiagConfig[S]> };
