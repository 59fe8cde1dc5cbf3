import type { Command } from 'commander';
import { Option } from 'commander';
import { action, out } from '../run.js';
import { loadConfig, printJsonLine } from '../context.js';
import { duration, parseCount, parseMss } from '../options.js';
import { FILE_LIMITS, STEP_TIMEOUT } from '../../model/limits.js';
import { UsageError } from '../../errors.js';
import { stopOnSignal } from '../lifetime.js';

interface ClientFlags {
  text?: string;
  hex?: string;
  file?: string;
  repeat: number;
  interval: number;
  wait: number;
  timeout: number;
  mss?: number;
  eol: 'lf' | 'crlf' | 'none';
  hexDump: boolean;
  json?: boolean;
}

const EOL = { lf: Buffer.from('\n'), crlf: Buffer.from('\r\n'), none: Buffer.alloc(0) } as const;

export function registerClient(program: Command): void {
  program
    .command('client')
    .description('connect to HOST:PORT, send text, hex or a file (once, repeated, or typed lines) and show what comes back')
    .argument('<target>', 'HOST:PORT (IPv6 in brackets: [::1]:8080)')
    .argument('[text]', 'text to send (escapes: \\n \\r \\t \\xNN); same as --text')
    .option('--text <text>', 'send this text (escapes: \\n \\r \\t \\xNN)')
    .option('--hex <bytes>', 'send these bytes, written in hex: "48 65 6c 6c 6f"')
    .option('--file <path>', 'send the contents of this file')
    .option('--repeat <n>', 'send the payload n times', parseCount, 1)
    .option('--interval <time>', 'time between repeats (default 1s)', duration(STEP_TIMEOUT), 1000)
    .option('--wait <time>', 'after the last send, close once nothing arrived for this long (default 1s)', duration(STEP_TIMEOUT), 1000)
    .option('--timeout <time>', 'connect timeout (default 5s)', duration(STEP_TIMEOUT), 5000)
    .option('--mss <bytes>', 'TCP_MAXSEG before the SYN: the MSS this client advertises', parseMss)
    .addOption(new Option('--eol <eol>', 'interactive mode: line ending sent after each line').choices(['lf', 'crlf', 'none']).default('lf'))
    .option('--no-hex-dump', 'show data as text only')
    .option('--json', 'one JSON object per line per event (connected, sent, received, peer-closed, error), then a summary line')
    .addHelpText(
      'after',
      `
Without text, --hex or --file the client is interactive: every line read from stdin is sent
(with --eol); a line "hex: 01 02 ff" sends those bytes as they are. At the end of stdin the
client half-closes (FIN) and shows what the server still sends. Received data is shown as
escaped text and a hex dump, with timestamps; the summary counts messages and bytes and
gives the kernel's RTT, retransmissions and MSS for the connection.

--json prints one object per line: {"type":"connected"|"sent"|"received"|"peer-closed"|
"error", "ts", ...}; sent/received carry "bytes", "text" (escaped) and "hex"; the last line is
{"type":"summary", "messagesSent", "bytesSent", "messagesReceived", "bytesReceived",
"connectMs", "durationMs", "closedBy", "tcpInfo"}.

Examples:
  tcpdiag client 127.0.0.1:8080 'hello\\n'
  tcpdiag client example.com:80 'GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n'
  tcpdiag client [::1]:7000 --hex "01 02 0a ff"
  tcpdiag client 10.0.0.5:9000 --file request.bin --repeat 10 --interval 500ms
  tcpdiag client 10.0.0.5:443 --mss 536 --text ping
  tcpdiag client 127.0.0.1:6379 --eol crlf            type commands interactively`,
    )
    .action(
      action(async (targetText: string, positional: string | undefined, flags: ClientFlags, command: Command) => {
        loadConfig(command, { sections: [] });
        const { parseHostPort } = await import('../../assist/client/endpoint.js');
        const { parseEscapedText, parseHexBytes } = await import('../../assist/hexdump.js');
        const target = parseHostPort(targetText, 'target');
        if (target.port === 0) throw new UsageError('target: port 0 cannot be connected to', 'write HOST:PORT with a port 1-65535');
        const sources = [positional, flags.text, flags.hex, flags.file].filter((v) => v !== undefined);
        if (sources.length > 1) throw new UsageError('give one payload: TEXT, --text, --hex or --file', 'send several messages with --repeat, or interactively (no payload)');
        let payload: Buffer | null = null;
        if (positional !== undefined) payload = parseEscapedText(positional, 'text');
        else if (flags.text !== undefined) payload = parseEscapedText(flags.text, '--text');
        else if (flags.hex !== undefined) payload = parseHexBytes(flags.hex);
        else if (flags.file !== undefined) {
          const { readBoundedFile } = await import('../../platform/read-file.js');
          payload = await readBoundedFile(flags.file, FILE_LIMITS.payload, 'payload file');
        }
        const { runClient } = await import('../../assist/client/client.js');
        const { renderClientEvent, renderClientSummary, clientEventJson } = await import('../../assist/client/render.js');
        const controller = stopOnSignal();
        try {
          const summary = await runClient(
            {
              host: target.host,
              port: target.port,
              payload,
              repeat: flags.repeat,
              intervalMs: flags.interval,
              mss: flags.mss ?? null,
              connectTimeoutMs: flags.timeout,
              idleMs: flags.wait,
              eol: EOL[flags.eol],
              input: payload === null ? process.stdin : null,
              signal: controller.signal,
            },
            (event) => {
              const now = new Date();
              if (flags.json) printJsonLine(clientEventJson(event, now));
              else out(renderClientEvent(event, now, flags.hexDump) + '\n');
            },
          );
          if (flags.json) printJsonLine({ type: 'summary', ...summary });
          else out(renderClientSummary(summary) + '\n');
          return summary.closedBy === 'reset' ? 1 : 0;
        } finally {
          controller.release();
          if (payload === null) process.stdin.destroy();
        }
      }),
    );
}
