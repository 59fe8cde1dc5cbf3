/**
 * /proc/net/tcp and /proc/net/tcp6 (net/ipv4/tcp_ipv4.c get_tcp4_sock, tcp6_sock_show):
 * the socket table without tcp_info, readable without privileges. Used when the netlink
 * reader is unavailable, and by tests as an independent view of the kernel.
 *
 * Addresses are the kernel's __be32 words printed as host-order hex ("0100007F" is 127.0.0.1
 * on little-endian x86), so each 8-hex-digit word is byte-swapped back.
 */
import { procReader } from './proc-read.js';
import type { ProcRead } from './proc-read.js';
import type { AddressFamily, SocketTimer, TcpSocket } from '../../model/socket.js';
import { formatIpv4, formatIpv6 } from '../../model/address.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';

/** The proc "tr" column (include/net/inet_connection_sock.h ICSK_TIME_*, as /proc maps them). */
const PROC_TIMERS: readonly SocketTimer[] = ['none', 'retransmit', 'keepalive', 'timewait', 'probe'];

/** USER_HZ: /proc reports timer expiry in clock ticks (jiffies_to_clock_t). */
const CLOCK_TICKS_PER_S = 100;

/** tcp6 reads as '' when IPv6 is disabled. */
export function readProcTcpTable(from: string | ProcRead = '/proc'): TcpSocket[] {
  const read = procReader(from);
  const sockets: TcpSocket[] = [];
  parseProcNetTcp(read('net/tcp'), 4, sockets);
  parseProcNetTcp(read('net/tcp6'), 6, sockets);
  return sockets;
}

/** Parse the text of /proc/net/tcp or tcp6 into `into`; malformed lines are skipped. */
export function parseProcNetTcp(text: string, family: AddressFamily, into: TcpSocket[] = []): TcpSocket[] {
  const addrLen = family === 4 ? 8 : 32;
  const bytes = new Uint8Array(16);
  let lineStart = text.indexOf('\n') + 1; // skip the header
  while (lineStart > 0 && lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const fields = text.slice(lineStart, lineEnd).trim().split(/\s+/);
    lineStart = lineEnd + 1;
    if (fields.length < 10) continue;
    const [, local, remote, st, queues, timer, retr, uid, , inode] = fields as [string, string, string, string, string, string, string, string, string, string];
    const state = tcpStateFromKernel(parseInt(st, 16));
    if (state === undefined || local.length !== addrLen + 5 || remote.length !== addrLen + 5) continue;
    const [txQueue = '0', rxQueue = '0'] = queues.split(':');
    const [timerKind = '0', timerWhen = '0'] = timer.split(':');
    const timerIndex = parseInt(timerKind, 16);
    const timerName = PROC_TIMERS[timerIndex] ?? 'other';
    into.push({
      family,
      state,
      local: { address: decodeAddress(local, family, bytes), port: parseInt(local.slice(addrLen + 1), 16) },
      remote: { address: decodeAddress(remote, family, bytes), port: parseInt(remote.slice(addrLen + 1), 16) },
      recvQ: parseInt(rxQueue, 16),
      sendQ: parseInt(txQueue, 16),
      timer: {
        kind: timerName,
        expiresMs: timerName === 'none' ? null : Math.round((parseInt(timerWhen, 16) * 1000) / CLOCK_TICKS_PER_S),
        retransmits: parseInt(retr, 16),
      },
      uid: Number(uid),
      inode: Number(inode),
      cookie: null,
      pid: null,
      process: null,
      owners: [],
      tcpInfo: null,
      memory: null,
      congestion: null,
    });
  }
  return into;
}

function decodeAddress(field: string, family: AddressFamily, bytes: Uint8Array): string {
  const words = family === 4 ? 1 : 4;
  for (let w = 0; w < words; w++) {
    const word = parseInt(field.slice(w * 8, w * 8 + 8), 16);
    // host-order (little-endian) u32 -> network byte order
    bytes[w * 4] = word & 0xff;
    bytes[w * 4 + 1] = (word >>> 8) & 0xff;
    bytes[w * 4 + 2] = (word >>> 16) & 0xff;
    bytes[w * 4 + 3] = (word >>> 24) & 0xff;
  }
  return family === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}
