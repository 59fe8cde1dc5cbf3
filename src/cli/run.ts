/**
 * The one place errors become text and exit codes (style guide, habit 8). Expected errors
 * (TcpdiagError) print their message and hint; anything else is a bug and prints its stack
 * only with TCPDIAG_DEBUG=1.
 */
import { TcpdiagError } from '../errors.js';
import { openCommandScope } from './lifetime.js';

export function formatError(error: unknown): string {
  if (error instanceof TcpdiagError) {
    const hint = error.hint === undefined ? '' : `\n  hint: ${error.hint}`;
    return clipLongLines(`tcpdiag: ${error.message} [${error.code}]${hint}\n`);
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = process.env.TCPDIAG_DEBUG === '1' && error instanceof Error && error.stack ? `\n${error.stack}` : '';
  return clipLongLines(`tcpdiag: internal error: ${message}`) + `${stack}\n  hint: this is a bug in tcpdiag; rerun with TCPDIAG_DEBUG=1 and report the output\n`;
}

/** Lines longer than maxChars keep their start and say how much was left out. */
export function clipLongLines(text: string, maxChars = 400): string {
  return text.replace(new RegExp(`[^\\n]{${maxChars + 1},}`, 'g'), (line) => `${line.slice(0, maxChars)}… (${line.length - maxChars} more characters)`);
}

export function exitCodeFor(error: unknown): number {
  return error instanceof TcpdiagError ? error.exitCode : 70; // EX_SOFTWARE (sysexits.h)
}

/**
 * Wrap a command action: open its scope (commandScope()), run it, close the scope (every
 * cleanup it registered runs), and map failures to exit codes. The action returns its exit
 * code (0 when omitted).
 */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<number | void>): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    let code = 0;
    const scope = openCommandScope('command');
    try {
      code = (await fn(...args)) ?? 0;
    } catch (error: unknown) {
      process.stderr.write(formatError(error));
      code = exitCodeFor(error);
    }
    await scope.close();
    process.exitCode = code;
  };
}

/** Write to stdout, tolerating a closed pipe (`tcpdiag conns | head`). */
export function out(text: string): void {
  process.stdout.write(text);
}

export function warn(text: string): void {
  process.stderr.write(clipLongLines(`tcpdiag: warning: ${text}\n`));
}

export function printJson(value: unknown, pretty = false): void {
  process.stdout.write(JSON.stringify(value, null, pretty ? 2 : undefined) + '\n');
}

/** JSON for one event per line (trace, capture --json). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
