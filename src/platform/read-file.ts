/**
 * Reading a file the user named (a config file, a payload, a baseline, a CA bundle) without
 * trusting what it is: it must be a regular file of at most `maxBytes`. Without these checks a
 * FIFO as --config blocks forever in open() and /dev/zero is read until memory runs out.
 *
 * The file is opened with O_NONBLOCK, so that opening a FIFO returns at once (fifo(7)); the
 * checks are made on the open descriptor (fstat), so the file cannot be swapped between the
 * check and the read; at most maxBytes + 1 bytes are read, so a file that grows after fstat
 * is refused too.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileRefusedError, FileUnreadableError } from '../errors.js';
import { formatBytes } from '../model/units.js';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/** Bytes read per read(2): large enough for few calls, small enough not to over-allocate. */
const CHUNK_BYTES = 64 * 1024;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function check(stats: Stats, path: string, maxBytes: number, what: string): void {
  if (!stats.isFile()) {
    throw new FileRefusedError(path, `the ${what} is ${kindOf(stats)}, not a regular file`, `name a regular file: tcpdiag does not read ${what}s from pipes or devices`);
  }
  if (stats.size > maxBytes) tooLarge(path, maxBytes, what, stats.size);
}

function tooLarge(path: string, maxBytes: number, what: string, size: number | null): never {
  throw new FileRefusedError(path, `the ${what} is ${size === null ? 'growing past' : `${bytesText(size)},`} more than the ${bytesText(maxBytes)} tcpdiag reads for a ${what}`,
    `is this the right file? A ${what} larger than ${bytesText(maxBytes)} is not one tcpdiag can use`);
}

/** 1048576 -> "1 MiB", 1000 -> "1000 bytes". */
function bytesText(bytes: number): string {
  const text = formatBytes(bytes);
  const unit = { k: 'KiB', M: 'MiB', G: 'GiB' }[text.slice(-1)];
  return unit === undefined ? `${text} bytes` : `${text.slice(0, -1)} ${unit}`;
}

/** The whole file, refused when it is not a regular file or holds more than maxBytes. */
export function readBoundedFileSync(path: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error: unknown) {
    throw new FileUnreadableError(`${what} ${path}`, error);
  }
  try {
    check(fstatSync(fd), path, maxBytes, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) tooLarge(path, maxBytes, what, null);
    }
    return Buffer.concat(chunks, total);
  } catch (error: unknown) {
    if (error instanceof FileRefusedError) throw error;
    throw new FileUnreadableError(`${what} ${path}`, error);
  } finally {
    closeSync(fd);
  }
}

/** As readBoundedFileSync, without blocking the event loop. */
export async function readBoundedFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error: unknown) {
    throw new FileUnreadableError(`${what} ${path}`, error);
  }
  try {
    check(await handle.stat(), path, maxBytes, what);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) tooLarge(path, maxBytes, what, null);
    }
    return Buffer.concat(chunks, total);
  } catch (error: unknown) {
    if (error instanceof FileRefusedError) throw error;
    throw new FileUnreadableError(`${what} ${path}`, error);
  } finally {
    await handle.close();
  }
}
