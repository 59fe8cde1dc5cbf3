/**
 * The one configuration schema. Keys are spelled exactly as in tcp_diag.conf (snake_case TOML),
 * so an error names the key path the user wrote: `capture.snaplen: expected ...`.
 * Every key has a default; the file, the environment and flags only override.
 */
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
const percent = z.number().min(0).max(100);

export const agentSchema = z.strictObject({
  /** Address the dashboard/API binds. Loopback unless the operator says otherwise. */
  listen: z.string().min(1).default('127.0.0.1'),
  port: port.default(7070),
  /** Bearer token; required whenever `listen` is not a loopback address. */
  token: z.string().default(''),
  /** How often the agent samples sockets and counters. */
  sample_interval_s: z.number().min(0.1).max(3600).default(5),
});

export const captureSchema = z.strictObject({
  /** Interface to capture on; "any" is every interface (LINUX_SLL2 frames). */
  interface: z.string().min(1).default('any'),
  direction: z.enum(['in', 'out', 'both']).default('both'),
  /** Capture depth in bytes: 65535 keeps whole packets on every common MTU, as tcpdump -s 0 does. */
  snaplen: z.number().int().min(64).max(262144).default(65535),
  /** Rotating files kept in continuous capture (0 = one file, no rotation). */
  ring_files: z.number().int().min(0).max(10000).default(0),
  ring_file_mb: z.number().int().min(1).max(100000).default(100),
  directory: z.string().min(1).default('/var/lib/tcpdiag/captures'),
});

export const storageSchema = z.strictObject({
  path: z.string().min(1).default('/var/lib/tcpdiag/tcpdiag.db'),
  retention_days: z.number().min(0.01).max(3650).default(7),
});

export const traceSchema = z.strictObject({
  /** Per-CPU tracefs ring size; the default 1.4 MiB lost 35% of a burst here (architecture.md). */
  buffer_kb: z.number().int().min(1024).max(1048576).default(16384),
  poll_interval_ms: z.number().int().min(10).max(5000).default(100),
});

/**
 * Health thresholds. Defaults are the figures field guides for TCP operations quote: new
 * connections <= 500/s normal and a +300% surge anomalous, > 5000/s critical; SYN > 10000/s;
 * retransmissions > 1%; loss > 5% held 60 s; RTT > 100 ms; connect timeouts > 0.5%; > 80% of
 * capacity; an advertised window under 10 KB; a 1 MB transfer over 15 ms.
 */
export const thresholdsSchema = z.strictObject({
  new_connections_per_s: z.number().min(0).default(500),
  new_connections_critical_per_s: z.number().min(0).default(5000),
  new_connections_surge_percent: z.number().min(0).default(300),
  syn_per_s: z.number().min(0).default(10000),
  retrans_ratio_percent: percent.default(1),
  loss_percent: percent.default(5),
  loss_hold_s: z.number().min(0).default(60),
  rtt_ms: z.number().min(0).default(100),
  connect_timeout_rate_percent: percent.default(0.5),
  capacity_percent: percent.default(80),
  window_low_bytes: z.number().int().min(0).default(10240),
  time_wait_max: z.number().int().min(0).default(20000),
  close_wait_max: z.number().int().min(0).default(100),
  transfer_1mb_ms: z.number().min(0).default(15),
});

export const REDACTION_KINDS = ['id_card', 'phone', 'email', 'bank_card'] as const;

export const privacySchema = z.strictObject({
  /** Mask sensitive payload data before anything is shown or written. */
  redact: z.boolean().default(false),
  kinds: z.array(z.enum(REDACTION_KINDS)).default([...REDACTION_KINDS]),
  /** Extra regular expressions (JavaScript syntax) whose matches are masked. */
  patterns: z
    .array(
      z.string().refine((p) => {
        try {
          new RegExp(p, 'g');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
    )
    .default([]),
  /** Byte used to mask ('*' keeps lengths and stays printable). */
  mask_char: z.string().length(1).default('*'),
});

export const configSchema = z.strictObject({
  agent: agentSchema.prefault({}),
  capture: captureSchema.prefault({}),
  storage: storageSchema.prefault({}),
  trace: traceSchema.prefault({}),
  thresholds: thresholdsSchema.prefault({}),
  privacy: privacySchema.prefault({}),
});

export type TcpdiagConfig = z.infer<typeof configSchema>;
/** What a file, the environment or flags may set: any subset of sections and keys. */
export type ConfigOverrides = { [S in keyof TcpdiagConfig]?: Partial<TcpdiagConfig[S]> };
