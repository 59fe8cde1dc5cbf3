/**
 * What processes and the host use, from /proc (proc(5)): CPU time, resident memory, threads,
 * open file descriptors against RLIMIT_NOFILE; host CPU, memory, load and file handles; and the
 * ICMP counters (Icmp: of /proc/net/snmp, Icmp6 of /proc/net/snmp6) that say whether
 * "fragmentation needed" or unreachable messages arrived. Readable without root for the
 * caller's own processes; other users' fd tables and limits need root (fields are then null).
 */
import { procReader } from './proc-read.js';
import type { ProcRead } from './proc-read.js';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Counters } from '../../model/counters.js';
import type { HostSample, ProcessSample } from '../../model/resources.js';
import { parseHeaderValuePairs } from './counters.js';

/** USER_HZ: /proc reports CPU times in 1/100 s on every Linux architecture (proc(5)). */
const USER_HZ = 100;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

/** utime + stime (fields 14 and 15) in ms; the name in parentheses may hold spaces and ')'. */
export function parseStatCpuMs(text: string): number | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : null;
}

/** "Max open files  1024  4096  files" -> soft and hard (null for "unlimited"). */
export function parseOpenFilesLimit(text: string): { soft: number | null; hard: number | null } {
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  if (line === undefined) return { soft: null, hard: null };
  const [soft, hard] = line.slice('Max open files'.length).trim().split(/\s+/);
  const num = (v: string | undefined) => (v === undefined || v === 'unlimited' || !Number.isFinite(Number(v)) ? null : Number(v));
  return { soft: num(soft), hard: num(hard) };
}

/** VmRSS (kB) and Threads from /proc/PID/status. */
export function parseStatus(text: string): { rssBytes: number | null; threads: number | null } {
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const threads = /^Threads:\s+(\d+)/m.exec(text);
  return { rssBytes: rss ? Number(rss[1]) * 1024 : null, threads: threads ? Number(threads[1]) : null };
}

function countFds(procRoot: string, pid: number): number | null {
  try {
    return readdirSync(`${procRoot}/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function comm(procRoot: string, pid: number): string | null {
  const text = read(`${procRoot}/${pid}/comm`);
  return text === null ? null : text.trimEnd();
}

/** One process now; null when it has exited. */
export function readProcessSample(pid: number, procRoot = '/proc'): ProcessSample | null {
  const name = comm(procRoot, pid);
  if (name === null) return null;
  const stat = read(`${procRoot}/${pid}/stat`);
  const status = read(`${procRoot}/${pid}/status`);
  const limits = read(`${procRoot}/${pid}/limits`);
  const { soft, hard } = limits === null ? { soft: null, hard: null } : parseOpenFilesLimit(limits);
  const { rssBytes, threads } = status === null ? { rssBytes: null, threads: null } : parseStatus(status);
  return {
    pid,
    process: name,
    cpuMs: stat === null ? null : parseStatCpuMs(stat),
    openFds: countFds(procRoot, pid),
    fdLimitSoft: soft,
    fdLimitHard: hard,
    rssBytes,
    threads,
  };
}

/** CPU time of every process (cheap: one stat read each), for the start of a window. */
export function readAllProcessCpu(procRoot = '/proc'): ProcessSample[] {
  const samples: ProcessSample[] = [];
  for (const entry of readdirSync(procRoot)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = read(`${procRoot}/${entry}/stat`);
    if (stat === null) continue;
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    samples.push({
      pid,
      process: open >= 0 && close > open ? stat.slice(open + 1, close) : '?',
      cpuMs: parseStatCpuMs(stat),
      openFds: null,
      fdLimitSoft: null,
      fdLimitHard: null,
      rssBytes: null,
      threads: null,
    });
  }
  return samples;
}

/** "cpu  user nice system idle iowait irq softirq steal guest guest_nice" -> busy and total. */
export function parseProcStatCpu(text: string): { busy: number; total: number } | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return null;
  const v = line.slice(4).trim().split(/\s+/).map(Number);
  // guest and guest_nice are already inside user and nice.
  const total = v.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export function readHostSample(procRoot = '/proc'): HostSample {
  const cpu = parseProcStatCpu(read(`${procRoot}/stat`) ?? '');
  const mem = read(`${procRoot}/meminfo`) ?? '';
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(mem);
    return m ? Number(m[1]) * 1024 : null;
  };
  const load = Number((read(`${procRoot}/loadavg`) ?? '').split(' ')[0]);
  const fileNr = (read(`${procRoot}/sys/fs/file-nr`) ?? '').trim().split(/\s+/).map(Number);
  return {
    cpus: availableParallelism(),
    cpuBusyTicks: cpu?.busy ?? null,
    cpuTotalTicks: cpu?.total ?? null,
    loadAverage1m: Number.isFinite(load) ? load : null,
    memTotalBytes: kb('MemTotal'),
    memAvailableBytes: kb('MemAvailable'),
    fileHandlesAllocated: Number.isFinite(fileNr[0]) ? fileNr[0]! : null,
    fileHandlesMax: Number.isFinite(fileNr[2]) ? fileNr[2]! : null,
  };
}

/** Icmp: counters with an `Icmp` prefix (IcmpInDestUnreachs), and /proc/net/snmp6's Icmp6 ones as named there. */
export function readIcmpCounters(from: string | ProcRead = '/proc'): Counters {
  const readProc = procReader(from);
  const out: Counters = {};
  for (const [name, value] of Object.entries(parseHeaderValuePairs(readProc('net/snmp'), 'Icmp'))) out[`Icmp${name}`] = value;
  for (const line of readProc('net/snmp6').split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== undefined && name.startsWith('Icmp6') && Number.isFinite(Number(value))) out[name] = Number(value);
  }
  return out;
}
