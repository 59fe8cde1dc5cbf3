/**
 * Read back the lines script.ts makes bpftrace print. Malformed lines (bpftrace warnings on
 * stdout, a line cut by a crash) give null and are skipped.
 */
import type { RawEventKind, RawTcpEvent } from '../../model/kernel-event.js';

const KINDS: Record<string, Exclude<RawEventKind, 'lost'>> = {
  S: 'state',
  R: 'retransmit',
  A: 'retransmit-synack',
  V: 'receive-reset',
  X: 'send-reset',
};

/** tcp_send_reset reasons by number (include/net/rstreason.h); the tracefs format gives the same names. */
let resetReasons = new Map<number, string>();
export function setResetReasonNames(names: Map<number, string>): void {
  resetReasons = names;
}

export function parseBpftraceLine(line: string): RawTcpEvent | null {
  const f = line.split(' ');
  const kind = KINDS[f[0] ?? ''];
  if (kind === undefined || f.length < 14) return null;
  const num = (i: number) => Number(f[i]);
  const family: 4 | 6 = num(5) === 10 ? 6 : 4;
  const tsNs = num(1);
  if (!Number.isFinite(tsNs)) return null;
  const base = {
    kind,
    tsNs,
    cpu: num(2),
    tid: num(3),
    // bpftrace cannot tell softirq from process context here: attribution falls back on the
    // socket's known owner and the listener's (tracker.ts), which covers passive opens.
    inInterrupt: false,
    skaddr: parseInt((f[4] ?? '0').slice(-12), 16) || 0,
    family,
    oldState: num(6),
    newState: num(7),
    localAddress: family === 4 ? f[8]! : f[9]!,
    localPort: num(10),
    remoteAddress: family === 4 ? f[11]! : f[12]!,
    remotePort: num(13),
    count: null,
  };
  if (kind === 'state') {
    if (f.length < 25) return null;
    return {
      ...base,
      reason: null,
      comm: f.slice(24).join(' '),
      detail: {
        cwnd: num(14),
        rcvWnd: num(15),
        sndWnd: num(16),
        bytesSent: num(17),
        bytesReceived: num(18),
        bytesAcked: num(19),
        ackBacklog: num(20),
        maxAckBacklog: num(21),
        totalRetrans: num(22),
        srttUs: num(23),
      },
    };
  }
  if (kind === 'send-reset') {
    const reason = num(14);
    return { ...base, reason: resetReasons.get(reason) ?? `reason ${reason}`, comm: f.slice(15).join(' '), detail: null };
  }
  return { ...base, reason: null, comm: f.slice(14).join(' '), detail: null };
}
