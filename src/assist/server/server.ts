/**
 * `tcpdiag server`: a TCP server that shows each client and what it sends, answers in a chosen
 * mode (print, echo, discard) and by reply rules, and misbehaves on purpose to reproduce
 * faults: never close (CLOSE_WAIT here, FIN_WAIT2 at the peer), never read (zero window),
 * reset after N bytes, delayed accept, a tiny backlog that is never accepted (listen overflow),
 * and a clamped MSS. Library code: it reports events through a callback and never prints.
 */
import net from 'node:net';
import { TcpdiagError, KernelFeatureError, describeSystemError } from '../../errors.js';
import { IPPROTO_TCP, TCP_MAXSEG, loadNative } from '../../native/index.js';
import { formatHostPort } from '../client/endpoint.js';
import { TrafficLog } from './traffic-log.js';
import { tcpInfoOf } from '../socket-options.js';
import { listenWithoutAccepting } from './no-accept.js';
import { ReplyMatcher } from './reply-rules.js';
import type { ReplyRule } from './reply-rules.js';

export type ServerMode = 'print' | 'echo' | 'discard';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly mode: ServerMode;
  readonly replies: readonly ReplyRule[];
  /** Keep the socket open after the peer's FIN: CLOSE_WAIT here, FIN_WAIT2 at the peer. */
  readonly neverClose: boolean;
  /** Never read: the receive queue fills and the advertised window drops to zero. */
  readonly neverRead: boolean;
  /** Send RST (SO_LINGER 0 + close) once a connection has received this many bytes. */
  readonly resetAfterBytes: number | null;
  /** Wait this long after accept before reading or answering. */
  readonly acceptDelayMs: number | null;
  /** listen() backlog (the kernel caps it at net.core.somaxconn). */
  readonly backlog: number | null;
  /** Listen and never accept (listen-queue overflow with a small --backlog). */
  readonly noAccept: boolean;
  /** TCP_MAXSEG on the listener: the MSS advertised in SYN-ACKs and used by accepted sockets. */
  readonly mss: number | null;
  /** Report every read and write (--hex-dump); otherwise the first of each, then counts once a second. */
  readonly everyRead: boolean;
  readonly signal: AbortSignal;
}

export interface Peer {
  readonly id: number;
  readonly remote: string;
  readonly local: string;
}

export type ServerEvent =
  | { readonly type: 'listening'; readonly address: string; readonly port: number; readonly family: string; readonly accepting: boolean }
  | { readonly type: 'accept'; readonly peer: Peer }
  | { readonly type: 'data'; readonly peer: Peer; readonly data: Buffer; readonly totalBytes: number }
  | { readonly type: 'sent'; readonly peer: Peer; readonly bytes: number; readonly reason: string }
  /** Reads and writes since the last report that were not shown one by one (traffic-log.ts). */
  | { readonly type: 'traffic'; readonly peer: Peer; readonly readsIn: number; readonly bytesIn: number; readonly writesOut: number; readonly bytesOut: number; readonly periodMs: number }
  | { readonly type: 'peer-closed'; readonly peer: Peer; readonly keptOpen: boolean }
  | { readonly type: 'reset'; readonly peer: Peer; readonly afterBytes: number }
  | { readonly type: 'error'; readonly peer: Peer | null; readonly code: string; readonly message: string }
  | { readonly type: 'close'; readonly peer: Peer; readonly bytesIn: number; readonly bytesOut: number; readonly durationMs: number; readonly reset: boolean; readonly kernel: ServerTcpInfo | null };

/** tcp_info of a client connection, sampled at the peer's FIN or before a reset. */
export interface ServerTcpInfo {
  readonly rttMs: number;
  readonly totalRetrans: number;
  readonly mss: number;
}

export interface ServerSummary {
  readonly connections: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

function listenError(options: ServerOptions, error: unknown): TcpdiagError {
  return new TcpdiagError('TCPDIAG_LISTEN_FAILED', `cannot listen on ${formatHostPort(options.host, options.port)}: ${describeSystemError(error)}`, {
    hint: 'pick another port (0 lets the kernel choose), stop the process that holds it, or listen on an address this host has',
    cause: error,
  });
}

/** TCP_MAXSEG on a listening fd; accepted sockets inherit it (tcp_create_openreq_child, net/ipv4/tcp_minisocks.c). */
function clampMss(fd: number | null, mss: number): void {
  const { addon, error } = loadNative();
  if (addon === null) throw new KernelFeatureError(`--mss needs the native addon: ${error}`, 'rebuild it: npm run install (needs python3, make, g++)');
  if (fd === null) throw new KernelFeatureError('--mss: the listening socket has no file descriptor', 'this Node build hides the fd; run without --mss');
  addon.setIntSockOpt(fd, IPPROTO_TCP, TCP_MAXSEG, mss);
}

export async function runServer(options: ServerOptions, emit: (event: ServerEvent) => void): Promise<ServerSummary> {
  if (options.noAccept) return runParked(options, emit);
  let nextId = 1;
  let connections = 0;
  let bytesInTotal = 0;
  let bytesOutTotal = 0;
  const sockets = new Set<net.Socket>();
  const delayTimers = new Set<NodeJS.Timeout>();
  const traffic = new TrafficLog(options.everyRead, emit);

  const server = net.createServer({
    // Half-open on purpose: after the peer's FIN we decide whether to close (default) or not.
    allowHalfOpen: true,
    // Nothing is read until we say so: --never-read and --accept-delay depend on it.
    pauseOnConnect: true,
    noDelay: true,
  });

  server.on('connection', (socket) => {
    connections++;
    const peer: Peer = {
      id: nextId++,
      remote: formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0),
      local: formatHostPort(socket.localAddress ?? '?', socket.localPort ?? 0),
    };
    const started = Date.now();
    let bytesIn = 0;
    let bytesOut = 0;
    let wasReset = false;
    // The kernel's view of the connection, read while the fd still exists (before close).
    let kernel: ServerTcpInfo | null = null;
    const sampleKernel = (): void => {
      const info = tcpInfoOf(socket);
      if (info !== null) kernel = { rttMs: info.rttMs, totalRetrans: info.totalRetrans, mss: info.mss };
    };
    sockets.add(socket);
    emit({ type: 'accept', peer });
    const matcher = new ReplyMatcher(options.replies);
    const send = (data: Buffer, reason: string): void => {
      if (socket.destroyed || !socket.writable || data.length === 0) return;
      socket.write(data);
      bytesOut += data.length;
      bytesOutTotal += data.length;
      traffic.wrote(peer, data.length, reason);
    };

    socket.on('data', (chunk: Buffer) => {
      let data = chunk;
      const limit = options.resetAfterBytes;
      const over = limit !== null && bytesIn + data.length >= limit;
      if (over) data = data.subarray(0, Math.max(0, limit - bytesIn));
      bytesIn += data.length;
      bytesInTotal += data.length;
      if (options.mode !== 'discard' && data.length > 0) traffic.read(peer, data, bytesIn);
      if (options.mode === 'echo') send(data, 'echo');
      for (const rule of matcher.feed(data)) send(rule.reply, `reply ${rule.source}`);
      if (over) {
        wasReset = true;
        sampleKernel();
        emit({ type: 'reset', peer, afterBytes: bytesIn });
        // RST instead of FIN: SO_LINGER {1, 0} then close (tcp_disconnect, net/ipv4/tcp.c).
        socket.resetAndDestroy();
      }
    });
    socket.on('end', () => {
      sampleKernel();
      emit({ type: 'peer-closed', peer, keptOpen: options.neverClose });
      // Not closing leaves this socket in CLOSE_WAIT and the peer in FIN_WAIT2 (RFC 9293 3.6).
      if (!options.neverClose) socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      emit({ type: 'error', peer, code: error.code ?? 'ERROR', message: describeSystemError(error) });
    });
    socket.on('close', () => {
      sockets.delete(socket);
      traffic.closed(peer);
      emit({ type: 'close', peer, bytesIn, bytesOut, durationMs: Date.now() - started, reset: wasReset, kernel });
    });

    const start = (): void => {
      if (!options.neverRead && !socket.destroyed) socket.resume();
    };
    if (options.acceptDelayMs !== null) {
      const timer = setTimeout(() => {
        delayTimers.delete(timer);
        start();
      }, options.acceptDelayMs);
      delayTimers.add(timer);
    } else {
      start();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(options, error)));
    server.listen({ host: options.host, port: options.port, ipv6Only: false, ...(options.backlog === null ? {} : { backlog: options.backlog }) }, () => resolve());
  });
  server.on('error', (error: NodeJS.ErrnoException) => emit({ type: 'error', peer: null, code: error.code ?? 'ERROR', message: describeSystemError(error) }));

  try {
    if (options.mss !== null) {
      const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd ?? null;
      clampMss(typeof fd === 'number' && fd >= 0 ? fd : null, options.mss);
    }
    const address = server.address() as net.AddressInfo;
    emit({ type: 'listening', address: address.address, port: address.port, family: address.family, accepting: true });
    await waitForAbort(options.signal);
  } finally {
    for (const timer of delayTimers) clearTimeout(timer);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  }
  return { connections, bytesIn: bytesInTotal, bytesOut: bytesOutTotal };
}

async function runParked(options: ServerOptions, emit: (event: ServerEvent) => void): Promise<ServerSummary> {
  let listener;
  try {
    listener = await listenWithoutAccepting(options.host, options.port, options.backlog ?? 1);
  } catch (error: unknown) {
    throw error instanceof TcpdiagError ? error : listenError(options, error);
  }
  try {
    if (options.mss !== null) clampMss(listener.fd, options.mss);
    emit({ type: 'listening', address: listener.address, port: listener.port, family: listener.family, accepting: false });
    await waitForAbort(options.signal);
  } finally {
    await listener.close();
  }
  return { connections: 0, bytesIn: 0, bytesOut: 0 };
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
