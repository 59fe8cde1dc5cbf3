/**
 * The one place errors become text and exit codes (style guide, habit 8). Expected errors
 * (TcpdiagError) print their message and hint; anything else is a bug and prints its stack
 * only with TCPDIAG_DEBUG=1.
 */
import { TcpdiagError } from '../errors.js';
import { tracefsRoot } from '../platform/capabilities.js';
import { staleTracefsInstances } from '../platform/owners.js';
import type { Issue } from '../model/issue.js';
import { openCommandScope } from './lifetime.js';

export function formatError(error: unknown): string {
  if (error instanceof TcpdiagError) {
    // A hint of several lines (a command, then alternatives) lines up under its first line.
    const hint = error.hint === undefined ? '' : `\n  hint: ${error.hint.split('\n').join('\n        ')}`;
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
 * A tracefs instance whose tcpdiag is gone keeps tracing into its buffers (32 MiB by default)
 * until someone removes it: every command run as root says so, in one line. It costs one
 * readdir of tracefs/instances (microseconds), so `tcpdiag stats` can afford it.
 */
export function warnAboutLeftovers(): void {
  if (process.geteuid?.() !== 0) return;
  const root = tracefsRoot();
  if (root === null) return;
  const stale = staleTracefsInstances(root);
  if (stale.length === 0) return;
  const names = stale.slice(0, 3).map((i) => i.name).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
  warn(`tracefs instances of dead tcpdiag processes are still tracing: ${names}; remove them with \`tcpdiag cleanup\``);
}

export interface ActionOptions {
  /** Warn about what dead tcpdiag processes left (default true; cleanup lists it itself). */
  readonly checkLeftovers?: boolean;
}

/**
 * Wrap a command action: open its scope (commandScope()), run it, close the scope (every
 * cleanup it registered runs), and map failures to exit codes. The action returns its exit
 * code (0 when omitted).
 */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<number | void>, options: ActionOptions = {}): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    let code = 0;
    if (options.checkLeftovers !== false) warnAboutLeftovers();
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

/** An issue on one line: what was degraded, what to run to get it back, and its code. */
export function formatIssue(issue: Issue): string {
  return `${issue.message}${issue.hint === undefined ? '' : `; ${issue.hint}`} [${issue.code}]`;
}

export function warnIssues(issues: readonly Issue[]): void {
  for (const issue of issues) warn(formatIssue(issue));
}

export function printJson(value: unknown, pretty = false): void {
  process.stdout.write(JSON.stringify(value, null, pretty ? 2 : undefined) + '\n');
}

/** JSON for one event per line (trace, capture --json). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
