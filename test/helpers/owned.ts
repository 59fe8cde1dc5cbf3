/**
 * What a tcpdiag process started outside itself, for the kill -9 tests: its child processes
 * and guards (found by TCPDIAG_PARENT in their environment, as `tcpdiag cleanup` finds them).
 */
import { isRunning, ownedProcesses } from '../../src/platform/owners.js';
import type { OwnedProcess } from '../../src/platform/owners.js';

export function ownedBy(pid: number): OwnedProcess[] {
  return ownedProcesses().filter((p) => p.ownerPid === pid);
}

/** The guards of a tcpdiag process (platform/guard.ts): sh processes named tcpdiag-guard(...). */
export function guardsOf(pid: number): OwnedProcess[] {
  return ownedBy(pid).filter((p) => p.command.includes('tcpdiag-guard('));
}

/** SIGKILL processes by pid (ours, found through their marker) and wait until none runs. */
export async function killAndWait(pids: readonly number[], timeoutMs = 5_000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await until(() => pids.every((pid) => !isRunning(pid)), timeoutMs, `pids ${pids.join(', ')} still running after SIGKILL`);
}

/** Poll `check` every 20 ms until it is true; throw `what` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} (waited ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}
