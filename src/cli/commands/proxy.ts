import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { action, out } from '../run.js';
import { loadConfig, printJsonLine } from '../context.js';
import { collect, duration } from '../options.js';
import { STEP_TIMEOUT } from '../../model/limits.js';
import { stopOnSignal } from '../lifetime.js';

interface ProxyFlags {
  listen: string;
  upstream: string;
  toxic?: string[];
  control: string;
  connectTimeout: number;
  stdin: boolean;
  json?: boolean;
}

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('fault-injecting TCP proxy (toxiproxy-style): latency, jitter, bandwidth, reset, slow close, timeout, per direction, changeable live')
    .requiredOption('--listen <address>', 'HOST:PORT to accept clients on (port 0: the kernel picks)')
    .requiredOption('--upstream <address>', 'HOST:PORT of the real server')
    .option('--toxic <spec>', 'a toxic at start (repeatable); see below', collect(String))
    .option('--control <address>', 'HOST:PORT of the HTTP control API, or "off"', '127.0.0.1:0')
    .option('--connect-timeout <time>', 'upstream connect timeout (default 5s)', duration(STEP_TIMEOUT), 5000)
    .option('--no-stdin', 'do not read control commands from stdin')
    .option('--json', 'one JSON object per event per line')
    .addHelpText(
      'after',
      `
Toxic specs: [up:|down:|both:]TYPE=VALUE[,jitter=D]. "up" is client -> server, "down" is
server -> client, no prefix means both directions.
  latency=100ms[,jitter=20ms]   delay every chunk (order is kept)
  bandwidth=64k                 bytes per second
  reset-after=1k                RST to both sides after that many bytes in this direction
  slow-close=2s                 pass the FIN on that much later
  timeout=5s                    stop forwarding; close both sides after 5 s (timeout=0: never)

While it runs, change toxics without restarting:
  HTTP (printed as "control http://..."):
    curl -s URL/toxics                                   list
    curl -s -X POST URL/toxics -d 'down:latency=200ms'   add or replace
    curl -s -X DELETE URL/toxics/downstream:latency      remove one ("latency": both directions)
    curl -s -X DELETE URL/toxics                         remove all
    curl -s URL/stats                                    connections and bytes
  stdin lines: add SPEC | remove NAME | clear | list | stats

The first line is "listening on ADDRESS:PORT". Stop with Ctrl-C.

Examples:
  tcpdiag proxy --listen 127.0.0.1:15432 --upstream 10.0.0.5:5432 --toxic latency=100ms,jitter=10ms
  tcpdiag proxy --listen :8081 --upstream 127.0.0.1:8080 --toxic down:bandwidth=128k
  tcpdiag proxy --listen 127.0.0.1:0 --upstream [::1]:6379 --toxic up:reset-after=4k --control 127.0.0.1:8474`,
    )
    .action(
      action(async (flags: ProxyFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { parseHostPort } = await import('../../assist/client/endpoint.js');
        const { ToxicSet, describeToxic } = await import('../../assist/proxy/toxics.js');
        const { startProxy } = await import('../../assist/proxy/proxy.js');
        const { startControlServer, runControlCommand } = await import('../../assist/proxy/control.js');
        const { clockTime, listeningLine } = await import('../../assist/server/render.js');
        const { UsageError } = await import('../../errors.js');
        // ":8081" listens on every address, as in many proxies' configs.
        const listen = parseHostPort(flags.listen.startsWith(':') ? `0.0.0.0${flags.listen}` : flags.listen, '--listen');
        const upstream = parseHostPort(flags.upstream, '--upstream');
        if (upstream.port === 0) throw new UsageError('--upstream: port 0 cannot be connected to', 'write HOST:PORT of the real server');
        const toxics = new ToxicSet();
        for (const spec of flags.toxic ?? []) toxics.add(spec);

        const log = (text: string, json: Record<string, unknown>): void => {
          if (flags.json) printJsonLine({ ts: new Date().toISOString(), ...json });
          else out(`[${clockTime(new Date())}] ${text}\n`);
        };
        const proxy = await startProxy(
          { listenHost: listen.host, listenPort: listen.port, upstreamHost: upstream.host, upstreamPort: upstream.port, connectTimeoutMs: flags.connectTimeout, toxics },
          (event) => {
            switch (event.type) {
              case 'connection':
                return log(`#${event.id} ${event.client} -> ${event.upstream}`, { ...event });
              case 'upstream-failed':
                return log(`#${event.id} ${event.client}: ${event.message}; client reset`, { ...event });
              case 'toxic-action':
                return log(`#${event.id} ${event.message}`, { ...event });
              case 'close':
                return log(`#${event.id} closed: up ${event.bytesUp} B, down ${event.bytesDown} B, ${event.durationMs} ms`, { ...event });
            }
          },
        );
        let controlUrl: string | null = null;
        let control: { close(): Promise<void> } | null = null;
        try {
          if (flags.control !== 'off') {
            const at = parseHostPort(flags.control, '--control');
            const server = await startControlServer(at.host, at.port, toxics, () => proxy.stats());
            control = server;
            controlUrl = server.url;
          }
          toxics.onChange((all) => log(`toxics: ${all.length === 0 ? 'none' : all.map(describeToxic).join('; ')}`, { type: 'toxics', toxics: all }));
          if (flags.json) {
            process.stderr.write(listeningLine(proxy.address, proxy.port) + '\n');
            printJsonLine({ type: 'listening', address: proxy.address, port: proxy.port, upstream: flags.upstream, control: controlUrl, toxics: toxics.list() });
          } else {
            out(`${listeningLine(proxy.address, proxy.port)}\n`);
            out(`upstream ${flags.upstream}\n`);
            if (controlUrl !== null) out(`control ${controlUrl} (GET/POST/DELETE /toxics, GET /stats)\n`);
            out(`toxics: ${toxics.list().length === 0 ? 'none' : toxics.list().map(describeToxic).join('; ')}\n`);
          }

          const controller = stopOnSignal();
          let lines: ReturnType<typeof createInterface> | null = null;
          if (flags.stdin) {
            lines = createInterface({ input: process.stdin, terminal: false });
            lines.on('line', (line) => {
              const result = runControlCommand(line, toxics, () => proxy.stats());
              if (result.message !== '' && !(result.ok && /^(added|removed)/.test(result.message))) {
                log(result.ok ? result.message : `error: ${result.message}`, { type: 'command', ok: result.ok, message: result.message });
              }
            });
          }
          // The proxy's sockets keep the process alive; wait for Ctrl-C / SIGTERM.
          await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
          controller.release();
          lines?.close();
          process.stdin.destroy();
          const s = proxy.stats();
          if (flags.json) printJsonLine({ type: 'summary', ...s });
          else out(`stopped: ${s.connectionsTotal} connections, up ${s.bytesUp} B, down ${s.bytesDown} B\n`);
        } finally {
          await control?.close();
          await proxy.close();
        }
      }),
    );
}
