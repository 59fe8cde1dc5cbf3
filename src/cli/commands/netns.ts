import type { Command } from 'commander';
import { action, out, printJson, warn } from '../run.js';

interface NetnsFlags {
  json?: boolean;
}

export function registerNetns(program: Command): void {
  program
    .command('netns')
    .description('network namespaces on this host: ip netns names and those processes run in, with TCP socket counts, processes and containers')
    .option('--json', 'print one JSON array of namespaces')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag netns                       which namespaces hold sockets, and whose they are
  tcpdiag netns --json | jq '.[] | select(.sockets.total > 1000)'
  tcpdiag conns -N web1 state established    then look inside one (a name, a PID or a path)

The namespace tcpdiag runs in is marked *. NETNS is the ip netns name, else "pid N" (give that
PID to --netns). Containers are recognised from their processes' cgroups (docker, k8s, podman,
containerd, crio, lxc). Root sees every process; without it, only your own are attributed.
JSON fields: inode, names, current, netnsArg, processes [{pid, process, container}], containers,
sockets {total, states {STATE: count}} (null when not counted), error.`,
    )
    .action(
      action(async (flags: NetnsFlags) => {
        const { listNetworkNamespaces } = await import('../../sources/netns.js');
        const { renderNetns } = await import('../../sinks/netns-view.js');
        const list = listNetworkNamespaces();
        for (const s of list) if (s.error !== null && s.netnsArg !== null) warn(`namespace ${s.netnsArg}: sockets not counted (${s.error})`);
        if (flags.json) printJson(list);
        else out(renderNetns(list));
        return 0;
      }),
    );
}
