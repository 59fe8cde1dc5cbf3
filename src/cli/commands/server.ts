import type { Command } from 'commander';
import { Option } from 'commander';
import { action, out } from '../run.js';
import { loadConfig, printJsonLine } from '../context.js';
import { collect, duration, integer, parseMss, size } from '../options.js';
import { BACKLOG, BYTES, LISTEN_PORT, STEP_TIMEOUT } from '../../model/limits.js';
import { stopOnSignal } from '../lifetime.js';

interface ServerFlags {
  host: string;
  mode: 'print' | 'echo' | 'discard';
  reply?: string[];
  neverClose?: boolean;
  neverRead?: boolean;
  resetAfter?: number;
  acceptDelay?: number;
  backlog?: number;
  accept: boolean;
  mss?: number;
  hexDump?: boolean;
  json?: boolean;
}

export function registerServer(program: Command): void {
  program
    .command('server')
    .description('a TCP server that shows each client and what it sends; echo, discard, reply rules and deliberate faults')
    .argument('<port>', 'port to listen on (0: the kernel picks one)', integer(LISTEN_PORT))
    .option('--host <address>', 'address to listen on (:: listens on IPv6 and IPv4)', '0.0.0.0')
    .addOption(new Option('--mode <mode>', 'print: show what arrives; echo: send it back; discard: read and drop').choices(['print', 'echo', 'discard']).default('print'))
    .option('--reply <MATCH=>REPLY>', "when a client's bytes contain MATCH, send REPLY (text with \\n \\r \\xNN escapes, hex:.., MATCH * = any data; repeatable)", collect(String))
    .option('--never-close', "never close after the peer's FIN: this side stays in CLOSE_WAIT, the peer in FIN_WAIT2")
    .option('--never-read', 'never read: the receive queue fills and the window the server advertises drops to zero')
    .option('--reset-after <bytes>', 'send RST (instead of FIN) once a connection has received this many bytes', size(BYTES))
    .option('--accept-delay <time>', 'wait this long after accepting a connection before reading or answering it', duration(STEP_TIMEOUT))
    .option('--backlog <n>', 'listen() backlog (capped by net.core.somaxconn)', integer(BACKLOG))
    .option('--no-accept', 'never accept(): with a small --backlog the accept queue overflows (ListenOverflows)')
    .option('--mss <bytes>', 'TCP_MAXSEG on the listener: the MSS advertised in SYN-ACKs', parseMss)
    .option('--hex-dump', 'show every read and write, reads with a hex dump (default: the first of each per connection as text, then counts once a second)')
    .option('--json', 'one JSON object per event per line (type: listening, accept, data, sent, traffic, peer-closed, reset, error, close, summary)')
    .addHelpText(
      'after',
      `
Once the socket accepts connections it prints exactly one line "listening on ADDRESS:PORT"
(in --json mode that line goes to stderr and stdout carries the events). Stop with Ctrl-C.
Each connection's first read and first write are shown, then counts at most once a second
("traffic") and the totals at close, so a benchmark against the server does not measure its
log; --hex-dump shows every read (with a hex dump) and every write.

Examples:
  tcpdiag server 8080                           show every client and what it sends
  tcpdiag server 8080 --mode echo               echo server
  tcpdiag server 0 --host :: --mode discard     IPv6 + IPv4 sink on a port the kernel picks
  tcpdiag server 7000 --reply 'PING=>PONG\\r\\n' --reply 'hex:01 02=>hex:ff'
  tcpdiag server 8080 --never-close             leave clients in FIN_WAIT2 (CLOSE_WAIT here)
  tcpdiag server 8080 --never-read              zero window: senders stall
  tcpdiag server 8080 --reset-after 1k          RST after the first KiB a client sends
  tcpdiag server 8080 --backlog 1 --no-accept   listen-queue overflow
  tcpdiag server 8080 --mss 536                 clients see a 536-byte MSS`,
    )
    .action(
      action(async (port: number, flags: ServerFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { runServer } = await import('../../assist/server/server.js');
        const { parseReplyRule } = await import('../../assist/server/reply-rules.js');
        const { renderServerEvent, serverEventJson, listeningLine } = await import('../../assist/server/render.js');
        const replies = (flags.reply ?? []).map(parseReplyRule);
        const controller = stopOnSignal();
        try {
          const summary = await runServer(
            {
              host: flags.host,
              port,
              mode: flags.mode,
              replies,
              neverClose: flags.neverClose === true,
              neverRead: flags.neverRead === true,
              resetAfterBytes: flags.resetAfter ?? null,
              acceptDelayMs: flags.acceptDelay ?? null,
              backlog: flags.backlog ?? null,
              noAccept: !flags.accept,
              mss: flags.mss ?? null,
              everyRead: flags.hexDump === true,
              signal: controller.signal,
            },
            (event) => {
              const now = new Date();
              if (flags.json) {
                if (event.type === 'listening') process.stderr.write(listeningLine(event.address, event.port) + '\n');
                printJsonLine(serverEventJson(event, now));
              } else {
                out(renderServerEvent(event, now, flags.hexDump === true) + '\n');
              }
            },
          );
          if (flags.json) printJsonLine({ type: 'summary', ...summary });
          else out(`stopped: ${summary.connections} connections, in ${summary.bytesIn} B, out ${summary.bytesOut} B\n`);
        } finally {
          controller.release();
        }
      }),
    );
}
