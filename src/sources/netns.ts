/**
 * Every network namespace on the host: the ones `ip netns` names (/run/netns) and the ones
 * processes run in (/proc/PID/ns/net), with their processes, containers and TCP socket
 * counts (one sock_diag dump per namespace, from inside it; /proc/PID/net/tcp without the
 * addon). Namespaces held only by an open fd or a bind mount elsewhere are not found.
 */
import type { NetnsProcess, NetnsSummary } from '../model/netns.js';
import type { TcpState } from '../model/tcp-state.js';
import type { NetnsRef } from '../platform/netns.js';
import { namedNetns, ownNetnsInode, processesByNetns, readNetnsProcFile } from '../platform/netns.js';
import { processName } from './procfs/processes.js';
import { readContainer } from './procfs/containers.js';
import { readProcTcpTable } from './procfs/tcp-table.js';
import { countTcpStates, sockDiagAvailable } from './sockdiag/index.js';

function countSockets(ref: NetnsRef | null): { sockets: NetnsSummary['sockets']; error: string | null } {
  try {
    let states: Partial<Record<TcpState, number>>;
    if (sockDiagAvailable().ok) states = countTcpStates(ref?.path);
    else {
      states = {};
      const sockets = ref === null ? readProcTcpTable() : readProcTcpTable((relative) => readNetnsProcFile(ref, relative));
      for (const s of sockets) states[s.state] = (states[s.state] ?? 0) + 1;
    }
    const total = Object.values(states).reduce((a, b) => a + (b ?? 0), 0);
    return { sockets: { total, states }, error: null };
  } catch (error: unknown) {
    return { sockets: null, error: error instanceof Error ? error.message : String(error) };
  }
}

export function listNetworkNamespaces(): NetnsSummary[] {
  const own = ownNetnsInode();
  const byInode = processesByNetns();
  const names = new Map<number, string[]>();
  for (const [name, inode] of namedNetns()) names.set(inode, [...(names.get(inode) ?? []), name]);
  const inodes = [...new Set([own, ...names.keys(), ...byInode.keys()])];
  const summaries = inodes.map((inode): NetnsSummary => {
    const pids = (byInode.get(inode) ?? []).sort((a, b) => a - b);
    const nsNames = names.get(inode) ?? [];
    const processes: NetnsProcess[] = pids.map((pid) => ({ pid, process: processName('/proc', String(pid)), container: readContainer(pid) }));
    const current = inode === own;
    const path = nsNames.length > 0 ? `/run/netns/${nsNames[0]}` : pids.length > 0 ? `/proc/${pids[0]}/ns/net` : null;
    const ref: NetnsRef | null = current || path === null ? null : { spec: path, path, inode, pid: pids[0] ?? null, name: nsNames[0] ?? null };
    const counted = path === null && !current ? { sockets: null, error: 'nothing names it' } : countSockets(ref);
    return {
      inode,
      names: nsNames,
      current,
      netnsArg: nsNames[0] ?? (pids.length > 0 ? String(pids[0]) : null),
      processes,
      containers: [...new Set(processes.flatMap((p) => (p.container === null ? [] : [p.container])))].sort(),
      ...counted,
    };
  });
  // Ours first, then the named ones, then the rest, each by inode.
  const rank = (s: NetnsSummary): number => (s.current ? 0 : s.names.length > 0 ? 1 : 2);
  return summaries.sort((a, b) => rank(a) - rank(b) || a.inode - b.inode);
}
