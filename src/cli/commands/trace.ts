/**
 * `tcpdiag trace [mode]`: kernel TCP events as they happen. Wiring only: parse and
 * check flags, find tracefs, hand over to analysis/trace/runner.ts, print.
 */
import type { Command } from 'commander';
import { Argument } from 'commander';
import { getPriority, setPriority } from 'node:os';
import { UsageError } from '../../errors.js';
import { action, out } from '../run.js';
import { commandScope, stopOnSignal } from '../lifetime.js';
import { loadConfig } from '../context.js';
import { duration, integer, parseCount } from '../options.js';
import { COUNT_OR_ZERO, REFRESH_INTERVAL, TRACE_BUFFER_KB } from '../../model/limits.js';
import { EXPRESSION_HELP, addFilterOptions, filterFromFlags } from '../filter-options.js';
import type { FilterFlags } from '../filter-options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import { netnsLabel } from '../../platform/netns.js';
import { startsSsFilter } from '../../model/ss-filter.js';

interface TraceFlags extends FilterFlags, NetnsFlags {
  duration?: number;
  count?: number;
  json?: boolean;
  detail?: boolean;
  stats?: boolean;
  interval?: number;
  ignore?: number;
  bufferKb?: number;
  timestamp?: boolean;
}

const MODES = ['connect', 'accept', 'states', 'retrans', 'resets', 'life', 'drops', 'all'];

/** `trace [mode] [expression...]`: a first word that is no mode starts the expression (mode all). */
function splitModeAndExpression(mode: string | undefined, expression: string[]): { mode: string; expression: string[] } {
  if (mode === undefined) return { mode: 'all', expression };
  if (MODES.includes(mode)) return { mode, expression };
  if (startsSsFilter(mode)) return { mode: 'all', expression: [mode, ...expression] };
  throw new UsageError(`"${mode.slice(0, 60)}" is neither a mode (${MODES.join(', ')}) nor the start of a filter expression`, 'e.g. tcpdiag trace connect dport = :443');
}

/**
 * The mode's choices are listed (help, completion) but not enforced by commander: a first word
 * that is no mode may start the expression (splitModeAndExpression).
 */
function modeArgument(): Argument {
  const argument = new Argument('[mode]', 'which events (default all)');
  argument.argChoices = [...MODES];
  return argument;
}

export function registerTrace(program: Command): void {
  const command = program
    .command('trace')
    .description('kernel TCP events as they happen: connects, accepts, state changes, retransmissions, resets, closes, drops (root)')
    .addArgument(modeArgument())
    .argument('[expression...]', 'ss filter expression, e.g. dport = :443 or src 10.0.0.0/8');
  // Short flags as bcc's tcp tools spell them (filter-options.ts): -p PID, -P PORT, -L LOCALPORT, -D REMOTEPORT, -4, -6.
  addFilterOptions(command, { states: true, remote: true, owners: true, short: 'bcc' });
  addNetnsOption(command, 'events');
  command
    .option('-t, --timestamp', 'time column in seconds since the trace started (as bcc -t) instead of the clock time')
    .option('--duration <time>', 'stop after this long', duration())
    .option('--count <n>', 'stop after printing n events', parseCount)
    .option('--json', 'one JSON object per line')
    .option('--detail', 'read socket fields at each state change through eBPF (bpftrace + BTF): cwnd, windows, bytes, backlog, retransmissions, srtt; also fills close bytes')
    .option('--stats', 'states mode: every socket\'s current state and time in it, and transition counts (at the end, or every --interval)')
    .option('--interval <interval>', 'retrans: report counters and per-connection counts every INTERVAL; states --stats: refresh period', duration(REFRESH_INTERVAL))
    .option('--ignore <n>', 'retrans --interval: hide connections with fewer than n retransmissions', integer(COUNT_OR_ZERO))
    .option('--buffer-kb <kb>', 'per-CPU trace buffer (default trace.buffer_kb, 16384)', integer(TRACE_BUFFER_KB))
    .addHelpText(
      'after',
      `
Modes:
  connect   active opens: 4-tuple, process, latency (SYN_SENT -> ESTABLISHED); failures with
            their cause: refused (RST), timeout (SYN retransmissions / gave up), reset, unreachable
  accept    passive opens: 4-tuple, the listener and its owning process
  states    every transition with the time spent in the old state; --stats for a summary
  retrans   each retransmission (data, syn, synack); --interval S for counters per interval
  resets    RSTs sent (with the kernel's reason, e.g. NO_SOCKET) and received
  life      one line per closed connection: duration, bytes each way, process
  drops     TCP packets the kernel dropped (skb:kfree_skb), with the kernel's reason
            (NO_SOCKET, TCP_LISTEN_OVERFLOW, NETFILTER_DROP, TCP_OFO_DROP...), the packet's
            endpoints, flags, the socket's state and owner where known; counts per reason at
            the end. Needs bpftrace and BTF (kfree_skb records no addresses); like bcc's tcpdrop
  all       everything but drops (default)

Fields that need --detail: bytes sent/received in close events (null without it), and the
socket fields (cwnd, windows, bytes, backlog, retransmissions, srtt) on state events.
Without --detail tcpdiag reads tracefs (cheapest, 150k+ events/s); --detail runs bpftrace.
The kernel's lost-event reports are always printed (a "lost" line / JSON event) and counted.
--sport/--dport (sport/dport) are the socket's local/remote port; a connect's first transition
(SYN_SENT) has no local port yet, so --sport misses it (use --dport or --port). Ports and the
family are filtered in the kernel; addresses, states, --pid and --process after it (softirq
events run in no particular process). A state condition keeps an event whose socket was in, or
entered, one of the states.
-N/--netns: the tracepoints carry no namespace field, so the events are read through bpftrace,
which tests each event's socket's namespace in the kernel (a reset sent for no socket: the
namespace of the device the segment came in on); events of other namespaces never reach
tcpdiag. It needs bpftrace and BTF, starts in a few seconds, and costs what --detail costs:
several times the CPU of the tracefs path (bench/trace-netns.ts, bench/README.md).
states --stats: how long a socket has been in its state is known when its last transition
was traced, or from the TIME_WAIT timer; otherwise the report says "unknown: since before the
trace started". tcpdiag traces at nice 10, so the traced workload keeps the CPU.

Retransmissions: where the tracepoint has an "err" field it also fires for attempts that did not go out
("failed", with the errno: EBUSY when the original is still queued on this host, EPERM when a
local firewall refused it). RetransSegs counts segments of the attempts that reached the
transmit (not EBUSY/EAGAIN/ENOMEM ones); one event is one skb, which may carry several
segments ("segments", known with --detail).
Owners: events the kernel raises in softirq or timers (most retransmissions, the peer's FIN
arriving) are attributed to the socket's owner as its process-context events, or the socket
table, name it; never to the task that happened to be interrupted.

JSON events (a stable contract): {type, ts (ms since epoch), family, local {address,port},
remote, pid, process} (null where unknown), plus:
  state: oldState newState durationMs [detail]   connect: latencyMs
  connect-failed: reason durationMs synRetransmits  accept: listener handshakeMs
  retransmit: kind (data|syn|synack) state failed (boolean) error (errno name, when failed)
              segments (number, or null without --detail)
  reset: direction (sent|received) reason state   close: durationMs bytesSent bytesReceived origin
  drop: reason (the kernel's SKB_DROP_REASON_* name) direction (in|out) state flags location
  lost: count cpu
  drops mode ends with {type: "drop-summary", total, reasons {REASON: n}, lost}.

Short flags follow bcc's tools (tcpconnect, tcpaccept, tcpstates, tcplife): -p PID, -P PORT,
-L LOCALPORT, -D REMOTEPORT, -t (seconds since the start).

Examples:
  tcpdiag trace connect -D 5432 -t                 as bcc's tcpconnect -t, for PostgreSQL
  tcpdiag trace life -p 1234 -L 8080               as bcc's tcplife -p 1234 -L 8080
  tcpdiag trace connect --dport 5432               every connection to PostgreSQL, with latency
  tcpdiag trace accept --port 443 --json           passive opens on :443 as JSON lines
  tcpdiag trace states --port 8080 --duration 30s  transitions with time spent in each state
  tcpdiag trace states --stats --interval 5        current state of every socket, and counts
  tcpdiag trace retrans --interval 1 --ignore 3    per-second retransmission report
  tcpdiag trace resets                             RSTs with the kernel's reason
  tcpdiag trace life --detail                      one line per closed connection with bytes
  tcpdiag trace drops dport = :8080 --duration 10s   TCP drops on :8080 by the kernel's reason
  tcpdiag trace states state time-wait dport = :443   entries into and exits from TIME_WAIT
${EXPRESSION_HELP}`,
    )
    .action(
      action(async (modeWord: string | undefined, words: string[], flags: TraceFlags, command: Command) => {
        const { mode, expression } = splitModeAndExpression(modeWord, words);
        checkFlagCombinations(mode, flags);
        const filter = filterFromFlags(flags, expression);
        const config = loadConfig(command, { sections: ['trace'], ...(flags.bufferKb === undefined ? {} : { overrides: { trace: { buffer_kb: flags.bufferKb } } }) });
        const { createTraceIo, ensureTracefs } = await import('../../sources/trace.js');
        const { runTrace } = await import('../../sessions/trace-session.js');
        if (flags.detail === true) {
          const { NEEDS, requirePrivileges } = await import('../../platform/privileges.js');
          requirePrivileges(NEEDS.traceDetail());
        }
        const location = ensureTracefs('tcpdiag trace');
        // Tracing must not slow what it observes: at nice 10 the workload keeps the CPU when both
        // want it, and the per-CPU buffers (16 MiB: ~190k events) absorb the burst until we run.
        try {
          setPriority(Math.max(getPriority(), 10));
        } catch {
          // not allowed to lower our priority: trace at the inherited one
        }
        if (location.note !== null) process.stderr.write(`tcpdiag: ${location.note}\n`);
        const netns = netnsFromFlags(flags);
        if (netns !== undefined) process.stderr.write(`tcpdiag: events of network namespace ${netnsLabel(netns)} only, selected in the kernel through bpftrace\n`);
        const controller = stopOnSignal();
        try {
          await runTrace(
            {
              mode: mode as 'all',
              filter,
              durationMs: flags.duration ?? null,
              count: flags.count ?? null,
              json: flags.json === true,
              detail: flags.detail === true,
              stats: flags.stats === true,
              intervalMs: flags.interval ?? null,
              timestamps: flags.timestamp === true ? 'elapsed' : 'clock',
              ignore: flags.ignore ?? 0,
              bufferKb: config.trace.buffer_kb,
              pollIntervalMs: config.trace.poll_interval_ms,
              signal: controller.signal,
              write: (chunk, done) => {
                if (typeof chunk === 'string') out(chunk);
                else process.stdout.write(chunk, done === undefined ? undefined : () => done());
              },
              note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
            },
            createTraceIo({ root: location.root, bufferKb: config.trace.buffer_kb, scope: commandScope(), ...(netns ? { netns } : {}) }),
          );
        } finally {
          controller.release();
        }
        return 0;
      }),
    );
}

function checkFlagCombinations(mode: string, flags: TraceFlags): void {
  if (flags.stats === true && mode !== 'states') throw new UsageError('--stats works with the states mode', 'tcpdiag trace states --stats');
  if (flags.interval !== undefined && mode !== 'retrans' && !(mode === 'states' && flags.stats === true)) {
    throw new UsageError('--interval works with retrans, or states --stats', 'tcpdiag trace retrans --interval 1');
  }
  if (flags.ignore !== undefined && !(mode === 'retrans' && flags.interval !== undefined)) {
    throw new UsageError('--ignore works with retrans --interval', 'tcpdiag trace retrans --interval 1 --ignore 3');
  }
}
