/**
 * CPU time spent during a run: this process (all its threads, process.cpuUsage) and, when the
 * service under test runs on this machine, the server's process (--server-pid), from
 * /proc/PID/stat utime + stime (fields 14 and 15, proc(5)). "Verify a fix" compares response
 * time and throughput, and also what they cost the server.
 */
import { readFileSync } from 'node:fs';
import { UsageError, isErrnoException } from '../../errors.js';

/**
 * /proc reports clock ticks of USER_HZ, which is 100 on every mainstream Linux architecture
 * (include/asm-generic/param.h; `getconf CLK_TCK` prints 100 here).
 */
const USER_HZ = 100;

/** Parse utime + stime out of one /proc/PID/stat line, in milliseconds. */
export function parseProcStatCpuMs(line: string): number | null {
  // comm (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
  const close = line.lastIndexOf(')');
  if (close === -1) return null;
  const fields = line.slice(close + 2).split(' ');
  // After comm, field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / USER_HZ;
}

/** CPU milliseconds a process has used so far; throws a UsageError when it does not exist. */
export function processCpuMs(pid: number): number {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error: unknown) {
    const reason = isErrnoException(error) && error.code === 'ENOENT' ? 'no such process' : String(error);
    throw new UsageError(`--server-pid ${pid}: ${reason}`, 'give the PID of the server process on this machine (pgrep -f NAME)');
  }
  const ms = parseProcStatCpuMs(line);
  if (ms === null) throw new UsageError(`--server-pid ${pid}: /proc/${pid}/stat does not parse`);
  return ms;
}

export interface CpuSample {
  readonly clientMs: number;
  readonly serverMs: number | null;
}

export function sampleCpu(serverPid: number | null): CpuSample {
  const usage = process.cpuUsage();
  return { clientMs: (usage.user + usage.system) / 1000, serverMs: serverPid === null ? null : processCpuMs(serverPid) };
}
