/**
 * The sysctls that decide how TCP behaves under load (Documentation/networking/ip-sysctl.rst).
 * Read from /proc/sys; values keep the kernel's text ("4096 131072 6291456").
 */
import { readSysctl } from '../../platform/capabilities.js';

export const TCP_SYSCTLS = [
  'net.core.somaxconn',
  'net.core.netdev_max_backlog',
  'net.core.rmem_max',
  'net.core.wmem_max',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_abort_on_overflow',
  'net.ipv4.tcp_synack_retries',
  'net.ipv4.tcp_syn_retries',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.tcp_max_tw_buckets',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_max_orphans',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_mem',
  'net.ipv4.tcp_fastopen',
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_mtu_probing',
  'net.ipv4.tcp_retries2',
  'fs.file-max',
  'fs.nr_open',
] as const;

/** name -> value (null when this kernel has no such sysctl); `read` reads one (another namespace's). */
export function readTcpSysctls(read: (name: string) => string | null = readSysctl): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const name of TCP_SYSCTLS) values[name] = read(name);
  return values;
}
