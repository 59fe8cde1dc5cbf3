/**
 * What every end-to-end test needs from a child process it started: its output so far, a wait
 * for a line that is already printed or still to come (failing at once with the output when
 * the process exits first), and its exit.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** A child whose stdout and stderr are pipes (stdin may be anything). */
type PipedChild = ChildProcess & { readonly stdout: Readable; readonly stderr: Readable };

export interface ChildOutput {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** The first match of `pattern` in stdout (and in stderr when `alsoStderr`). */
  waitFor(pattern: RegExp, timeoutMs: number, alsoStderr?: boolean): Promise<RegExpMatchArray>;
  /** The first non-undefined answer of `probe`, asked at every new output; `what` names it in the error. */
  waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T>;
  /** Resolves on 'close' (every stream drained). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function watchChild(child: PipedChild, label: string): ChildOutput {
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      wake();
      resolve({ code, signal });
    });
  });
  return {
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs, alsoStderr = false) {
      return this.waitUntil(() => pattern.exec(out) ?? (alsoStderr ? pattern.exec(err) : null) ?? undefined, timeoutMs, `printing ${pattern}`);
    },
    waitUntil(probe, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = probe();
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`${label} exited before ${what}: stdout=${out} stderr=${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`not ${what} within ${timeoutMs} ms from ${label}: stdout=${out} stderr=${err}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
