/**
 * zero-window: receivers that advertise a zero window and leave the sender stuck.
 *
 * Why it fires: a receiver advertises how much more it can buffer; when the application does not
 * read, the receive buffer fills and the window drops to zero (RFC 9293 section 3.8.6). The
 * sender then stops and only probes (the persist timer, ICSK_TIME_PROBE0, which sock_diag shows
 * as the `probe` timer; tcp_probe_timer() in net/ipv4/tcp_timer.c). A window that is zero at both
 * ends of the window, with no byte acknowledged in between, is an application that stopped
 * reading — not a momentary full buffer, which drains in milliseconds. The slow reader is the
 * process that owns the receiving socket: on this host its receive queue holds the unread bytes;
 * for a remote receiver, the peer's address is all TCP can tell.
 */
import type { TcpSocket } from '../../model/socket.js';
import { humanMs, plural, textAdvice, commandAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, localText, ownerOf, remoteText } from '../view.js';
import type { FactsView } from '../view.js';

/** The peer advertises a zero window to this sender and it has data waiting (or probes). */
function senderBlocked(s: TcpSocket): boolean {
  if (s.state !== 'ESTABLISHED' && s.state !== 'CLOSE_WAIT') return false;
  const info = s.tcpInfo;
  if (info === null) return s.timer.kind === 'probe';
  const zero = info.sndWnd === null ? s.timer.kind === 'probe' : info.sndWnd === 0;
  return zero && (s.sendQ > 0 || (info.notsentBytes ?? 0) > 0 || s.timer.kind === 'probe');
}

/** Blocked at both ends of the window, and nothing was acknowledged in between. */
function stuck(view: FactsView, s: TcpSocket): boolean {
  if (!senderBlocked(s)) return false;
  const before = view.atStart(s);
  if (before === undefined || !senderBlocked(before)) return false;
  const acked = s.tcpInfo?.bytesAcked;
  const ackedBefore = before.tcpInfo?.bytesAcked;
  return acked == null || ackedBefore == null || acked === ackedBefore;
}

/** A zero window held this long in a capture is a stalled sender. */
const CAPTURE_STALL_MS = 1000;

export const zeroWindow: Rule = {
  id: 'zero-window',
  summary: 'receivers advertising a zero window through the window: the slow reading process',
  needs: ['sockets'],
  logPatterns: [/timed? ?out|ETIMEDOUT|timeout/i, /slow/i, /buffer/i],
  evaluate({ view }) {
    const blocked = view.end.filter((s) => stuck(view, s));
    const findings: FindingDraft[] = [];
    const readers = groupBy(blocked, (s) => {
      const peer = view.peerOf(s);
      return peer?.pid != null ? `pid:${peer.pid}` : `remote:${s.remote.address}`;
    });
    for (const [key, group] of readers) {
      const receivers = group.map((s) => view.peerOf(s)).flatMap((p) => (p === undefined ? [] : [p]));
      const reader = receivers[0] === undefined ? null : ownerOf(receivers[0]);
      const unread = receivers.reduce((n, r) => n + r.recvQ, 0);
      const senders = group.map(ownerOf).filter((o) => o !== null);
      const readerName = reader === null ? `the receiver at ${key.slice('remote:'.length)}` : `${reader.process} (pid ${reader.pid})`;
      findings.push({
        severity: 'warning',
        title: `${readerName} stopped reading: ${plural(group.length, 'connection')} held at a zero window for ${humanMs(view.windowMs)}`,
        subject: reader === null ? key.slice('remote:'.length) : `${reader.process}[${reader.pid}]`,
        explanation:
          `The receiving side advertises a zero window: its receive buffer is full because the application does not read. ` +
          `The sender has data waiting and can only send window probes; nothing was acknowledged during the whole window. ` +
          (reader === null ? 'The receiver is not on this host: look at the application behind that address.' : `${unread} bytes wait unread in ${reader.process}'s receive queues.`),
        evidence: {
          reader,
          connections: group.length,
          unreadBytes: reader === null ? null : unread,
          receiveBuffers: receivers.slice(0, 5).map((r) => ({ socket: `${localText(r)} <- ${remoteText(r)}`, recvQ: r.recvQ, rcvBuf: r.memory?.rcvBuf ?? null })),
          senders: [...new Map(senders.map((o) => [o.pid, o])).values()],
          waitingToSendBytes: group.reduce((n, s) => n + s.sendQ + (s.tcpInfo?.notsentBytes ?? 0), 0),
          sockets: group.slice(0, 10).map((s) => ({ sender: localText(s), receiver: remoteText(s), timer: s.timer.kind })),
          zeroWindowAdvertised: view.delta('TCPToZeroWindowAdv'),
          zeroWindowProbeDrops: view.delta('TCPZeroWindowDrop'),
        },
        advice: [
          textAdvice(`Find why ${readerName} does not read: a blocked thread or event loop, a slow downstream (disk, database) it waits on before reading, or a bug that stops reading a connection.`),
          reader === null
            ? commandAdvice('On the receiving host, the receive queues (Recv-Q) show the unread bytes:', 'ss -tnpi state established')
            : commandAdvice('Watch its receive queues; a Recv-Q that does not drain confirms it:', `ss -tnpi | grep 'pid=${reader.pid},'`),
          textAdvice('A larger receive buffer (tcp_rmem) only delays the stall; it does not help a reader that has stopped.'),
        ],
      });
    }
    return { value: blocked.length, threshold: 1, measure: 'connections held at a zero window through the window', findings };
  },
  capture({ facts }) {
    // A zero window held for a second stalls the sender (RFC 9293 section 3.8.6.1, the persist
    // timer): the receiving application is not reading.
    const stalls = facts.capture!.zeroWindowStalls.filter((z) => z.stallMs >= CAPTURE_STALL_MS).sort((a, b) => b.stallMs - a.stallMs).slice(0, 10);
    const worst = Math.max(0, ...facts.capture!.zeroWindowStalls.map((z) => z.stallMs));
    const findings: FindingDraft[] = stalls.map((z) => ({
      severity: 'warning',
      title: `zero-window stall of ${humanMs(z.stallMs)} on ${z.client} -> ${z.server}`,
      subject: `${z.client} -> ${z.server}`,
      explanation: 'One side advertised a zero window for that long: its receive buffer was full because the application did not read, and the sender could only probe.',
      evidence: { client: z.client, server: z.server, stallMs: z.stallMs, zeroWindows: z.zeroWindows },
      advice: [textAdvice('Find why the receiving application stops reading (a blocked thread or event loop, a slow downstream); a larger receive buffer only delays the stall.')],
    }));
    return { value: worst, threshold: CAPTURE_STALL_MS, measure: 'longest zero-window stall in the capture (ms)', findings };
  },
};
