/**
 * `tcpdiag netns` as a table: one line per network namespace. Pure.
 */
import type { NetnsSummary } from '../model/netns.js';
import { renderTable } from './table.js';

function processes(s: NetnsSummary): string {
  if (s.processes.length === 0) return '-';
  const names = [...new Set(s.processes.map((p) => p.process))];
  const shown = names.slice(0, 4).join(',');
  return `${s.processes.length} (${shown}${names.length > 4 ? ',…' : ''})`;
}

export function renderNetns(list: readonly NetnsSummary[]): string {
  return renderTable(list, [
    { header: 'NETNS', value: (s) => `${s.names.length > 0 ? s.names.join(',') : s.current ? '(this one)' : s.netnsArg === null ? '?' : `pid ${s.netnsArg}`}${s.current ? ' *' : ''}` },
    { header: 'INODE', value: (s) => s.inode, align: 'right' },
    { header: 'SOCKETS', value: (s) => s.sockets?.total ?? null, align: 'right' },
    { header: 'ESTAB', value: (s) => s.sockets?.states.ESTABLISHED ?? (s.sockets ? 0 : null), align: 'right' },
    { header: 'LISTEN', value: (s) => s.sockets?.states.LISTEN ?? (s.sockets ? 0 : null), align: 'right' },
    { header: 'TIME-WAIT', value: (s) => s.sockets?.states.TIME_WAIT ?? (s.sockets ? 0 : null), align: 'right' },
    { header: 'PROCESSES', value: processes, maxWidth: 48 },
    { header: 'CONTAINERS', value: (s) => (s.containers.length === 0 ? null : s.containers.join(',')), maxWidth: 60 },
  ]);
}
