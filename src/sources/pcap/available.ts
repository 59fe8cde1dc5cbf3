/** What live capture needs from this host: tcpdump on PATH (its privileges it checks itself). */
import { ToolMissingError } from '../../errors.js';
import { findExecutable } from '../../platform/capabilities.js';

/**
 * Why live capture cannot run here at all, or null. No check of our own capabilities: tcpdump
 * may hold CAP_NET_RAW as a file capability (setcap) that this process lacks.
 */
export function tcpdumpUnavailable(): ToolMissingError | null {
  return findExecutable('tcpdump') === null ? new ToolMissingError('tcpdump', 'tcpdump') : null;
}
