/**
 * The kernel's TCP counters: /proc/net/snmp (`Tcp:`, RFC 4022 MIB), /proc/net/netstat
 * (`TcpExt:`, Linux's extensions, include/uapi/linux/snmp.h) and /proc/net/sockstat{,6}.
 * Readable without privileges. Names are the kernel's, unprefixed, as `nstat` prints them
 * minus the section (RetransSegs, ListenOverflows...); sockstat values get a `Sockstat` prefix.
 */
import { procReader } from './proc-read.js';
import type { ProcRead } from './proc-read.js';
import type { Counters } from '../../model/counters.js';

export function readTcpCounters(from: string | ProcRead = '/proc'): Counters {
  const read = procReader(from);
  const counters: Counters = {};
  parseHeaderValuePairs(read('net/snmp'), 'Tcp', counters);
  parseHeaderValuePairs(read('net/netstat'), 'TcpExt', counters);
  parseSockstat(read('net/sockstat'), 'TCP', '', counters);
  parseSockstat(read('net/sockstat6'), 'TCP6', '6', counters);
  return counters;
}

/**
 * snmp and netstat print a header line of names and a line of values per section:
 * "Tcp: RtoAlgorithm RtoMin ..." then "Tcp: 1 200 ...".
 */
export function parseHeaderValuePairs(text: string, section: string, into: Counters = {}): Counters {
  const prefix = `${section}: `;
  const lines = text.split('\n').filter((l) => l.startsWith(prefix));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.slice(prefix.length).trim().split(/\s+/);
    const values = lines[i + 1]!.slice(prefix.length).trim().split(/\s+/);
    names.forEach((name, j) => {
      const value = Number(values[j]);
      if (name !== '' && Number.isFinite(value)) into[name] = value;
    });
  }
  return into;
}

/** "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1" -> SockstatInuse, SockstatOrphan, SockstatTw... */
export function parseSockstat(text: string, section: string, suffix: string, into: Counters = {}): Counters {
  const line = text.split('\n').find((l) => l.startsWith(`${section}: `));
  if (!line) return into;
  const words = line.slice(section.length + 2).trim().split(/\s+/);
  for (let i = 0; i + 1 < words.length; i += 2) {
    const name = words[i]!;
    const value = Number(words[i + 1]);
    if (Number.isFinite(value)) into[`Sockstat${suffix}${name.charAt(0).toUpperCase()}${name.slice(1)}`] = value;
  }
  return into;
}

/** /proc/net/sockstat "mem" is in pages; the page size is 4096 on x86-64 and arm64 defaults. */
export const PAGE_SIZE_BYTES = 4096;
