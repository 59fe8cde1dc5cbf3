/**
 * A guard undoes one thing tcpdiag made in the kernel (a tracefs instance, an nft table) when
 * tcpdiag dies without undoing it itself: SIGKILL, the OOM killer, a crash in native code. A
 * scope's cleanups cannot run then; the kernel still closes every file of a dead process.
 *
 * The guard is /bin/sh blocked reading its stdin, a pipe whose only writer is tcpdiag. When
 * tcpdiag dies, however it dies, the pipe's last writer is gone, the read returns end-of-file,
 * and the shell runs the undo command, retrying for up to 5 s: the kernel closes a dead
 * process's files one after the other, so the pipe may close while a trace_pipe_raw is still
 * open, and removing the instance then fails with EBUSY (measured) until it is closed too.
 *
 * On the normal path tcpdiag undoes the thing itself and dismisses the guard first (SIGKILL),
 * so a guard never acts on a name that was reused after it. The guard runs in its own session
 * (setsid), so Ctrl-C in a terminal, or a kill of tcpdiag's process group, does not take it
 * along. It costs one small process (dash, ~1 MB) per guarded thing, started once; nothing on
 * any hot path. The script is fixed text; the undo command is passed as arguments ("$@").
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { findExecutable } from './capabilities.js';
import { OWNER_ENV } from './children.js';

/** Wait for end-of-file on stdin, then run "$@" until it succeeds (50 tries, 100 ms apart). */
const GUARD_SCRIPT = 'read -r _ || :; i=0; until "$@" 2>/dev/null; do i=$((i+1)); [ "$i" -ge 50 ] && exit 1; sleep 0.1; done';

export interface Guard {
  /** The guard's pid (undefined when no shell was found and nothing guards). */
  readonly pid: number | undefined;
  /** The thing was undone on the normal path: stop the guard without it acting. Idempotent. */
  dismiss(): void;
}

const NO_GUARD: Guard = { pid: undefined, dismiss: () => undefined };

/**
 * Start a guard that runs `undo` (an executable and its arguments) once tcpdiag is gone. Never
 * throws: without a shell there is no guard, and `tcpdiag cleanup` is what is left.
 */
export function startGuard(label: string, undo: readonly string[]): Guard {
  const sh = findExecutable('sh');
  if (sh === null || undo.length === 0) return NO_GUARD;
  let child: ChildProcess;
  try {
    child = spawn(sh, ['-c', GUARD_SCRIPT, `tcpdiag-guard(${label})`, ...undo], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', [OWNER_ENV]: String(process.pid) },
    });
  } catch {
    return NO_GUARD;
  }
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // Neither the guard nor its pipe keeps tcpdiag's event loop alive.
  child.unref();
  (child.stdin as { unref?: () => void } | null)?.unref?.();
  let dismissed = false;
  return {
    pid: child.pid,
    dismiss: () => {
      if (dismissed) return;
      dismissed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      child.stdin?.destroy();
    },
  };
}
