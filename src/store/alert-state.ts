/**
 * The alert state file: learned baselines and the alerts firing, kept across restarts of
 * `tcpdiag watch` so that a restart neither forgets what is usual nor fires again what already
 * fires. Written atomically (a temporary file in the same directory, fsync, rename(2), which
 * replaces the old file in one step on the same filesystem), so a crash mid-write leaves the
 * previous state, never half a file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileUnreadableError, TcpdiagError } from '../errors.js';
import { FILE_LIMITS } from '../model/limits.js';
import { readBoundedFileSync } from '../platform/read-file.js';

export type StateRead =
  | { readonly ok: true; readonly state: unknown }
  | { readonly ok: false; readonly missing: boolean; readonly reason: string };

export function readStateFile(path: string): StateRead {
  let text: string;
  try {
    text = readBoundedFileSync(path, FILE_LIMITS.alertState, 'alert state file').toString('utf8');
  } catch (error: unknown) {
    if (error instanceof FileUnreadableError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { ok: false, missing: true, reason: error.message };
    if (error instanceof TcpdiagError) return { ok: false, missing: false, reason: error.message };
    throw error;
  }
  try {
    return { ok: true, state: JSON.parse(text) as unknown };
  } catch (error: unknown) {
    return { ok: false, missing: false, reason: `${path} is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

export function writeStateFile(path: string, state: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } catch (error: unknown) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}
