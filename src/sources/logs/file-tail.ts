/**
 * The lines a log file gained during a window: its size is noted at the start, and at the end
 * what was appended since is read, at most `capBytes` of it (the newest part when more was
 * written). A file that shrank was rotated or truncated: it is read from its beginning. Bounded
 * on purpose: a service that logs gigabytes during a diagnosis must not make it read gigabytes.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { FileUnreadableError } from '../../errors.js';

export interface TailResult {
  readonly lines: string[];
  /** Bytes appended in the window that were not read because of the cap. */
  readonly truncatedBytes: number;
}

export class LogFileTail {
  private constructor(readonly path: string, private readonly startSize: number) {}

  /** Note where the file ends now; fails with a clear error when it cannot be read. */
  static start(path: string): LogFileTail {
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error('not a regular file');
      closeSync(openSync(path, 'r'));
      return new LogFileTail(path, st.size);
    } catch (error: unknown) {
      throw new FileUnreadableError(path, error);
    }
  }

  /** The complete lines appended since start(). */
  finish(capBytes: number): TailResult {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return { lines: [], truncatedBytes: 0 };
    }
    try {
      const size = fstatSync(fd).size;
      const from = size < this.startSize ? 0 : this.startSize;
      const length = size - from;
      const readFrom = length > capBytes ? size - capBytes : from;
      const buffer = Buffer.alloc(size - readFrom);
      let done = 0;
      while (done < buffer.length) {
        const n = readSync(fd, buffer, done, buffer.length - done, readFrom + done);
        if (n === 0) break;
        done += n;
      }
      let text = buffer.subarray(0, done).toString('utf8');
      // Reading from the middle of the file (the cap): the first line is partial.
      if (readFrom > from) text = text.slice(text.indexOf('\n') + 1);
      // A last line without its newline is still being written: leave it.
      const end = text.lastIndexOf('\n');
      const lines = end < 0 ? [] : text.slice(0, end).split('\n').filter((l) => l.trim() !== '');
      return { lines, truncatedBytes: readFrom - from };
    } finally {
      closeSync(fd);
    }
  }
}
