import type { Command } from 'commander';
import { action, out, warn } from '../run.js';
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
ACCEPT-Q the connections waiting for accept(); SYN_RECV the half-open connections.
JSON fields: family, local, pid, process, owners, inode, backlog, acceptQueue, synRecv, established.
The filter selects listeners (its dst and dport conditions see the listener's wildcard remote end).
${EXPRESSION_HELP}`,
    )
    .action(
      action(async (expression: string[], flags: ListenersFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const filter = filterFromFlags(flags, expression);
        const netns = netnsFromFlags(flags);
        const { readSocketTable } = await import('../../sources/index.js');
        const { listenerDumpFilter, summarizeListeners } = await import('../../analysis/listeners.js');
        const { compileConnFilter } = await import('../../model/conn-filter.js');
        const { renderListeners } = await import('../../sinks/socket-views.js');
        // The dump keeps listeners and the children counted for them; the whole filter then
        // picks listeners.
        const table = readSocketTable({
          withInfo: false,
          withProcesses: flags.processes !== false,
          filter: listenerDumpFilter(filter),
          ...(netns ? { netns } : {}),
          ...(flags.source ? { source: flags.source } : {}),
        });
        for (const w of table.warnings.filter((w) => !w.startsWith('tcp_info'))) warn(w);
        const listeners = summarizeListeners(table.sockets, table.source === 'sockdiag', compileConnFilter(filter));
        if (table.source !== 'sockdiag') warn('the listen() backlog is not in /proc/net/tcp: BACKLOG is unknown');
        if (flags.json) printJson(listeners);
        else out(renderListeners(listeners, { header: flags.header !== false, extended: flags.extended === true }));
        return 0;
      }),
    );
}

