/**
 * Child processes that die with tcpdiag. A scope stops its children on every exit it sees
 * (scope.ts), but SIGKILL and the OOM killer give tcpdiag no chance to run anything: then the
 * kernel must do it. `spawnOwned` runs a tool through util-linux's `setpriv --pdeathsig KILL`,
 * which sets PR_SET_PDEATHSIG (prctl(2)) in the child and execs the tool: when tcpdiag dies, the
 * kernel sends the child SIGKILL.
 *
 * The kernel clears the death signal when a process changes its credentials (commit_creds in
 * kernel/cred.c resets pdeath_signal when the euid, egid, fsuid or fsgid change, or when the new
 * capabilities are not a subset of the old). Debian's tcpdump switches to the `tcpdump` user
 * after it opens the device, so with `setpriv --pdeathsig KILL tcpdump` alone a kill -9 of the
 * parent left tcpdump running (measured here, kernel 6.18, util-linux 2.38.1); `runAs` makes
 * setpriv do the switch itself, before the death signal is set, with the one capability the
 * tool needs as an ambient capability: tcpdump then runs as that user and still dies with us.
 *
 * Every child also carries TCPDIAG_PARENT=<tcpdiag's pid> in its environment, so `tcpdiag
 * cleanup` can find one whose parent is gone (a tool started without setpriv, or one that
 * changed its credentials anyway) from /proc/PID/environ.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findExecutable, isRoot } from './capabilities.js';

/** The environment variable naming the tcpdiag process that started a child. */
export const OWNER_ENV = 'TCPDIAG_PARENT';

export interface RunAs {
  /** A user from /etc/passwd; when it is missing, the tool runs unchanged (its own default). */
  readonly user: string;
  /** Capabilities the tool keeps as that user, as setpriv spells them: 'net_raw'. */
  readonly capabilities: readonly string[];
}

export interface OwnedSpawnOptions {
  readonly stdio: StdioOptions;
  /** Added to tcpdiag's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Only when tcpdiag runs as root: switch to this user before exec (see the header). */
  readonly runAs?: RunAs;
}

export interface OwnedCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Whether the kernel kills the child when tcpdiag dies (setpriv was found). */
  readonly diesWithParent: boolean;
}

interface PasswdEntry {
  readonly uid: number;
  readonly gid: number;
}

/** uid and gid of a user from /etc/passwd, or null (no such user, no readable file). */
export function passwdEntry(user: string, passwd = '/etc/passwd'): PasswdEntry | null {
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== user || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  }
  return null;
}

/** The command line that runs `file args` as an owned child (pure but for the lookups). */
export function ownedCommand(file: string, args: readonly string[], runAs?: RunAs, setpriv = findExecutable('setpriv')): OwnedCommand {
  if (setpriv === null) return { file, args, diesWithParent: false };
  const prefix: string[] = [];
  const entry = runAs !== undefined && isRoot() ? passwdEntry(runAs.user) : null;
  if (runAs !== undefined && entry !== null) {
    const caps = runAs.capabilities.map((c) => `+${c}`).join(',');
    prefix.push(`--reuid=${entry.uid}`, `--regid=${entry.gid}`, '--init-groups');
    if (caps !== '') prefix.push(`--inh-caps=${caps}`, `--ambient-caps=${caps}`);
  }
  // setpriv sets the death signal last, after any user switch, then execs the tool.
  return { file: setpriv, args: [...prefix, '--pdeathsig', 'KILL', '--', file, ...args], diesWithParent: true };
}

/**
 * Spawn a tool that dies with tcpdiag. The child's pid is the tool's (setpriv execs it), so
 * signals and exit codes are the tool's own. Callers still register its stop with their scope.
 */
export function spawnOwned(file: string, args: readonly string[], options: OwnedSpawnOptions): ChildProcess {
  const command = ownedCommand(file, args, options.runAs);
  return spawn(command.file, [...command.args], {
    stdio: options.stdio,
    env: { ...process.env, ...options.env, [OWNER_ENV]: String(process.pid) },
  });
}
