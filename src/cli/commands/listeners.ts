import type { Command } from 'commander';
import { action, out, warn } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { addSocketFilterOptions, filterFromFlags } from '../socket-filter-options.js';
import type { SocketFilterFlags } from '../socket-filter-options.js';
import { addSsViewOptions, SS_FLAGS_HELP } from '../ss-flags.js';
import type { SsViewFlags } from '../ss-flags.js';

interface ListenersFlags extends SocketFilterFlags, SsViewFlags {
  json?: boolean;
}

export function registerListeners(program: Command): void {
  const command = program
    .command('listeners')
    .description('listening sockets: owning process, backlog, accept queue, half-open (SYN_RECV) and established counts');
  addSsViewOptions(addSocketFilterOptions(command, false), 'listeners')
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

BACKLOG is the listen() backlog as the kernel applies it (capped by net.core.somaxconn);
ACCEPT-Q the connections waiting for accept(); SYN_RECV the half-open connections.
JSON fields: family, local, pid, process, owners, inode, backlog, acceptQueue, synRecv, established.`,
    )
    .action(
      action(async (flags: ListenersFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { readSocketTable } = await import('../../sources/index.js');
        const { summarizeListeners } = await import('../../analysis/listeners.js');
        const { matchesFilter } = await import('../../analysis/socket-filter.js');
        const { renderListeners } = await import('../../sinks/socket-views.js');
        const filter = filterFromFlags(flags);
        // Children (SYN_RECV, ESTABLISHED) are needed for the counts; filter listeners afterwards.
        const table = readSocketTable({
          withInfo: false,
          withProcesses: flags.processes !== false,
          states: ['LISTEN', 'SYN_RECV', 'ESTABLISHED'],
          ...(filter.families ? { families: filter.families } : {}),
          ...(flags.source ? { source: flags.source } : {}),
        });
        for (const w of table.warnings.filter((w) => !w.startsWith('tcp_info'))) warn(w);
        // --dport means nothing for a listener (its remote end is the wildcard).
        const { dports: _ignored, ...listenerFilter } = filter;
        const listeners = summarizeListeners(table.sockets, table.source === 'sockdiag', (l) => matchesFilter(l, listenerFilter));
        if (table.source !== 'sockdiag') warn('the listen() backlog is not in /proc/net/tcp: BACKLOG is unknown');
        if (flags.json) printJson(listeners);
        else out(renderListeners(listeners, { header: flags.header !== false, extended: flags.extended === true }));
        return 0;
      }),
    );
}

