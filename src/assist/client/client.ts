/**
 * `tcpdiag client`: connect, send text/hex/file payloads (repeated on a timer) or lines read
 * from an input stream, and report everything that comes back with timestamps and counters.
 * Library code: events go to a callback, nothing is printed here.
 */
import net from 'node:net';
import { abortableSleep } from '../../platform/abortable-sleep.js';
import { lookup } from 'node:dns/promises';
import { createInterface } from 'node:readline';
import { TcpdiagError, TimeoutError, describeSystemError, isErrnoException } from '../../errors.js';
import type { TcpInfo } from '../../model/tcp-info.js';
import { connectWithMss, tcpInfoOf, tcpStateOf } from '../socket-options.js';
import { parseHexBytes } from '../hexdump.js';
import { formatHostPort } from './endpoint.js';

/** include/net/tcp_states.h */
const TCP_CLOSE = 7;

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  /** What to send; null = interactive: read lines from `input`. */
  readonly payload: Buffer | null;
  readonly repeat: number;
  readonly intervalMs: number;
  readonly mss: number | null;
  readonly connectTimeoutMs: number;
  /** After the last send, wait this long without receiving before closing. */
  readonly idleMs: number;
  /** Interactive mode: the byte sequence appended to each line. */
  readonly eol: Buffer;
  readonly input: NodeJS.ReadableStream | null;
  readonly signal: AbortSignal;
}

export type ClientEvent =
  | { readonly type: 'connected'; readonly remote: string; readonly local: string; readonly connectMs: number; readonly mss: number | null }
  | { readonly type: 'sent'; readonly seq: number; readonly data: Buffer }
  | { readonly type: 'received'; readonly seq: number; readonly data: Buffer; readonly offset: number }
  | { readonly type: 'peer-closed' }
  | { readonly type: 'peer-reset' }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

export interface ClientSummary {
  readonly target: string;
  readonly remote: string;
  readonly connectMs: number;
  readonly messagesSent: number;
  readonly bytesSent: number;
  /** Reads that returned data: TCP has no message boundaries, so this counts arrivals. */
  readonly messagesReceived: number;
  readonly bytesReceived: number;
  readonly durationMs: number;
  /** peer: the server closed first (FIN); local: we did; reset: RST; aborted: Ctrl-C. */
  readonly closedBy: 'peer' | 'local' | 'reset' | 'aborted';
  readonly tcpInfo: Pick<TcpInfo, 'rttMs' | 'rttvarMs' | 'totalRetrans' | 'mss' | 'cwnd'> | null;
}

/** Resolve a name to one numeric address (the first getaddrinfo answer). */
export async function resolveHost(host: string): Promise<{ address: string; family: number }> {
  if (net.isIP(host) !== 0) return { address: host, family: net.isIP(host) };
  try {
    return await lookup(host);
  } catch (error: unknown) {
    throw new TcpdiagError('TCPDIAG_DNS_FAILED', `cannot resolve ${host}: ${describeSystemError(error)}`, {
      hint: 'check the name, /etc/hosts and /etc/resolv.conf, or use a numeric address',
      cause: error,
    });
  }
}

function connectPlain(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, noDelay: true, allowHalfOpen: true });
    const timer = setTimeout(() => fail(new TimeoutError(`no answer to SYN from ${formatHostPort(address, port)} within ${timeoutMs} ms`, 'is a firewall dropping packets? try tcpdiag probe for a layered check')), timeoutMs);
    const onAbort = (): void => fail(new TimeoutError('connect aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (error: Error): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function connectError(target: string, error: unknown): TcpdiagError {
  if (error instanceof TcpdiagError) return error;
  const code = isErrnoException(error) ? error.code : undefined;
  const hints: Record<string, string> = {
    ECONNREFUSED: 'nothing listens there: check the port, or start one with `tcpdiag server PORT`',
    EHOSTUNREACH: 'no route to the host: check `ip route get ADDRESS` and firewalls',
    ENETUNREACH: 'no route to the network: check `ip route`',
    ECONNRESET: 'the peer or a middlebox reset the connection',
  };
  return new TcpdiagError('TCPDIAG_CONNECT_FAILED', `cannot connect to ${target}: ${describeSystemError(error)}`, {
    hint: hints[code ?? ''] ?? 'run `tcpdiag probe` for a layered check',
    cause: error,
  });
}

export async function runClient(options: ClientOptions, emit: (event: ClientEvent) => void): Promise<ClientSummary> {
  const target = formatHostPort(options.host, options.port);
  const { address } = await resolveHost(options.host);
  const remote = formatHostPort(address, options.port);
  const connectStarted = performance.now();
  let socket: net.Socket;
  try {
    socket =
      options.mss === null
        ? await connectPlain(address, options.port, options.connectTimeoutMs, options.signal)
        : await connectWithMss({ address, port: options.port, mss: options.mss, timeoutMs: options.connectTimeoutMs, signal: options.signal });
  } catch (error: unknown) {
    throw connectError(remote, error);
  }
  const connectMs = Math.round((performance.now() - connectStarted) * 1000) / 1000;
  socket.setNoDelay(true);
  const started = Date.now();
  emit({
    type: 'connected',
    remote,
    local: formatHostPort(socket.localAddress ?? '?', socket.localPort ?? 0),
    connectMs,
    mss: tcpInfoOf(socket)?.mss ?? null,
  });

  let bytesSent = 0;
  let messagesSent = 0;
  let bytesReceived = 0;
  let messagesReceived = 0;
  let closedBy: ClientSummary['closedBy'] = 'local';
  let lastActivity = Date.now();
  let lastInfo: TcpInfo | null = null;

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let peerEnded = false;
  // Whether our FIN went first: then the peer's FIN is an answer, not the peer closing on us.
  let weEnded = false;
  const peerEnd = new Promise<void>((resolve) => {
    socket.once('end', () => {
      peerEnded = true;
      lastInfo = tcpInfoOf(socket) ?? lastInfo;
      // libuv reports an RST as ECONNRESET only when its read meets the socket's error; when an
      // earlier call took the error (sock_error() clears sk_err) the read returns 0, which looks
      // like a FIN: 9 runs of 10 against a server that replies then resets. The kernel's state
      // tells them apart: a FIN leaves us in CLOSE_WAIT (we have not closed), an RST in CLOSE
      // (tcp_reset -> tcp_done, net/ipv4/tcp_input.c).
      const reset = !weEnded && tcpStateOf(socket) === TCP_CLOSE;
      if (reset) closedBy = 'reset';
      else if (!weEnded && closedBy === 'local') closedBy = 'peer';
      emit({ type: reset ? 'peer-reset' : 'peer-closed' });
      resolve();
    });
    socket.once('close', () => resolve());
  });
  socket.on('data', (chunk: Buffer) => {
    messagesReceived++;
    emit({ type: 'received', seq: messagesReceived, data: chunk, offset: bytesReceived });
    bytesReceived += chunk.length;
    lastActivity = Date.now();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
      // Already reported from the kernel's state at 'end'.
      if (closedBy === 'reset') return;
      closedBy = 'reset';
      // One event for an RST however libuv learnt of it (this read's error, or 'end').
      if (error.code === 'ECONNRESET') {
        emit({ type: 'peer-reset' });
        return;
      }
    }
    emit({ type: 'error', code: error.code ?? 'ERROR', message: describeSystemError(error) });
  });

  const send = (data: Buffer): void => {
    if (!socket.writable) return;
    socket.write(data);
    messagesSent++;
    bytesSent += data.length;
    lastActivity = Date.now();
    lastInfo = tcpInfoOf(socket) ?? lastInfo;
    emit({ type: 'sent', seq: messagesSent, data });
  };
  const stopped = (): boolean => options.signal.aborted || socket.destroyed || peerEnded;

  if (options.payload !== null) {
    for (let i = 0; i < options.repeat && !stopped(); i++) {
      if (i > 0) await abortableSleep(options.intervalMs, options.signal);
      if (stopped()) break;
      send(options.payload);
    }
  } else if (options.input !== null) {
    // Stop reading the terminal when the server goes away, not only on Ctrl-C: otherwise the
    // session would sit waiting for a line to send to a closed connection.
    const session = new AbortController();
    const endSession = (): void => session.abort();
    options.signal.addEventListener('abort', endSession, { once: true });
    void peerEnd.then(endSession);
    await sendLines(options.input, options.eol, send, stopped, session.signal, (error) =>
      emit({ type: 'error', code: error.code, message: error.message }),
    );
    options.signal.removeEventListener('abort', endSession);
    // End of input: half-close (FIN) and keep reading what the server still sends.
    if (!socket.destroyed && !peerEnded) {
      weEnded = true;
      socket.end();
    }
  }

  // Wait for replies: until the peer closes, or `idleMs` passes without traffic.
  while (!stopped()) {
    const idleFor = Date.now() - lastActivity;
    if (idleFor >= options.idleMs) break;
    await Promise.race([abortableSleep(Math.min(options.idleMs - idleFor, 100), options.signal), peerEnd]);
  }
  if (options.signal.aborted && closedBy === 'local') closedBy = 'aborted';
  lastInfo = tcpInfoOf(socket) ?? lastInfo;
  if (!socket.destroyed) {
    weEnded = true;
    socket.end();
    // Give our FIN and the peer's answer a moment, then let go.
    const timer = setTimeout(() => socket.destroy(), 500);
    await closed;
    clearTimeout(timer);
  }
  const info: TcpInfo | null = lastInfo;
  return {
    target,
    remote,
    connectMs,
    messagesSent,
    bytesSent,
    messagesReceived,
    bytesReceived,
    durationMs: Date.now() - started,
    closedBy,
    tcpInfo: info === null ? null : { rttMs: info.rttMs, rttvarMs: info.rttvarMs, totalRetrans: info.totalRetrans, mss: info.mss, cwnd: info.cwnd },
  };
}

/**
 * Interactive mode: each line is sent followed by `eol`; a line `hex: 48 65` sends those bytes
 * as they are (no eol), so binary protocols can be typed too.
 */
async function sendLines(
  input: NodeJS.ReadableStream,
  eol: Buffer,
  send: (data: Buffer) => void,
  stopped: () => boolean,
  signal: AbortSignal,
  onBadLine: (error: TcpdiagError) => void,
): Promise<void> {
  const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
  const onAbort = (): void => lines.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of lines) {
      if (stopped()) break;
      if (/^hex:/i.test(line)) {
        try {
          send(parseHexBytes(line.slice(4), 'hex: line'));
        } catch (error: unknown) {
          // A typo in one line must not end the session: report it and read the next line.
          if (!(error instanceof TcpdiagError)) throw error;
          onBadLine(error);
        }
      } else {
        send(Buffer.concat([Buffer.from(line, 'utf8'), eol]));
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
