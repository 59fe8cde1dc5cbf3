/**
 * Where procfs files come from: a /proc root (`/proc`, or `/proc/PID` for the namespace of
 * process PID), or a reader the registry gives (a network namespace read from inside it).
 * Paths are relative to the root ("net/tcp"); an absent file reads as ''.
 */
import { readFileSync } from 'node:fs';

export type ProcRead = (relative: string) => string;

export function procReader(from: string | ProcRead): ProcRead {
  if (typeof from === 'function') return from;
  return (relative) => {
    try {
      return readFileSync(`${from}/${relative}`, 'latin1');
    } catch {
      return '';
    }
  };
}
