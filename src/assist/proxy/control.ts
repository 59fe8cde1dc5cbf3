/**
 * Changing the toxics of a running proxy. Two front ends share one command language:
 *  - an HTTP API on loopback (toxiproxy users script it with curl):
 *      GET    /toxics              -> the current toxics (JSON)
 *      POST   /toxics   body: SPEC -> add or replace (same direction+type), e.g. "down:latency=200ms"
 *      DELETE /toxics              -> remove all
 *      DELETE /toxics/NAME         -> remove "downstream:latency", or "latency" in both directions
 *      GET    /stats               -> connections and bytes
 *  - lines on stdin: `add SPEC`, `remove NAME`, `clear`, `list`, `stats`.
 */
import http from 'node:http';
import { TcpdiagError, describeSystemError } from '../../errors.js';
import { describeToxic } from './toxics.js';
import type { Toxic, ToxicSet } from './toxics.js';
import type { ProxyStats } from './proxy.js';

export interface CommandResult {
  readonly ok: boolean;
  readonly message: string;
  readonly toxics: readonly Toxic[];
}

/** Run one control command line against the set. Never throws for bad input: says why. */
export function runControlCommand(line: string, toxics: ToxicSet, stats: () => ProxyStats): CommandResult {
  const [verb = '', ...rest] = line.trim().split(/\s+/);
  const arg = rest.join(' ');
  const result = (ok: boolean, message: string): CommandResult => ({ ok, message, toxics: toxics.list() });
  try {
    switch (verb.toLowerCase()) {
      case '':
        return result(true, '');
      case 'add':
      case 'set':
        if (arg === '') return result(false, 'add needs a toxic, e.g. add down:latency=100ms');
        return result(true, `added ${toxics.add(arg).map(describeToxic).join('; ')}`);
      case 'remove':
      case 'rm':
      case 'del': {
        const removed = toxics.remove(arg || 'all');
        return result(removed.length > 0, removed.length > 0 ? `removed ${removed.join(', ')}` : `no toxic "${arg}"`);
      }
      case 'clear':
        return result(true, `removed ${toxics.clear().join(', ') || 'nothing'}`);
      case 'list':
      case 'ls': {
        const all = toxics.list();
        return result(true, all.length === 0 ? 'no toxics' : all.map(describeToxic).join('\n'));
      }
      case 'stats': {
        const s = stats();
        return result(true, `connections ${s.connectionsTotal} (open ${s.connectionsOpen}), bytes up ${s.bytesUp}, down ${s.bytesDown}`);
      }
      default:
        return result(false, `unknown command "${verb}": add SPEC | remove NAME | clear | list | stats`);
    }
  } catch (error: unknown) {
    return result(false, error instanceof TcpdiagError ? error.message : String(error));
  }
}

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4096;

export async function startControlServer(host: string, port: number, toxics: ToxicSet, stats: () => ProxyStats): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    let body = '';
    let tooBig = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) {
        tooBig = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (tooBig) return;
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      let command: string | null = null;
      if (path === '/toxics' && method === 'GET') command = 'list';
      else if (path === '/stats' && method === 'GET') return send(200, stats());
      else if (path === '/toxics' && method === 'POST') {
        // A JSON body {"spec": "..."} or the spec as plain text.
        let spec = body.trim();
        if (spec.startsWith('{')) {
          try {
            const parsed = (JSON.parse(spec) as { spec?: unknown }).spec;
            spec = typeof parsed === 'string' ? parsed : '';
          } catch {
            return send(400, { error: 'body is neither a spec nor JSON {"spec": "..."}' });
          }
        }
        command = `add ${spec}`;
      } else if (path === '/toxics' && method === 'DELETE') command = 'clear';
      else if (path.startsWith('/toxics/') && method === 'DELETE') command = `remove ${decodeURIComponent(path.slice('/toxics/'.length)).replace('/', ':')}`;
      if (command === null) return send(404, { error: `no route ${method} ${path}: GET|POST|DELETE /toxics, DELETE /toxics/NAME, GET /stats` });
      const result = runControlCommand(command, toxics, stats);
      send(result.ok ? 200 : 400, { ok: result.ok, message: result.message, toxics: result.toxics });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new TcpdiagError('TCPDIAG_LISTEN_FAILED', `control API: cannot listen on ${host}:${port}: ${describeSystemError(error)}`, { hint: 'pick another --control port, or --control off' })),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number; family: string };
  const hostText = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostText}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
