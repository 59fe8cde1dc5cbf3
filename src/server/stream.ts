/**
 * The live stream at /api/v1/stream: the bus's messages (model/stream.ts) as JSON text frames
 * over a WebSocket (ws in noServer mode, on the agent's own HTTP server). The token rule is the
 * HTTP one: an `Authorization: Bearer` header, or, for browsers (which cannot set headers on a
 * WebSocket), the subprotocol `tcpdiag.token.TOKEN` next to `tcpdiag.v1`.
 *
 * A client names the kinds it wants (`?kinds=sample,alert`, or later `{"subscribe":[...]}`).
 * Each message is serialised once and queued per client; at most `maxInflight` frames are
 * handed to the socket before their write completes, so a client that stops reading fills its
 * kernel buffer, then its queue of `queueLimit` messages, and from then on the oldest are
 * dropped and counted; the count reaches the client as a `dropped` frame before the next
 * message it gets. Memory per client is bounded by queueLimit x the largest message.
 * A ping every `pingIntervalMs`; a client that has not answered the previous one is cut off
 * (RFC 6455 5.5.2: a pong answers a ping).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket, RawData } from 'ws';
import { STREAM_KINDS } from '../model/stream.js';
import type { StreamKind, StreamMessage } from '../model/stream.js';
import { STREAM_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../model/stream-wire.js';
import type { StreamDropped, StreamHello } from '../model/stream-wire.js';
import { authorized } from './token.js';
import type { AgentBus } from './bus.js';

export const STREAM_PATH = '/api/v1/stream';

export interface StreamOptions {
  readonly bus: AgentBus;
  readonly token: string | null;
  readonly onError: (message: string) => void;
  readonly queueLimit?: number;
  readonly maxInflight?: number;
  readonly pingIntervalMs?: number;
}

export interface StreamStats {
  readonly clients: number;
  readonly queued: number;
  readonly dropped: number;
}

export interface StreamHandle {
  stats(): StreamStats;
  close(): void;
}

/** Client requests are tiny ({"subscribe":[...]}): anything bigger is refused by ws (close 1009). */
const MAX_CLIENT_FRAME = 4096;

class Client {
  kinds: ReadonlySet<StreamKind>;
  alive = true;
  private readonly queue: string[] = [];
  private head = 0;
  private inflight = 0;
  private pendingDropped = 0;
  totalDropped = 0;

  constructor(readonly ws: WebSocket, kinds: readonly StreamKind[], private readonly queueLimit: number, private readonly maxInflight: number) {
    this.kinds = new Set(kinds);
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  offer(text: string): void {
    if (this.queued >= this.queueLimit) {
      this.head += 1;
      this.pendingDropped += 1;
      this.totalDropped += 1;
    }
    this.queue.push(text);
    // Compact once the consumed prefix is as long as the limit: amortised O(1) per message.
    if (this.head >= this.queueLimit) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.pump();
  }

  pump(): void {
    while (this.inflight < this.maxInflight && this.queued > 0 && this.ws.readyState === this.ws.OPEN) {
      if (this.pendingDropped > 0) {
        const notice: StreamDropped = { kind: 'dropped', atMs: Date.now(), count: this.pendingDropped, total: this.totalDropped };
        this.pendingDropped = 0;
        this.write(JSON.stringify(notice));
        continue;
      }
      const text = this.queue[this.head]!;
      this.queue[this.head] = '';
      this.head += 1;
      this.write(text);
    }
  }

  write(text: string): void {
    this.inflight += 1;
    this.ws.send(text, () => {
      this.inflight -= 1;
      this.pump();
    });
  }

  hello(): void {
    const hello: StreamHello = { kind: 'hello', atMs: Date.now(), kinds: [...this.kinds], queueLimit: this.queueLimit };
    this.write(JSON.stringify(hello));
  }
}

/** The kinds of a comma-separated list; an unknown kind is an error naming it. */
export function parseKinds(values: readonly string[]): StreamKind[] | string {
  const wanted = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (wanted.length === 0) return [...STREAM_KINDS];
  for (const k of wanted) if (!(STREAM_KINDS as readonly string[]).includes(k)) return `unknown stream kind ${JSON.stringify(k.slice(0, 40))} (kinds: ${STREAM_KINDS.join(', ')})`;
  return [...new Set(wanted)] as StreamKind[];
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (typeof header === 'string' ? header : '').split(',').map((p) => p.trim()).filter((p) => p !== '');
}

function refuse(socket: Duplex, status: number, reason: string, body: object, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), Connection: 'close', ...extra };
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${text}`);
}

export function attachStream(server: Server, options: StreamOptions): StreamHandle {
  const queueLimit = options.queueLimit ?? 1000;
  const maxInflight = options.maxInflight ?? 16;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME,
    perMessageDeflate: false,
    // Answer with the protocol name only, never echo the token.
    handleProtocols: (protocols) => (protocols.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
  });
  const clients = new Set<Client>();
  let dropped = 0;

  const unsubscribe = options.bus.subscribe((message: StreamMessage) => {
    if (clients.size === 0) return;
    let text: string | null = null;
    for (const c of clients) {
      if (!c.kinds.has(message.kind)) continue;
      text ??= JSON.stringify(message);
      const before = c.totalDropped;
      c.offer(text);
      dropped += c.totalDropped - before;
    }
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (url.pathname !== STREAM_PATH) {
      refuse(socket, 404, 'Not Found', { error: { code: 'TCPDIAG_NOT_FOUND', message: `no WebSocket at ${url.pathname.slice(0, 200)}`, hint: `the stream is at ${STREAM_PATH}` } });
      return;
    }
    const protocols = offeredProtocols(req);
    const offered = protocols.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
    const bearer = req.headers.authorization ?? (offered === undefined ? undefined : `Bearer ${offered.slice(TOKEN_PROTOCOL_PREFIX.length)}`);
    if (!authorized(bearer, options.token)) {
      refuse(socket, 401, 'Unauthorized', { error: { code: 'TCPDIAG_UNAUTHORIZED', message: 'this agent needs a bearer token', hint: `send Authorization: Bearer TOKEN, or offer the subprotocols ${STREAM_PROTOCOL} and ${TOKEN_PROTOCOL_PREFIX}TOKEN` } }, { 'WWW-Authenticate': 'Bearer realm="tcpdiag"' });
      return;
    }
    const kinds = parseKinds(url.searchParams.getAll('kinds'));
    if (typeof kinds === 'string') {
      refuse(socket, 400, 'Bad Request', { error: { code: 'TCPDIAG_USAGE', message: `query parameter kinds: ${kinds}`, hint: null } });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new Client(ws, kinds, queueLimit, maxInflight);
      clients.add(client);
      ws.on('pong', () => {
        client.alive = true;
      });
      ws.on('message', (data: RawData, isBinary: boolean) => onClientMessage(client, data, isBinary));
      ws.on('error', (error) => options.onError(`stream client: ${error.message}`));
      ws.on('close', () => clients.delete(client));
      client.hello();
    });
  };

  const onClientMessage = (client: Client, data: RawData, isBinary: boolean): void => {
    let request: unknown;
    try {
      request = isBinary ? undefined : (JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8')) as unknown);
    } catch {
      request = undefined;
    }
    const list = typeof request === 'object' && request !== null && 'subscribe' in request ? (request).subscribe : undefined;
    if (!Array.isArray(list) || !list.every((k) => typeof k === 'string')) {
      client.ws.close(1008, 'send {"subscribe":["sample",...]} as JSON text');
      return;
    }
    const kinds = parseKinds(list);
    if (typeof kinds === 'string') {
      client.ws.close(1008, kinds.slice(0, 120));
      return;
    }
    client.kinds = new Set(kinds);
    client.hello();
  };

  server.on('upgrade', onUpgrade);
  const pinger = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate();
        clients.delete(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, options.pingIntervalMs ?? 15_000);
  pinger.unref();

  return {
    stats: () => ({ clients: clients.size, queued: [...clients].reduce((s, c) => s + c.queued, 0), dropped }),
    close: () => {
      clearInterval(pinger);
      unsubscribe();
      server.off('upgrade', onUpgrade);
      for (const c of clients) c.ws.terminate();
      clients.clear();
      wss.close();
    },
  };
}
