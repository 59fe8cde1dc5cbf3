/**
 * POST /api/v1/guard/observe: one `tcpdiag guard` observation window run by the agent, with its
 * configured [guard] thresholds, allowlist and idle settings, answered with the GuardReport of
 * `tcpdiag guard --json` (the same contract, the same code: sessions/guard/guard-session.ts).
 * It only reads (the socket table with request sockets and tcp_info, off the main thread, and
 * the kernel's counters at both ends), so it needs no agent.actions entry; like every route it
 * needs the token when one is set.
 *
 * One observation at a time: a window holds a socket-table read every guard.poll_interval_ms,
 * and two at once would double that for the same answer. A request while one runs is refused
 * with TCPDIAG_BUSY (409), saying when the running one ends, rather than joined: a joined
 * request would get a window it did not ask for (another length, other ports).
 */
import * as z from 'zod/mini';
import { TcpdiagError, UsageError } from '../errors.js';
import type { Cidr } from '../model/address.js';
import type { GuardReport } from '../model/guard.js';
import type { GuardThresholds } from '../diagnose/guard/classify.js';
import { runGuard } from '../sessions/guard/guard-session.js';
import type { ApiContext, Route } from './api.js';

/** The longest window the API runs: a request waits for its whole window. */
export const GUARD_MAX_SECONDS = 60;
const MAX_PORTS = 64;

/** The agent's [guard] settings, as `tcpdiag guard` reads them. */
export interface GuardApiOptions {
  readonly thresholds: GuardThresholds;
  readonly allowlist: readonly Cidr[];
  readonly idleMs: number;
  readonly idleMaxBytes: number;
  readonly pollMs: number;
  /** guard.duration_s: the window when the request gives none (at most GUARD_MAX_SECONDS). */
  readonly durationS: number;
}

const observeSchema = z.strictObject({
  /** Length of the window, seconds (default guard.duration_s, at most 60). */
  seconds: z.optional(z.number().check(z.minimum(1, `expected 1-${GUARD_MAX_SECONDS} seconds`), z.maximum(GUARD_MAX_SECONDS, `expected 1-${GUARD_MAX_SECONDS} seconds`))),
  /** Only connections to these listening ports (empty or absent: every listener), as --port. */
  ports: z.optional(z.array(z.number().check(z.int('expected a TCP port (1-65535)'), z.minimum(1, 'expected a TCP port (1-65535)'), z.maximum(65535, 'expected a TCP port (1-65535)'))).check(z.maxLength(MAX_PORTS, `expected at most ${MAX_PORTS} ports`))),
});

/** The running observation of one agent (its guard options are the key: one per server). */
const running = new WeakMap<GuardApiOptions, { readonly startedAtMs: number; readonly seconds: number }>();

function options(context: ApiContext): GuardApiOptions {
  if (context.guard === undefined) {
    throw new TcpdiagError('TCPDIAG_NOT_CONFIGURED', 'this agent was started without its [guard] settings', { hint: 'run the agent with tcpdiag serve, which reads the [guard] section of tcp_diag.conf' });
  }
  return context.guard;
}

async function observe(context: ApiContext, _query: unknown, body: unknown): Promise<GuardReport> {
  const o = options(context);
  const parsed = observeSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
    throw new UsageError(`${where}: ${issue?.message ?? 'invalid'}`, `send {"seconds": 1-${GUARD_MAX_SECONDS}, "ports": [PORT, ...]} (both optional)`);
  }
  const now = running.get(o);
  if (now !== undefined) {
    const leftS = Math.max(1, Math.ceil((now.startedAtMs + now.seconds * 1000 - Date.now()) / 1000));
    throw new TcpdiagError('TCPDIAG_BUSY', `an observation is running already (a ${now.seconds} s window started at ${new Date(now.startedAtMs).toISOString()})`, {
      hint: `one observation runs at a time: retry in ${leftS} s`,
    });
  }
  const seconds = parsed.data.seconds ?? Math.min(o.durationS, GUARD_MAX_SECONDS);
  running.set(o, { startedAtMs: Date.now(), seconds });
  try {
    return await runGuard({
      durationMs: seconds * 1000,
      pollMs: o.pollMs,
      ports: parsed.data.ports ?? [],
      thresholds: o.thresholds,
      allowlist: o.allowlist,
      idleMs: o.idleMs,
      idleMaxBytes: o.idleMaxBytes,
      // Off the main thread, as the agent's own table reads: the API keeps answering meanwhile.
      choice: { offThread: true },
      // The agent's shutdown ends the window early; the report covers what was seen.
      signal: context.signal,
      note: () => undefined,
    });
  } finally {
    running.delete(o);
  }
}

export const GUARD_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/guard/observe': `(POST) {seconds (1-${GUARD_MAX_SECONDS}, default guard.duration_s), ports}: one guard window with the agent's [guard] settings, answered as tcpdiag guard --json; one at a time (409 TCPDIAG_BUSY while one runs)`,
};

export const GUARD_ROUTES: Readonly<Record<string, Route>> = {
  '/api/v1/guard/observe': { method: 'POST', handler: observe },
};
