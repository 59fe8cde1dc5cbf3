/** The source contract against the procfs backend (/proc/net/tcp, snmp, netstat, sysctls, /proc/PID). */
import { counterSource, listenerSource, processSource, socketSource, sysctlSource } from '../../src/sources/index.js';
import { snapshotConformance } from './source.case.js';

const choice = { backend: 'procfs' } as const;

snapshotConformance({
  backend: 'procfs',
  unsupported: {
    tcpInfo: '/proc/net/tcp has no tcp_info: get_tcp4_sock (net/ipv4/tcp_ipv4.c) prints queues, timer, uid and inode only',
    backlog: "/proc/net/tcp prints a listener's tx_queue as 0, not its backlog (sk_max_ack_backlog is not in the line)",
  },
  sockets: () => socketSource(choice),
  listeners: () => listenerSource(choice),
  counters: () => counterSource(choice),
  sysctls: () => sysctlSource(),
  processes: () => processSource(),
});
