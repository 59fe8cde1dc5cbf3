/**
 * Errno names by number for this host, from Node's own table (os.constants.errno, the C
 * library's values): how a kernel error a tracepoint records (-16) becomes a name (EBUSY).
 */
import { constants } from 'node:os';

/** Where the C library has two names for one number, the one the kernel's sources use. */
const PREFERRED = new Set(['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']);

const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!NAMES.has(value) || PREFERRED.has(name)) NAMES.set(value, name);
}

/**
 * The name of a kernel return code: negative errno values by name; positive ones are the
 * qdisc verdicts tcp_transmit_skb can pass up (include/linux/netdevice.h: NET_XMIT_DROP 1,
 * NET_XMIT_CN 2); anything else as "err N".
 */
export function kernelErrorName(err: number): string {
  if (err < 0) return NAMES.get(-err) ?? `err ${err}`;
  if (err === 1) return 'NET_XMIT_DROP';
  if (err === 2) return 'NET_XMIT_CN';
  return `err ${err}`;
}
