/**
 * What a process and the host use at one instant, as /proc tells it: the samples a diagnosis
 * takes at both ends of its window (CPU is the difference of the two).
 */

export interface ProcessSample {
  readonly pid: number;
  readonly process: string;
  /** utime + stime so far, in ms (/proc/PID/stat fields 14 and 15, in USER_HZ ticks). */
  readonly cpuMs: number | null;
  readonly openFds: number | null;
  /** RLIMIT_NOFILE ("Max open files" in /proc/PID/limits); null for "unlimited" or unreadable. */
  readonly fdLimitSoft: number | null;
  readonly fdLimitHard: number | null;
  readonly rssBytes: number | null;
  readonly threads: number | null;
}

export interface HostSample {
  readonly cpus: number;
  /** Jiffies spent busy and in total over all CPUs (/proc/stat "cpu" line). */
  readonly cpuBusyTicks: number | null;
  readonly cpuTotalTicks: number | null;
  readonly loadAverage1m: number | null;
  readonly memTotalBytes: number | null;
  readonly memAvailableBytes: number | null;
  /** fs.file-nr: allocated handles; fs.file-max. */
  readonly fileHandlesAllocated: number | null;
  readonly fileHandlesMax: number | null;
}
