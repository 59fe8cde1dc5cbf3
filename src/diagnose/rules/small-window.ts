/**
 * small-window: connections carrying data whose peer keeps its advertised window small.
 *
 * Why it fires: a sender can have at most one receive window of data in flight, so a connection
 * moves at most window / RTT: 10 KB over a 50 ms path is 200 KB/s whatever the link. Linux
 * autotunes the receive buffer between tcp_rmem's bounds (tcp_rcv_space_adjust() in
 * net/ipv4/tcp_input.c), so a window that stays small on a busy connection means the receiver's
 * buffer is pinned small: an application that set SO_RCVBUF (which turns autotuning off), a low
 * tcp_rmem maximum, or memory pressure. The field guides call 58-65 KB normal and under 10 KB
 * anomalous. Judged only on connections with data waiting to send at both ends of the window
 * whose window (tcpi_snd_wnd) stayed below the threshold, and never zero (zero-window says that).
 */
import type { TcpSocket } from '../../model/socket.js';
import { plural, textAdvice, sysctlAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, localText, ownerOf, remoteText, maxOf, minOf } from '../view.js';
import type { FactsView } from '../view.js';

function limitedBySmallWindow(s: TcpSocket, lowBytes: number): boolean {
  const info = s.tcpInfo;
  if (s.state !== 'ESTABLISHED' || info === null || info.sndWnd === null) return false;
  return info.sndWnd > 0 && info.sndWnd < lowBytes && (s.sendQ > 0 || (info.notsentBytes ?? 0) > 0);
}

function held(view: FactsView, s: TcpSocket, lowBytes: number): boolean {
  if (!limitedBySmallWindow(s, lowBytes)) return false;
  const before = view.atStart(s);
  if (before === undefined || !limitedBySmallWindow(before, lowBytes)) return false;
  // It moved data in the window: a window that limits a live transfer, not a stalled one.
  return (s.tcpInfo!.bytesAcked ?? 0) > (before.tcpInfo!.bytesAcked ?? 0);
}

export const smallWindow: Rule = {
  id: 'small-window',
  summary: 'busy connections whose peer window stays below window_low_bytes, with the buffers behind it',
  needs: ['sockets', 'tcpInfo', 'sysctls'],
  logPatterns: [/slow|throughput/i],
  evaluate({ view, thresholds }) {
    const low = thresholds.window_low_bytes;
    const limited = view.end.filter((s) => held(view, s, low));
    const findings: FindingDraft[] = [];
    const rmem = view.sysctlText('net.ipv4.tcp_rmem');
    for (const [receiver, group] of groupBy(limited, (s) => s.remote.address)) {
      const windowMax = maxOf(group, (s) => s.tcpInfo!.sndWnd!);
      const windowMin = minOf(group, (s) => s.tcpInfo!.sndWnd!);
      const localReceivers = group.map((s) => view.peerOf(s)).flatMap((p) => (p === undefined ? [] : [p]));
      const rcvBufs = localReceivers.map((r) => r.memory?.rcvBuf).filter((b): b is number => b !== undefined);
      const reader = localReceivers[0] === undefined ? null : ownerOf(localReceivers[0]);
      const rcvBufMax = rcvBufs.length === 0 ? null : maxOf(rcvBufs, (b) => b);
      findings.push({
        severity: 'warning',
        title: `${plural(group.length, 'busy connection')} to ${reader === null ? receiver : `${reader.process} (pid ${reader.pid})`} limited by a ${windowMax}-byte window`,
        subject: receiver,
        explanation:
          `The receiver keeps advertising less than ${low} bytes of window while these connections have data to send, so each can carry at most one small window per round trip. ` +
          (rcvBufMax !== null ? `Its receive buffer is ${rcvBufMax} bytes: ` : '') +
          'a buffer fixed by the application (SO_RCVBUF turns autotuning off) or a low tcp_rmem maximum keeps the window small.',
        evidence: {
          receiver,
          reader,
          connections: group.length,
          advertisedWindowMaxBytes: windowMax,
          advertisedWindowMinBytes: windowMin,
          receiverRcvBufBytes: rcvBufMax,
          tcpRmem: rmem,
          netCoreRmemMax: view.sysctlText('net.core.rmem_max'),
          sockets: group.slice(0, 10).map((s) => ({ sender: localText(s), receiver: remoteText(s), sndWnd: s.tcpInfo!.sndWnd, owner: ownerOf(s) })),
        },
        advice: [
          textAdvice(`If ${reader === null ? 'the receiving application' : reader.process} sets SO_RCVBUF, remove it (or size it to bandwidth x RTT) and let the kernel autotune.`),
          sysctlAdvice('net.ipv4.tcp_rmem', rmem, '4096 131072 6291456', 'Give autotuning room: the kernel default maximum is 6 MB. Only on the receiver, and not when the host is short of memory (see tcp-memory-pressure).'),
        ],
      });
    }
    return { value: limited.length, threshold: 1, measure: `busy connections held below a ${low}-byte window`, findings };
  },
};
