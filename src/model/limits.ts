/**
 * The ranges of values tcpdiag accepts, each defined once and used by the flag parsers, the
 * configuration schema and the library checks alike, so a limit cannot drift between them.
 */
import { MAX_DURATION_MS } from './units.js';
import type { DurationRange, NumberRange } from './units.js';

export const PORT: NumberRange = { name: 'a TCP port', min: 1, max: 65535 };
/** A port to listen on: 0 asks the kernel for a free one. */
export const LISTEN_PORT: NumberRange = { name: 'a port to listen on (0: the kernel picks)', min: 0, max: 65535 };
/** PID_MAX_LIMIT on 64-bit kernels is 4 * 1024 * 1024 (include/linux/threads.h). */
export const PID: NumberRange = { name: 'a process id', min: 1, max: 4 * 1024 * 1024 };
/**
 * TCP_MAXSEG accepts TCP_MIN_MSS (88) to MAX_TCP_WINDOW (32767) (include/net/tcp.h; checked in
 * tcp_sock_set_maxseg, net/ipv4/tcp.c). Measured here: 32767 is accepted, 32768 gives EINVAL.
 */
export const MSS: NumberRange = { name: 'an MSS in bytes', min: 88, max: 32767 };
/** tcpdump's MAXIMUM_SNAPLEN is 262144; below 64 bytes not even the headers fit. */
export const SNAPLEN: NumberRange = { name: 'a snapshot length in bytes', min: 64, max: 262144 };
/** Per-CPU tracefs buffer: below 1 MiB bursts are lost (architecture.md: 35% at the kernel default). */
export const TRACE_BUFFER_KB: NumberRange = { name: 'a per-CPU buffer size in KiB', min: 1024, max: 1024 * 1024 };
export const PERCENT: NumberRange = { name: 'a percentage', min: 1, max: 100 };
/** fault delay/reorder: how long a packet is held, and the jitter around it (milliseconds). */
export const HOLD_MS: NumberRange = { name: 'a hold in milliseconds', min: 0, max: 60_000, minExclusive: true };
export const JITTER_MS: NumberRange = { name: 'a jitter in milliseconds', min: 0, max: 60_000 };
/** A share of requests that may fail (bench --max-error-rate): 0 fails on any error. */
export const ERROR_RATE_PERCENT: NumberRange = { name: 'a percentage', min: 0, max: 100 };
/** Growth or drop allowed before a run counts as regressed. */
export const PERCENT_CHANGE: NumberRange = { name: 'a percentage', min: 0, max: 1_000_000 };
/** Counts of packets, events, requests and repeats: past 10^9, bound the run by a duration instead. */
export const COUNT: NumberRange = { name: 'a count', min: 1, max: 1_000_000_000 };
export const COUNT_OR_ZERO: NumberRange = { name: 'a count', min: 0, max: 1_000_000_000 };
/** Rotating capture files kept at once. */
/** tcpdump -B, in KiB: 1 MiB to 4 GiB. */
export const CAPTURE_BUFFER_KIB: NumberRange = { name: 'a buffer size in KiB', min: 1024, max: 4 * 1024 * 1024 };
export const RING_FILES: NumberRange = { name: 'a number of files', min: 1, max: 10_000 };
/** Concurrent connections of one load generator: each is a file descriptor (20000 per process here). */
export const CONNECTIONS: NumberRange = { name: 'a number of connections', min: 1, max: 1_000_000 };
export const THREADS: NumberRange = { name: 'a number of threads', min: 1, max: 256 };
/**
 * An open-loop rate: the schedule is kept per request, so the rate bounds memory; 10^8/s
 * took 1.1 GB and 10^300 crashed V8. One host does not generate more than 10^6 requests/s.
 */
export const REQUEST_RATE: NumberRange = { name: 'a rate in requests per second', min: 0, max: 1_000_000, minExclusive: true };
/** Sizes of payloads and files: at most 1 GiB. */
export const BYTES: NumberRange = { name: 'a size in bytes', min: 1, max: 1024 ** 3 };
export const BYTES_OR_ZERO: NumberRange = { name: 'a size in bytes', min: 0, max: 1024 ** 3 };
/** Rows, top-N lists, listed connections. */
export const ROWS: NumberRange = { name: 'a number of rows', min: 1, max: 10_000_000 };
/** listen() backlog: the kernel caps it at net.core.somaxconn; the syscall takes an int. */
export const BACKLOG: NumberRange = { name: 'a backlog', min: 1, max: 2_147_483_647 };

/**
 * The most tcpdiag reads of each kind of file the user names (platform/read-file.ts): far
 * above any real one (Debian's whole CA bundle is about 220 KiB), far below what would
 * exhaust memory.
 */
export const FILE_LIMITS = {
  config: 1024 * 1024,
  caBundle: 4 * 1024 * 1024,
  baseline: 16 * 1024 * 1024,
  payload: 64 * 1024 * 1024,
  /** The alert state file: baselines of up to baseline_max_series series of a day of minute buckets. */
  alertState: 64 * 1024 * 1024,
} as const;

/** A refresh period (watch, intervals): at least 10 ms, so a typo does not spin a core. */
export const REFRESH_INTERVAL: DurationRange = { minMs: 10, maxMs: MAX_DURATION_MS };
/** One step's deadline or delay (connect timeout, accept delay): a day is past any real one. */
export const STEP_TIMEOUT: DurationRange = { minMs: 1, maxMs: 24 * 3_600_000 };

/** How far back `tcpdiag fleet` looks: a second to a year (past a year ClickHouse partitions are usually dropped). */
export const FLEET_SINCE: DurationRange = { minMs: 1000, maxMs: 366 * 86_400_000 };
/** Rows or peers a fleet question prints at most. */
export const FLEET_ROWS: NumberRange = { name: 'a number of rows', min: 1, max: 100_000 };

/** The range as a TCPDIAG usage check for library code (the CLI checks at parse time). */
export function inRange(value: number, range: NumberRange): boolean {
  const low = range.minExclusive === true ? value <= range.min : value < range.min;
  return Number.isFinite(value) && !low && value <= range.max;
}
/**
 * Peers named per metric in /metrics with agent.metrics_peer_labels: a hard ceiling, so that
 * no configuration turns one series per address back on (each named peer is 3 series).
 */
export const METRICS_TOP_PEERS: NumberRange = { name: 'a number of peers', min: 1, max: 200 };
/** Blocks of agent.metrics_peer_prefixes, each one more series per metric. */
export const METRICS_PEER_PREFIXES_MAX = 50;
