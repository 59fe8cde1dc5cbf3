/**
 * Decoding of NETLINK_SOCK_DIAG replies for TCP (include/uapi/linux/inet_diag.h): one
 * nlmsghdr + struct inet_diag_msg + rtattrs per socket. The native addon does the syscalls and
 * hands back the raw bytes; everything here is offset arithmetic over one Buffer, no
 * per-byte allocation (style guide, "Size").
 */
import type { AddressFamily, SocketMemory, SocketTimer, TcpSocket } from '../../model/socket.js';
import type { ListenerChild } from '../../model/listener.js';
import { formatIpv4, formatIpv6 } from '../../model/address.js';
import { decodeTcpInfo } from '../../model/tcp-info.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';
import type { TcpState } from '../../model/tcp-state.js';
import { MalformedInputError } from '../../errors.js';

const NLMSG_HDRLEN = 16;
const NLMSG_DONE = 3;
const NLMSG_ERROR = 2;
const SOCK_DIAG_BY_FAMILY = 20;
/** Replies to the one-walk request for both families carry its type (inet_diag_dump_compat). */
const TCPDIAG_GETSOCK = 18;
const INET_DIAG_MSG_LEN = 72;

// rtattr types (enum in inet_diag.h)
const INET_DIAG_INFO = 2;
const INET_DIAG_CONG = 4;
const INET_DIAG_SKMEMINFO = 7;

// idiag_timer values (net/ipv4/inet_diag.c inet_sk_diag_fill)
const DIAG_TIMERS: readonly SocketTimer[] = ['none', 'retransmit', 'keepalive', 'timewait', 'probe'];

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Decode every socket in a dump (those whose kernel state `keep` accepts, when given). `buf`
 * holds whole netlink messages back to back.
 */
export function decodeInetDiagDump(buf: Buffer, into: TcpSocket[] = [], keep?: (kernelState: number) => boolean): TcpSocket[] {
  const addr = new Uint8Array(16);
  forEachMessage(buf, (offset, length) => {
    if (keep === undefined || keep(buf[offset + NLMSG_HDRLEN + 1] ?? 0)) decodeMessage(buf, offset, length, addr, into);
  });
  return into;
}

/**
 * Decode the sockets of a dump from byte `offset` on, at most `maxSockets` of them, and return
 * where the next message starts (-1 once the dump is done): a caller that must keep its event
 * loop turning decodes a large dump a slice at a time.
 */
export function decodeInetDiagSlice(buf: Buffer, offset: number, maxSockets: number, into: TcpSocket[]): number {
  const addr = new Uint8Array(16);
  let decoded = 0;
  let at = offset;
  while (at + NLMSG_HDRLEN <= buf.length) {
    if (decoded >= maxSockets) return at;
    const length = messageLength(buf, at);
    const type = buf.readUInt16LE(at + 4);
    if (type === NLMSG_DONE || type === NLMSG_ERROR) return -1;
    if (isSocketMessage(type, length)) {
      decodeMessage(buf, at, length, addr, into);
      decoded++;
    }
    at += align4(length);
  }
  return -1;
}

function decodeMessage(buf: Buffer, offset: number, length: number, addr: Uint8Array, into: TcpSocket[]): void {
  const m = offset + NLMSG_HDRLEN;
  const family: AddressFamily = buf[m] === 10 ? 6 : 4; // AF_INET6 = 10
  const state = tcpStateFromKernel(buf[m + 1] ?? 0);
  if (state === undefined) return;
  const timerKind = DIAG_TIMERS[buf[m + 2] ?? 0] ?? 'other';
  const local = readAddress(buf, m + 8, family, addr);
  const remote = readAddress(buf, m + 24, family, addr);
  const cookieLow = buf.readUInt32LE(m + 44);
  const cookieHigh = buf.readUInt32LE(m + 48);
  let tcpInfo = null;
  let memory: SocketMemory | null = null;
  let congestion: string | null = null;
  const end = offset + length;
  for (let a = m + INET_DIAG_MSG_LEN; a + 4 <= end; ) {
    const attrLen = buf.readUInt16LE(a);
    const attrType = buf.readUInt16LE(a + 2) & 0x3fff;
    if (attrLen < 4 || a + attrLen > end) break;
    const payload = a + 4;
    const payloadLen = attrLen - 4;
    if (attrType === INET_DIAG_INFO) tcpInfo = decodeTcpInfo(buf, payload, payloadLen);
    else if (attrType === INET_DIAG_SKMEMINFO && payloadLen >= 16) {
      memory = {
        rmemAlloc: buf.readUInt32LE(payload),
        rcvBuf: buf.readUInt32LE(payload + 4),
        wmemAlloc: buf.readUInt32LE(payload + 8),
        sndBuf: buf.readUInt32LE(payload + 12),
      };
    } else if (attrType === INET_DIAG_CONG) {
      const nul = buf.indexOf(0, payload);
      congestion = buf.toString('latin1', payload, nul >= payload && nul < payload + payloadLen ? nul : payload + payloadLen);
    }
    a += align4(attrLen);
  }
  into.push({
    family,
    state,
    local: { address: local, port: buf.readUInt16BE(m + 4) },
    remote: { address: remote, port: buf.readUInt16BE(m + 6) },
    recvQ: buf.readUInt32LE(m + 56),
    sendQ: buf.readUInt32LE(m + 60),
    timer: {
      kind: timerKind,
      expiresMs: timerKind === 'none' ? null : buf.readUInt32LE(m + 52),
      retransmits: buf[m + 3] ?? 0,
    },
    uid: buf.readUInt32LE(m + 64),
    inode: buf.readUInt32LE(m + 68),
    // A 64-bit counter (net/core/sock_diag.c); it stays far below 2^53, so a number is exact.
    cookie: String(cookieHigh * 4294967296 + cookieLow),
    pid: null,
    process: null,
    owners: [],
    tcpInfo,
    memory,
    congestion,
  });
}

/** Count sockets per state without decoding anything else (the `stats` fast path). */
export function countStatesInDump(buf: Buffer, counts: Partial<Record<TcpState, number>> = {}): Partial<Record<TcpState, number>> {
  forEachMessage(buf, (offset) => {
    const state = tcpStateFromKernel(buf[offset + NLMSG_HDRLEN + 1] ?? 0);
    if (state !== undefined) counts[state] = (counts[state] ?? 0) + 1;
  });
  return counts;
}

const KERNEL_SYN_RECV = 3;

/**
 * The local end of every SYN_RECV socket of a dump: request socks, the half-open children a
 * listener has (they live in the established hash, not under their listener).
 */
export function halfOpenChildrenInDump(buf: Buffer, into: ListenerChild[]): void {
  const scratch = new Uint8Array(16);
  forEachMessage(buf, (offset) => {
    const m = offset + NLMSG_HDRLEN;
    if (buf[m + 1] !== KERNEL_SYN_RECV) return;
    const family: AddressFamily = buf[m] === 10 ? 6 : 4;
    into.push({ family, address: readAddress(buf, m + 8, family, scratch), port: buf.readUInt16BE(m + 4), state: 'SYN_RECV' });
  });
}

/** inet_diag_msg.idiag_timer of a timewait socket (inet_twsk_diag_fill, net/ipv4/inet_diag.c). */
const TIMER_TIME_WAIT = 3;
const KERNEL_FIN_WAIT2 = 5;

/**
 * How many of the dump's FIN_WAIT2 sockets are timewait sockets rather than full ones: an
 * orphaned FIN_WAIT2 socket (its owner closed it) is replaced by a timewait socket with
 * substate FIN_WAIT2 (tcp_time_wait(), net/ipv4/tcp_minisocks.c). /proc/net/sockstat's "tw"
 * counts those together with the TIME_WAIT ones.
 */
export function countFinWait2Timewait(buf: Buffer): number {
  let n = 0;
  forEachMessage(buf, (offset) => {
    if (buf[offset + NLMSG_HDRLEN + 1] === KERNEL_FIN_WAIT2 && buf[offset + NLMSG_HDRLEN + 2] === TIMER_TIME_WAIT) n++;
  });
  return n;
}

/** Each socket message of a dump (offset and length of its nlmsghdr), stopping at NLMSG_DONE. */
export function forEachMessage(buf: Buffer, visit: (offset: number, length: number) => void): void {
  for (let offset = 0; offset + NLMSG_HDRLEN <= buf.length; ) {
    const length = messageLength(buf, offset);
    const type = buf.readUInt16LE(offset + 4);
    if (type === NLMSG_DONE || type === NLMSG_ERROR) return;
    if (isSocketMessage(type, length)) visit(offset, length);
    offset += align4(length);
  }
}

function messageLength(buf: Buffer, offset: number): number {
  const length = buf.readUInt32LE(offset);
  if (length < NLMSG_HDRLEN || offset + length > buf.length) {
    throw new MalformedInputError('netlink sock_diag reply', `message of ${length} bytes overruns the ${buf.length}-byte buffer`, offset);
  }
  return length;
}

const isSocketMessage = (type: number, length: number): boolean => (type === SOCK_DIAG_BY_FAMILY || type === TCPDIAG_GETSOCK) && length >= NLMSG_HDRLEN + INET_DIAG_MSG_LEN;

/** The socket inodes of a dump (0 for TIME_WAIT and request socks), read in place. */
export function inodesInDump(buf: Buffer, into: Set<number>): Set<number> {
  forEachMessage(buf, (offset) => {
    const inode = buf.readUInt32LE(offset + NLMSG_HDRLEN + 68);
    if (inode !== 0) into.add(inode);
  });
  return into;
}

/** An address of inet_diag_sockid (idiag_src at message + 8, idiag_dst at + 24) as text. */
export function readAddress(buf: Buffer, at: number, family: AddressFamily, scratch: Uint8Array): string {
  if (family === 4) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  for (let i = 0; i < 16; i++) scratch[i] = buf[at + i] ?? 0;
  return formatIpv6(scratch);
}

// Exported for callers that format addresses the same way.
export { formatIpv4 };
