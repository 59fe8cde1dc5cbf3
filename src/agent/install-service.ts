/**
 * `tcpdiag serve --install-service`: the systemd unit and the default configuration of
 * deploy/, written under a root directory ("/" on a real host, a temporary one in tests).
 *
 * The unit goes to etc/systemd/system/tcpdiag.service (the administrator's directory, which
 * takes precedence over a packaged /lib/systemd/system copy, systemd.unit(5) "Unit File Load
 * Path"), with ExecStart pointing at the node and the tcpdiag that ran the command. Its first
 * line records the SHA-256 of the rest: a unit whose rest still matches was written by tcpdiag
 * and is replaced by a newer one freely; one that does not was changed by someone, and is left
 * as it is unless `force` (then the old copy is kept as .bak). The configuration is written
 * only when none is there: it is the administrator's.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpdiagError, FileUnwritableError, describeSystemError } from '../errors.js';

export const UNIT_NAME = 'tcpdiag.service';
export const UNIT_DIR = 'etc/systemd/system';
export const CONFIG_FILE = 'etc/tcpdiag/tcp_diag.conf';
/** What the packaged unit runs; the installer replaces it with the running tcpdiag. */
const PACKAGED_EXEC = '/usr/bin/tcpdiag';
const HASH_LINE = /^# tcpdiag-unit-sha256: ([0-9a-f]{64})\n/;

/** Paths the service's sandbox hides or replaces (ProtectHome=yes, PrivateTmp=yes). */
const HIDDEN_FROM_SERVICE = ['/home/', '/root/', '/run/user/', '/tmp/', '/var/tmp/'];

export interface InstallServiceOptions {
  /** Where "/" is; the files go under it. */
  readonly root: string;
  readonly unitTemplate: string;
  readonly configTemplate: string;
  /** The program line: node and the tcpdiag launcher, absolute paths. */
  readonly exec: readonly string[];
  readonly force: boolean;
}

export type UnitAction = 'created' | 'updated' | 'unchanged' | 'replaced';

export interface InstallServiceResult {
  readonly unitPath: string;
  readonly unit: UnitAction;
  /** Set when a changed unit was replaced (force): where the old one is. */
  readonly backup: string | null;
  readonly configPath: string;
  readonly config: 'created' | 'kept';
  /** Why the service may not start as installed (e.g. tcpdiag under /root, hidden by ProtectHome). */
  readonly warnings: readonly string[];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The unit as this tcpdiag writes it: the template with ExecStart's program replaced, and the hash line. */
export function renderUnit(template: string, exec: readonly string[]): string {
  for (const part of exec) {
    // systemd splits ExecStart on whitespace and expands % and $: a path with those would run something else.
    if (!/^\/[A-Za-z0-9._+\-/]+$/.test(part)) throw new TcpdiagError('TCPDIAG_USAGE', `cannot write ExecStart for ${JSON.stringify(part)}: only absolute paths of letters, digits and ._+-/ are written into a unit`, { hint: 'install tcpdiag under a plain path (or use the Debian package, which runs /usr/bin/tcpdiag)' });
  }
  const lines = template.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`ExecStart=${PACKAGED_EXEC} `) || l === `ExecStart=${PACKAGED_EXEC}`);
  if (at < 0) throw new TcpdiagError('TCPDIAG_MALFORMED_INPUT', `the unit template has no ExecStart=${PACKAGED_EXEC} line`, { hint: 'reinstall tcpdiag: deploy/tcpdiag.service is damaged' });
  lines[at] = `ExecStart=${exec.join(' ')}${lines[at]!.slice(`ExecStart=${PACKAGED_EXEC}`.length)}`;
  const body = lines.join('\n');
  return `# tcpdiag-unit-sha256: ${sha256(body)}\n${body}`;
}

/** Whether a unit on disk is exactly what some tcpdiag wrote (its body matches its own hash line). */
export function writtenByTcpdiag(text: string): boolean {
  const m = HASH_LINE.exec(text);
  return m !== null && sha256(text.slice(m[0].length)) === m[1];
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.tcpdiag-new`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path);
  } catch (error: unknown) {
    throw new FileUnwritableError(path, error);
  }
}

function readIfThere(path: string): string | null {
  if (!existsSync(path)) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch (error: unknown) {
    throw new TcpdiagError('TCPDIAG_FILE_UNREADABLE', `cannot read ${path}: ${describeSystemError(error)}`, { hint: 'run as root: sudo tcpdiag serve --install-service', cause: error });
  }
}

export function installService(options: InstallServiceOptions): InstallServiceResult {
  const unitPath = join(options.root, UNIT_DIR, UNIT_NAME);
  const configPath = join(options.root, CONFIG_FILE);
  const unitText = renderUnit(options.unitTemplate, options.exec);
  const existing = readIfThere(unitPath);
  let unit: UnitAction = 'created';
  let backup: string | null = null;
  if (existing === unitText) unit = 'unchanged';
  else if (existing !== null) {
    if (writtenByTcpdiag(existing)) unit = 'updated';
    else if (options.force) {
      unit = 'replaced';
      backup = `${unitPath}.bak`;
      try {
        copyFileSync(unitPath, backup);
      } catch (error: unknown) {
        throw new FileUnwritableError(backup, error);
      }
    } else {
      throw new TcpdiagError('TCPDIAG_FILE_CHANGED', `${unitPath} was changed since tcpdiag wrote it (or was not written by tcpdiag): left as it is`, {
        hint: 'keep local settings in a drop-in (systemctl edit tcpdiag) and rerun with --force to replace the unit (the old one is kept as tcpdiag.service.bak)',
      });
    }
  }
  if (unit !== 'unchanged') writeAtomically(unitPath, unitText, 0o644);
  let config: 'created' | 'kept' = 'kept';
  if (!existsSync(configPath)) {
    writeAtomically(configPath, options.configTemplate, 0o644);
    config = 'created';
  }
  const warnings = options.exec
    .filter((p) => HIDDEN_FROM_SERVICE.some((d) => p.startsWith(d)))
    .map((p) => `${p} is under a directory the service cannot see (ProtectHome=yes, PrivateTmp=yes in the unit): install tcpdiag elsewhere (e.g. the Debian package, or a checkout under /opt) or loosen that in a drop-in`);
  return { unitPath, unit, backup, configPath, config, warnings };
}

/** deploy/ of this installation (the repository's, or /usr/lib/tcpdiag/deploy in the package). */
export const DEPLOY_DIR = fileURLToPath(new URL('../../../deploy/', import.meta.url));

/** The unit and configuration templates shipped in deploy/. */
export function shippedTemplates(dir = DEPLOY_DIR): { readonly unitTemplate: string; readonly configTemplate: string } {
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error: unknown) {
      throw new TcpdiagError('TCPDIAG_FILE_UNREADABLE', `cannot read ${join(dir, name)}: ${describeSystemError(error)}`, { hint: 'reinstall tcpdiag: its deploy/ directory is incomplete', cause: error });
    }
  };
  return { unitTemplate: read(UNIT_NAME), configTemplate: read('tcp_diag.conf') };
}

/** What the operator runs next, in order. */
export function nextCommands(root: string): string[] {
  const base = ['systemctl daemon-reload', `systemctl enable --now ${UNIT_NAME}`, `systemctl status ${UNIT_NAME}`, `journalctl -u ${UNIT_NAME} -f`];
  return root === '/' ? base : [`# on the machine whose root is ${root}:`, ...base];
}
