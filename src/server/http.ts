/**
 * The agent's HTTP server on node:http: /metrics (Prometheus text), /api/health and the
 * /api/v1/ routes; and the fleet-only server of `tcpdiag serve --fleet` (the dashboard and the
 * fleet routes, no collectors behind it). Every path needs the bearer token when one is set. Request bodies
 * are capped (MAX_BODY_BYTES) and must be JSON; errors are JSON `{ error: { code, message, hint } }`
 * with the CLI's codes, and an internal error never shows its stack.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { TcpdiagError, UsageError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { authorized } from './token.js';
import { ROUTES } from './api.js';
import { isStaticPath, serveStatic } from './static.js';
import { attachStream } from './stream.js';
import type { StreamHandle } from './stream.js';
import type { ApiContext, Route } from './api.js';
import { FLEET_SERVE_ROUTES } from './api-fleet.js';
import type { FleetServeContext } from './api-fleet.js';
import { FileReply, TextReply } from './reply.js';

/** The API takes small JSON requests only; anything bigger is refused before it is read in full. */
export const MAX_BODY_BYTES = 64 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  TCPDIAG_USAGE: 400,
  TCPDIAG_MALFORMED_INPUT: 400,
  TCPDIAG_UNAUTHORIZED: 401,
  TCPDIAG_ACTION_DISABLED: 403,
  TCPDIAG_NOT_FOUND: 404,
  TCPDIAG_BUSY: 409,
  TCPDIAG_PLAN_REFUSED: 409,
  TCPDIAG_FILE_REFUSED: 413,
  TCPDIAG_SOURCE_FAILED: 503,
  TCPDIAG_NOT_CONFIGURED: 503,
  TCPDIAG_ENGINE_FAILED: 502,
  TCPDIAG_TIMEOUT: 504,
};

export interface HttpOptions {
  readonly context: ApiContext;
  readonly registry: Registry;
  readonly token: string | null;
  readonly onError: (message: string) => void;
}

/** The stream of each server createAgentServer made: serve.ts closes it before the server (upgraded sockets keep server.close waiting). */
const streams = new WeakMap<Server, StreamHandle>();

export function streamOf(server: Server): StreamHandle | undefined {
  return streams.get(server);
}

/** What one server answers: its routes over its context, and /metrics when it has a registry. */
interface Served<C> {
  readonly routes: Readonly<Record<string, Route<C>>>;
  readonly context: C;
  readonly registry: Registry | null;
  readonly token: string | null;
  readonly onError: (message: string) => void;
}

function serverOf<C>(served: Served<C>): Server {
  const server = createServer((req, res) => {
    handle(req, res, served).catch((error: unknown) => {
      if (!(error instanceof TcpdiagError)) served.onError(`internal error on ${req.method ?? ''} ${(req.url ?? '').slice(0, 200)}: ${error instanceof Error ? error.message : String(error)}`);
      sendError(res, error);
    });
  });
  // Slow or stuck clients do not hold sockets for ever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

export function createAgentServer(options: HttpOptions): Server {
  const server = serverOf({ routes: ROUTES, context: options.context, registry: options.registry, token: options.token, onError: options.onError });
  streams.set(server, attachStream(server, { bus: options.context.agent.bus, token: options.token, onError: options.onError }));
  return server;
}

/** `tcpdiag serve --fleet`: the dashboard, /api/health and the fleet routes; no /metrics, no stream (nothing is collected). */
export function createFleetServer(options: { readonly context: FleetServeContext; readonly token: string | null; readonly onError: (message: string) => void }): Server {
  return serverOf({ routes: FLEET_SERVE_ROUTES, context: options.context, registry: null, token: options.token, onError: options.onError });
}

async function handle<C>(req: IncomingMessage, res: ServerResponse, options: Served<C>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (isStaticPath(url.pathname)) {
    await serveStatic(req, res, url.pathname);
    return;
  }
  if (!authorized(req.headers.authorization, options.token)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="tcpdiag"');
    throw new TcpdiagError('TCPDIAG_UNAUTHORIZED', 'this agent needs a bearer token', { hint: 'send Authorization: Bearer TOKEN (agent.token, or the token file in the data directory)' });
  }
  if (url.pathname === '/metrics' && options.registry !== null) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method, 'GET');
    const text = await options.registry.metrics();
    res.writeHead(200, { 'Content-Type': options.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  const route = options.routes[url.pathname.replace(/\/+$/, '')];
  if (route === undefined) throw new TcpdiagError('TCPDIAG_NOT_FOUND', `no such path: ${url.pathname.slice(0, 200)}`, { hint: `the API: ${Object.keys(options.routes).join(', ')}${options.registry === null ? '' : ', /metrics'}` });
  if (req.method !== route.method) throw methodNotAllowed(req.method, route.method);
  // A raw body (an uploaded capture) is handed over unread: its handler bounds and streams it.
  const body = route.method !== 'POST' ? undefined : route.body === 'raw' ? req : await readJsonBody(req);
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
  const result = await route.handler(options.context, query, body);
  if (result instanceof FileReply) sendFile(res, result);
  else if (result instanceof TextReply) {
    res.writeHead(200, { 'Content-Type': result.contentType, 'Content-Length': Buffer.byteLength(result.text), 'Cache-Control': 'no-store' });
    res.end(result.text);
  } else sendJson(res, 200, result);
}

/** A file streamed from disk (a recording's pcap): never read whole into memory. */
function sendFile(res: ServerResponse, reply: FileReply): void {
  let size: number;
  try {
    size = statSync(reply.path).size;
  } catch {
    throw new TcpdiagError('TCPDIAG_NOT_FOUND', `the file of this record is gone: ${reply.path}`, { hint: 'it was removed from the disk; list the recordings again' });
  }
  res.writeHead(200, {
    'Content-Type': reply.contentType,
    'Content-Length': size,
    'Content-Disposition': `attachment; filename="${reply.filename.replace(/[^A-Za-z0-9_.-]/g, '_')}"`,
    'Cache-Control': 'no-store',
  });
  const stream = createReadStream(reply.path, { end: Math.max(0, size - 1) });
  stream.on('error', () => res.destroy());
  if (size === 0) res.end();
  else stream.pipe(res);
}

function methodNotAllowed(method: string | undefined, allowed: string): TcpdiagError {
  const error = new UsageError(`${method ?? '?'} is not allowed here`, `use ${allowed}`);
  (error as { status?: number }).status = 405;
  return error;
}

/** A JSON body of at most MAX_BODY_BYTES (an empty body is null). */
function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooBig = () => new TcpdiagError('TCPDIAG_FILE_REFUSED', `the request body is larger than ${MAX_BODY_BYTES} bytes`, { hint: 'the API takes small JSON requests' });
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(tooBig());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooBig());
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(null);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new TcpdiagError('TCPDIAG_MALFORMED_INPUT', 'the request body is not JSON', { hint: 'send Content-Type: application/json with a JSON object' }));
      }
    });
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof TcpdiagError) {
    const status = (error as { status?: number }).status ?? STATUS[error.code] ?? 500;
    sendJson(res, status, { error: { code: error.code, message: error.message, hint: error.hint ?? null } });
    return;
  }
  sendJson(res, 500, { error: { code: 'TCPDIAG_INTERNAL', message: 'internal error', hint: 'this is a bug in tcpdiag; the agent\'s log has the message' } });
}
