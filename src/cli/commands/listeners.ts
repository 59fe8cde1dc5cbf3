import type { Command } from 'commander';
import { action, out, warnIssues } from '../run.js';
import { stopOnSignal } from '../lifetime.js';
import { abortableSleep } from '../../platform/abortable-sleep.js';
import type { ListenerSummary } from '../../model/listener.js';
import type { BackendChoice } from '../../sources/index.js';
import { loadConfig, printJson } from '../context.js';
import { EXPRESSION_HELP, addFilterOptions, addSocketSourceOption, filterFromFlags } from '../filter-options.js';
import type { FilterFlags, SocketSourceFlags } from '../filter-options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import { addSsViewOptions, SS_FLAGS_HELP } from '../ss-flags.js';
import type { SsViewFlags } from '../ss-flags.js';

interface ListenersFlags extends FilterFlags, SocketSourceFlags, SsViewFlags, NetnsFlags {
  json?: boolean;
}

export function registerListeners(program: Command): void {
  const command = program
    .command('listeners')
    .description('listening sockets: owning process, backlog, accept queue, half-open (SYN_RECV) and established counts')
    .argument('[expression...]', 'ss filter expression on the listening socket, e.g. sport = :443 or src 127.0.0.1');
  addFilterOptions(command, { states: false, remote: false, owners: true, short: 'ss' });
  addNetnsOption(command, 'listeners');
  addSsViewOptions(addSocketSourceOption(command), 'listeners')
    .option('--json', 'print one JSON array of listeners')
    .addHelpText(
      'after',
      `
${SS_FLAGS_HELP('listeners')}

Examples:
  tcpdiag listeners                   every listener; ACCEPT-Q near BACKLOG means accept() is too slow
  tcpdiag listeners -tlnp -H          as ss -tlnpH
  tcpdiag listeners --port 443 --json
  tcpdiag listeners --process java
  tcpdiag listeners sport '<' :1024        privileged ports only

BACKLOG is the listen() backlog as the kernel applies it (capped by net.core.somaxconn);
ACCEPT-Q the connections waiting for accept(); SYN_RECV the half-open connections. FULL says
which queue is full: the accept queue past BACKLOG (it holds BACKLOG + 1), the SYN queue at
BACKLOG half-open connections. When one is, listeners watches the kernel's counters for 1 s and
says what the kernel does about it (drops SYNs, sends SYN cookies, drops or resets the final
ACK of handshakes), with ListenOverflows, ListenDrops, SyncookiesSent, TCPReqQFullDoCookies and
TCPReqQFullDrop per second (namespace-wide counters).
JSON fields: family, local, pid, process, owners, inode, backlog, acceptQueue, synRecv,
established, acceptQueueFull, synQueueFull, pressure (null, or when a queue is full: actions
[drops-new-syns | answers-with-syncookies | drops-final-acks | resets-connections], windowMs,
listenOverflowsPerSec, listenDropsPerSec, syncookiesSentPerSec, reqQFullDoCookiesPerSec,
reqQFullDropPerSec, syncookies, abortOnOverflow).
The filter selects listeners (its dst and dport conditions see the listener's wildcard remote end).
${EXPRESSION_HELP}`,
    )
    .action(
      action(async (expression: string[], flags: ListenersFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const filter = filterFromFlags(flags, expression);
        const netns = netnsFromFlags(flags);
        const { listenerSource } = await import('../../sources/index.js');
        const { renderListeners } = await import('../../sinks/socket-views.js');
        const snapshot = await listenerSource({ ...(flags.source ? { backend: flags.source } : {}), ...(netns ? { netns } : {}) })
          .collect(new AbortController().signal, { filter, withOwners: flags.processes !== false });
        warnIssues(snapshot.issues);
        // The counters are the listeners' namespace's.
        const shown = await measurePressure(snapshot.data, netns ? { netns } : {});
        if (flags.json) printJson(shown);
        else out(renderListeners(shown, { header: flags.header !== false, extended: flags.extended === true }));
        return 0;
      }),
    );
}

/** How long the kernel's counters are watched when a queue is full. */
const PRESSURE_WINDOW_MS = 1000;

/**
 * When a listener's queue is full, what the kernel does about it, from its counters over one
 * second: the ordinary case (no queue full) costs nothing more.
 */
async function measurePressure(listeners: ListenerSummary[], choice: BackendChoice): Promise<ListenerSummary[]> {
  const { fullListeners, withPressure } = await import('../../analysis/listeners.js');
  if (fullListeners(listeners).length === 0) return listeners;
  const { counterSource, sysctlSource } = await import('../../sources/index.js');
  const stop = stopOnSignal();
  try {
    const counters = counterSource(choice);
    const before = await counters.collect(stop.signal);
    await abortableSleep(PRESSURE_WINDOW_MS, stop.signal);
    const after = await counters.collect(stop.signal);
    const sysctl = (await sysctlSource(choice).collect(stop.signal)).data;
    return withPressure(listeners, {
      before: before.data.counters,
      after: after.data.counters,
      windowMs: after.data.monotonicMs - before.data.monotonicMs,
      syncookies: sysctl['net.ipv4.tcp_syncookies'] ?? null,
      abortOnOverflow: sysctl['net.ipv4.tcp_abort_on_overflow'] ?? null,
    });
  } finally {
    stop.release();
  }
}
