/**
 * Read back the lines script.ts makes bpftrace print. Malformed lines (bpftrace warnings on
 * stdout, a line cut by a crash) give null and are skipped.
 */
import type { RawEventKind, RawTcpEvent } from '../../model/kernel-event.js';
import { kernelErrorName } from '../../platform/errno.js';

const KINDS: Record<string, Exclude<RawEventKind, 'lost'>> = {
  S: 'state',
  R: 'retransmit',
  A: 'retransmit-synack',
  V: 'receive-reset',
  X: 'send-reset',
  D: 'drop',
};

/** tcp_send_reset reasons by number (include/net/rstreason.h); the tracefs format gives the same names. */
let resetReasons = new Map<number, string>();
export function setResetReasonNames(names: Map<number, string>): void {
  resetReasons = names;
}

/** kfree_skb's skb_drop_reason by number (include/net/dropreason-core.h), from the tracepoint's format. */
let dropReasons = new Map<number, string>();
export function setDropReasonNames(names: Map<number, string>): void {
  dropReasons = names;
}

/**
 * A drop line (script.ts dropBody): TAG nsecs cpu pid irq sk family reason state out saddr
 * sport daddr dport flags location comm. The packet's source is local when it was leaving.
 */
function parseDropLine(f: readonly string[]): RawTcpEvent | null {
  if (f.length < 17) return null;
  const num = (i: number) => Number(f[i]);
  const tsNs = num(1);
  if (!Number.isFinite(tsNs)) return null;
  const out = f[9] === '1';
  const flags = num(14);
  const reason = num(7);
  const state = num(8);
  return {
    kind: 'drop',
    tsNs,
    cpu: num(2),
    tid: num(3),
    inInterrupt: f[4] === '1',
    skaddr: parseInt((f[5] ?? '0').slice(-12), 16) || 0,
    family: num(6) === 10 ? 6 : 4,
    localAddress: out ? f[10]! : f[12]!,
    localPort: out ? num(11) : num(13),
    remoteAddress: out ? f[12]! : f[10]!,
    remotePort: out ? num(13) : num(11),
    oldState: state,
    newState: state,
    reason: dropReasons.get(reason) ?? `reason ${reason}`,
    error: null,
    count: null,
    comm: f.slice(16).join(' '),
    detail: null,
    drop: { direction: out ? 'out' : 'in', tcpFlags: flags < 0 || !Number.isFinite(flags) ? null : flags, location: f[15] === '' ? null : f[15]! },
  };
}

/** Columns (script.ts): TAG nsecs cpu pid irq skaddr family old new saddr saddr6 sport daddr daddr6 dport, then per kind. */
const EXTRA = 15;

export function parseBpftraceLine(line: string): RawTcpEvent | null {
  const f = line.split(' ');
  const kind = KINDS[f[0] ?? ''];
  if (kind === 'drop') return parseDropLine(f);
  if (kind === undefined || f.length < EXTRA) return null;
  const num = (i: number) => Number(f[i]);
  const family: 4 | 6 = num(6) === 10 ? 6 : 4;
  const tsNs = num(1);
  if (!Number.isFinite(tsNs)) return null;
  const base = {
    kind,
    tsNs,
    cpu: num(2),
    tid: num(3),
    inInterrupt: f[4] === '1',
    skaddr: parseInt((f[5] ?? '0').slice(-12), 16) || 0,
    family,
    oldState: num(7),
    newState: num(8),
    localAddress: family === 4 ? f[9]! : f[10]!,
    localPort: num(11),
    remoteAddress: family === 4 ? f[12]! : f[13]!,
    remotePort: num(14),
    count: null,
    error: null,
  };
  const comm = (from: number) => f.slice(from).join(' ');
  if (kind === 'state') {
    if (f.length < EXTRA + 11) return null;
    return {
      ...base,
      reason: null,
      comm: comm(EXTRA + 10),
      detail: {
        cwnd: num(EXTRA),
        rcvWnd: num(EXTRA + 1),
        sndWnd: num(EXTRA + 2),
        bytesSent: num(EXTRA + 3),
        bytesReceived: num(EXTRA + 4),
        bytesAcked: num(EXTRA + 5),
        ackBacklog: num(EXTRA + 6),
        maxAckBacklog: num(EXTRA + 7),
        totalRetrans: num(EXTRA + 8),
        srttUs: num(EXTRA + 9),
      },
    };
  }
  if (kind === 'send-reset') {
    const reason = num(EXTRA);
    return { ...base, reason: resetReasons.get(reason) ?? `reason ${reason}`, comm: comm(EXTRA + 1), detail: null };
  }
  if (kind === 'retransmit') {
    const err = num(EXTRA);
    const segments = num(EXTRA + 1);
    return {
      ...base, reason: null, error: err === 0 || !Number.isFinite(err) ? null : kernelErrorName(err),
      count: Number.isFinite(segments) ? Math.max(1, segments) : null, comm: comm(EXTRA + 2), detail: null,
    };
  }
  return { ...base, reason: null, comm: comm(EXTRA), detail: null };
}
