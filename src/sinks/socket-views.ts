/**
 * Text views of the socket table, listeners and counters for the terminal. Pure: data in,
 * string out; the CLI writes it.
 */
import type { TcpSocket } from '../model/socket.js';
import { formatEndpoint } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import type { KernelResponse, ListenerSummary } from '../model/listener.js';
import type { CounterDelta } from '../analysis/counter-rates.js';
import type { Counters } from '../model/counters.js';
import { renderTable, humanNumber } from './table.js';
import type { Column } from './table.js';

const processLabel = (pid: number | null, name: string | null): string | null =>
  pid === null ? null : `${pid}/${name ?? '?'}`;

const ms = (v: number | null | undefined): string | null => (v === null || v === undefined ? null : v.toFixed(v < 10 ? 3 : 1));

const timerLabel = (s: TcpSocket): string | null =>
  s.timer.kind === 'none' || s.timer.expiresMs === null
    ? null
    : `${s.timer.kind}:${(s.timer.expiresMs / 1000).toFixed(1)}s${s.timer.retransmits > 0 ? `/${s.timer.retransmits}` : ''}`;

const BASE_COLUMNS: readonly Column<TcpSocket>[] = [
  { header: 'STATE', value: (s) => s.state },
  { header: 'RECV-Q', value: (s) => s.recvQ, align: 'right' },
  { header: 'SEND-Q', value: (s) => s.sendQ, align: 'right' },
  { header: 'LOCAL', value: (s) => formatEndpoint(s.local, s.family) },
  { header: 'REMOTE', value: (s) => formatEndpoint(s.remote, s.family) },
  { header: 'PROCESS', value: (s) => processLabel(s.pid, s.process), maxWidth: 28 },
  { header: 'RTT(ms)', value: (s) => ms(s.tcpInfo?.rttMs), align: 'right' },
  { header: 'RETRANS', value: (s) => (s.tcpInfo ? `${s.tcpInfo.retrans}/${s.tcpInfo.totalRetrans}` : null), align: 'right' },
  { header: 'CWND', value: (s) => s.tcpInfo?.cwnd, align: 'right' },
  { header: 'TIMER', value: timerLabel },
];

const WIDE_COLUMNS: readonly Column<TcpSocket>[] = [
  { header: 'RTTVAR', value: (s) => ms(s.tcpInfo?.rttvarMs), align: 'right' },
  { header: 'LOST', value: (s) => s.tcpInfo?.lost, align: 'right' },
  { header: 'SSTHRESH', value: (s) => s.tcpInfo?.ssthresh, align: 'right' },
  { header: 'MSS', value: (s) => s.tcpInfo?.mss, align: 'right' },
  { header: 'PMTU', value: (s) => s.tcpInfo?.pmtu, align: 'right' },
  { header: 'ACKED', value: (s) => (s.tcpInfo?.bytesAcked == null ? null : humanNumber(s.tcpInfo.bytesAcked, true)), align: 'right' },
  { header: 'RCVD', value: (s) => (s.tcpInfo?.bytesReceived == null ? null : humanNumber(s.tcpInfo.bytesReceived, true)), align: 'right' },
  { header: 'DELIVERY', value: (s) => (s.tcpInfo?.deliveryRateBps == null ? null : `${humanNumber(s.tcpInfo.deliveryRateBps)}bps`), align: 'right' },
  { header: 'LASTSND', value: (s) => s.tcpInfo?.lastSendMs, align: 'right' },
  { header: 'LASTRCV', value: (s) => s.tcpInfo?.lastReceiveMs, align: 'right' },
  { header: 'UNACKED', value: (s) => s.tcpInfo?.unacked, align: 'right' },
  { header: 'SNDWND', value: (s) => s.tcpInfo?.sndWnd, align: 'right' },
];

/** What ss -e adds: the owner's uid, the socket's inode and its cookie. */
const EXTENDED_COLUMNS: readonly Column<TcpSocket>[] = [
  { header: 'UID', value: (s) => s.uid, align: 'right' },
  { header: 'INODE', value: (s) => s.inode, align: 'right' },
  { header: 'COOKIE', value: (s) => s.cookie },
];

export interface ConnsView {
  /** More tcp_info columns. */
  readonly wide?: boolean;
  /** uid, inode and cookie, as ss -e. */
  readonly extended?: boolean;
  /** The header line (ss -H leaves it out). */
  readonly header?: boolean;
}

export function renderConns(sockets: readonly TcpSocket[], view: ConnsView = {}): string {
  // --wide has shown uid and inode all along; -e adds the cookie, as ss -e does.
  const owner = view.extended === true ? EXTENDED_COLUMNS : view.wide === true ? EXTENDED_COLUMNS.slice(0, 2) : [];
  const columns = [...BASE_COLUMNS, ...(view.wide === true ? WIDE_COLUMNS : []), ...owner];
  return renderTable(sockets, columns, { header: view.header !== false });
}

const LISTENER_COLUMNS: readonly Column<ListenerSummary>[] = [
  { header: 'LOCAL', value: (l) => formatEndpoint(l.local, l.family) },
  { header: 'PROCESS', value: (l) => processLabel(l.pid, l.process), maxWidth: 28 },
  { header: 'BACKLOG', value: (l) => l.backlog, align: 'right' },
  { header: 'ACCEPT-Q', value: (l) => l.acceptQueue, align: 'right' },
  { header: 'SYN_RECV', value: (l) => l.synRecv, align: 'right' },
  { header: 'ESTAB', value: (l) => l.established, align: 'right' },
  {
    header: 'QUEUE',
    value: (l) => (l.backlog === null || l.backlog === 0 ? null : `${Math.round((l.acceptQueue / l.backlog) * 100)}%`),
    align: 'right',
  },
  {
    header: 'FULL',
    value: (l) => [l.acceptQueueFull === true ? 'accept' : null, l.synQueueFull === true ? 'syn' : null].filter((x) => x !== null).join('+') || null,
  },
];

const RESPONSES: Readonly<Record<KernelResponse, string>> = {
  'drops-new-syns': 'drops new SYNs',
  'answers-with-syncookies': 'answers new SYNs with SYN cookies',
  'drops-final-acks': 'drops the ACK that completes a handshake, so the client waits for a SYN-ACK retransmission (net.ipv4.tcp_abort_on_overflow=0)',
  'resets-connections': 'answers the ACK that completes a handshake with a RST (net.ipv4.tcp_abort_on_overflow=1)',
};

const perSec = (name: string, value: number | null): string | null => (value === null ? null : `${name} ${value}/s`);

/** One paragraph per listener with a full queue: what is full, what the kernel does, the evidence, what to change. */
export function describeListenerPressure(l: ListenerSummary): string | null {
  if (l.acceptQueueFull !== true && l.synQueueFull !== true) return null;
  const who = `${formatEndpoint(l.local, l.family)}${l.pid === null ? '' : ` (${processLabel(l.pid, l.process)})`}`;
  const full: string[] = [];
  if (l.acceptQueueFull === true) full.push(`its accept queue is full (${l.acceptQueue} waiting for accept(), backlog ${l.backlog})`);
  if (l.synQueueFull === true) full.push(`its SYN queue is full (${l.synRecv} half-open, limit ${l.backlog})`);
  let text = `${who}: ${full.join(' and ')}`;
  const p = l.pressure;
  if (p !== null) {
    text += `; the kernel ${p.actions.map((a) => RESPONSES[a]).join(', and ')}`;
    const evidence = [
      perSec('ListenOverflows', p.listenOverflowsPerSec), perSec('ListenDrops', p.listenDropsPerSec),
      perSec('SyncookiesSent', p.syncookiesSentPerSec), perSec('TCPReqQFullDoCookies', p.reqQFullDoCookiesPerSec),
      perSec('TCPReqQFullDrop', p.reqQFullDropPerSec),
    ].filter((e) => e !== null);
    text += `. Over ${(p.windowMs / 1000).toFixed(1)} s, for the whole network namespace: ${evidence.join(', ')}`;
  }
  const advice = l.acceptQueueFull === true
    ? 'call accept() sooner (more workers, less work per accept), or raise the listen() backlog (capped by net.core.somaxconn)'
    : 'if these SYNs are a flood, keep net.ipv4.tcp_syncookies=1; if they are clients, raise the listen() backlog (capped by net.core.somaxconn)';
  return `${text}. Fix: ${advice}.`;
}

export function renderListeners(listeners: readonly ListenerSummary[], view: { readonly header?: boolean; readonly extended?: boolean } = {}): string {
  const columns = view.extended === true ? [...LISTENER_COLUMNS, { header: 'INODE', value: (l: ListenerSummary) => l.inode, align: 'right' as const }] : LISTENER_COLUMNS;
  const notes = listeners.map(describeListenerPressure).filter((n) => n !== null);
  return renderTable(listeners, columns, { header: view.header !== false }) + (notes.length === 0 ? '' : `\n${notes.map((n) => `${n}\n`).join('')}`);
}

/** Counters shown in the text view (JSON has every counter the kernel exports). */
export const KEY_COUNTERS = [
  'ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab',
  'InSegs', 'OutSegs', 'RetransSegs', 'InErrs', 'OutRsts',
  'ListenOverflows', 'ListenDrops', 'SyncookiesSent', 'SyncookiesRecv', 'SyncookiesFailed',
  'TCPSynRetrans', 'TCPTimeouts', 'TCPLostRetransmit', 'TCPFastRetrans',
  'TCPAbortOnData', 'TCPAbortOnClose', 'TCPAbortOnMemory', 'TCPAbortOnTimeout', 'TCPAbortOnLinger', 'TCPAbortFailed',
  'TCPReqQFullDrop', 'TCPReqQFullDoCookies', 'TCPBacklogDrop', 'TCPTimeWaitOverflow', 'TCPMemoryPressures',
  'TCPZeroWindowDrop', 'TCPToZeroWindowAdv', 'TW',
  'SockstatInuse', 'SockstatOrphan', 'SockstatTw', 'SockstatAlloc', 'SockstatMem', 'Sockstat6Inuse',
] as const;

export interface StatsView {
  readonly states: Record<TcpState, number>;
  readonly counters: Counters;
  readonly delta: CounterDelta | null;
  readonly retransRatio: number | null;
  readonly sysctl: Record<string, string | null>;
  readonly showSysctl: boolean;
  /**
   * Which counters get a row: the key ones (a one-shot view), those in `moved` (an interval view,
   * like nstat), or every counter the kernel exports (`--all`).
   */
  readonly rows?: 'key' | 'moved' | 'all';
  readonly moved?: ReadonlySet<string>;
}

const percent = (ratio: number | null): string => (ratio === null ? 'n/a (nothing sent)' : `${(ratio * 100).toFixed(3)}%`);

export function renderStats(view: StatsView): string {
  const total = Object.values(view.states).reduce((a, b) => a + b, 0);
  const stateRows = Object.entries(view.states).map(([state, count]) => ({ state, count }));
  let text = `TCP sockets: ${total}\n`;
  text += renderTable(stateRows, [
    { header: 'STATE', value: (r) => r.state },
    { header: 'COUNT', value: (r) => r.count, align: 'right' },
  ]);
  const rows = view.rows ?? 'key';
  const names = rows === 'key'
    ? KEY_COUNTERS.filter((name) => view.counters[name] !== undefined)
    : Object.keys(view.counters).filter((name) => rows === 'all' || view.moved?.has(name) === true);
  const counterRows = names.map((name) => ({
    name,
    total: view.counters[name]!,
    delta: view.delta?.deltas[name],
    rate: view.delta?.rates[name],
  }));
  const columns: Column<(typeof counterRows)[number]>[] = [
    { header: 'COUNTER', value: (r) => r.name },
    { header: 'TOTAL', value: (r) => r.total, align: 'right' },
  ];
  if (view.delta) {
    columns.push({ header: `DELTA(${(view.delta.intervalMs / 1000).toFixed(1)}s)`, value: (r) => r.delta, align: 'right' });
    columns.push({ header: 'PER-SEC', value: (r) => r.rate, align: 'right' });
  }
  text += '\n' + (counterRows.length === 0 && rows === 'moved'
    ? `No counter moved in the last ${((view.delta?.intervalMs ?? 0) / 1000).toFixed(1)} s (--all shows every counter).\n`
    : renderTable(counterRows, columns));
  const memPages = view.counters.SockstatMem;
  if (memPages !== undefined) text += `TCP memory: ${humanNumber(memPages * 4096, true)}B (${memPages} pages)\n`;
  text += `\nRetransmission ratio (RetransSegs/OutSegs${view.delta ? ', this interval' : ', since boot'}): ${percent(view.retransRatio)}\n`;
  if (view.showSysctl) {
    text += '\n' + renderTable(
      Object.entries(view.sysctl).map(([name, value]) => ({ name, value })),
      [
        { header: 'SYSCTL', value: (r) => r.name },
        { header: 'VALUE', value: (r) => r.value ?? '(absent)' },
      ],
    );
  }
  return text;
}
