import type { Command } from 'commander';
import { action, out, warnIssues } from '../run.js';
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
        const { listenerSource } = await import('../../sources/index.js');
        const { renderListeners } = await import('../../sinks/socket-views.js');
        const snapshot = await listenerSource({ ...(flags.source ? { backend: flags.source } : {}), ...(netns ? { netns } : {}) })
          .collect(new AbortController().signal, { filter, withOwners: flags.processes !== false });
        warnIssues(snapshot.issues);
        const listeners = snapshot.data;
        if (flags.json) printJson(listeners);
        else out(renderListeners(listeners, { header: flags.header !== false, extended: flags.extended === true }));
        return 0;
      }),
    );
}

