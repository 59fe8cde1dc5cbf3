/**
 * The dashboard's files (the Vite build in dist/dashboard) at `/`. They are the same for every
 * install and hold no data of this host, so they are served without the token: the page itself
 * asks for the token when the API answers 401. Only regular files under the build directory
 * are served (the path is decoded once, `..` and NUL are refused, and the resolved path must stay
 * inside the root); Vite's hashed assets are cached for a year, index.html is revalidated.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpdiagError } from '../errors.js';

/** dist/src/server/static.js -> dist/dashboard/ */
export const WEB_ROOT = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may load only its own files and talk only to this agent (connect-src 'self' covers
 * ws: to the same host in Chromium 156 and CSP3); nothing from the internet.
 */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Whether a path is the dashboard's (everything but the API and /metrics). */
export function isStaticPath(pathname: string): boolean {
  return !pathname.startsWith('/api/') && pathname !== '/api' && pathname !== '/metrics';
}

/** The file under `root` that a URL path names, or null when it would leave the root or is malformed. */
export function resolveStatic(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((s) => s === '..')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const full = resolve(root, relative);
  const base = resolve(root);
  return full.startsWith(base + sep) ? full : null;
}

export async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, root = WEB_ROOT): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const error = new TcpdiagError('TCPDIAG_USAGE', `${req.method ?? '?'} is not allowed here`, { hint: 'the dashboard is read with GET' });
    (error as { status?: number }).status = 405;
    throw error;
  }
  const file = resolveStatic(root, pathname);
  const info = file === null ? null : await stat(file).catch(() => null);
  if (file === null || info === null || !info.isFile()) {
    const built = await stat(resolve(root, 'index.html')).catch(() => null);
    throw new TcpdiagError('TCPDIAG_NOT_FOUND', `no such file: ${pathname.slice(0, 200)}`, { hint: built === null ? 'the dashboard is not built: run npm run build' : 'the dashboard is at /' });
  }
  const immutable = /^\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(pathname);
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'Last-Modified': info.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CSP,
    'Referrer-Policy': 'no-referrer',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(file);
    stream.on('error', fail);
    res.on('close', () => {
      stream.destroy();
      done();
    });
    stream.pipe(res);
  });
}
