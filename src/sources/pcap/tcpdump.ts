/**
 * Live capture through tcpdump (libpcap), the capture engine architecture.md settles on:
 * `tcpdump -U --immediate-mode -w -` streams pcap to our reader as packets arrive. `-i any`
 * gives LINUX_SLL2 frames, `-Q` picks a direction, `-s` the snaplen. At exit tcpdump prints
 * "N packets captured / received by filter / dropped by kernel" on stderr; those are parsed and
 * reported, since a fast link drops packets in the kernel ring and the operator must know.
 *
 * The child belongs to the caller's scope: closing it (stop, signal, error, exit) stops tcpdump.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { SourceError, ToolMissingError, UsageError } from '../../errors.js';
import { findExecutable } from '../../platform/capabilities.js';
import { NEEDS, privilegeError } from '../../platform/privileges.js';
import { OWNER_ENV, ownedCommand, spawnOwned } from '../../platform/children.js';
import type { Scope } from '../../platform/scope.js';
import { abortReason } from '../../platform/abortable-sleep.js';
import { tcpdumpUnavailable } from './available.js';
import { PcapParser } from './reader.js';
import type { PcapFileInfo } from '../../model/packet.js';
import type { PacketHandler } from './reader.js';
import type { ConnFilter } from '../../model/conn-filter.js';
import { combinePcapFilters } from './bpf-filter.js';

export type Direction = 'in' | 'out' | 'both';

export interface TcpdumpOptions {
  readonly interface: string;
  readonly direction: Direction;
  readonly snaplen: number;
  /** The kernel's capture buffer in KiB (tcpdump -B); DEFAULT_BUFFER_KIB when absent. */
  readonly bufferKiB?: number;
  /** BPF filter expression words (pcap-filter(7)), passed as arguments, never through a shell. */
  readonly filter: readonly string[];
  /** The shared filter flags, compiled into the same BPF program (bpf-filter.ts). */
  readonly connFilter?: ConnFilter;
  /**
   * Capture inside this network namespace (a path, /run/netns/NAME or /proc/PID/ns/net): its
   * interfaces, its packets. tcpdump runs under `nsenter --net=PATH`, which joins the namespace
   * and execs tcpdump in the same process (util-linux nsenter(1)), so the pid is tcpdump's.
   */
  readonly netns?: string;
  /** Let tcpdump stop after this many packets (-c). */
  readonly count?: number;
  /** How long to wait for tcpdump to start listening. */
  readonly startTimeoutMs?: number;
  /** Aborting while tcpdump starts kills it and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Where tcpdump's pcap stream goes: a PcapParser, or a queue that parses on poll. */
export interface PcapStreamSink {
  push(chunk: Buffer): void;
  end(): void;
  /** What the stream's header said, once parsed (a queue that parses later says null). */
  info(): PcapFileInfo | null;
}

export interface KernelStats {
  captured: number | null;
  receivedByFilter: number | null;
  droppedByKernel: number | null;
  droppedByInterface: number | null;
}

/**
 * The capture buffer tcpdump asks the kernel for. libpcap cuts its ring into frames of the
 * snaplen, capped at the largest packet the interface can carry (pcap-linux.c), so on loopback
 * (MTU 65536) tcpdump's 2 MiB default holds about 32 packets: measured here, a burst of 30
 * loopback connections (120 packets in ~10 ms) lost 64-87 of its 120 packets to "dropped by
 * kernel" in each of 5 runs, and none in 5 runs with 32 MiB. On a 1500-byte interface the same
 * buffer holds ~20,000 frames. It is mapped only while a capture runs.
 */
export const DEFAULT_BUFFER_KIB = 32 * 1024;

export function tcpdumpArgs(o: TcpdumpOptions): string[] {
  const args = ['-U', '--immediate-mode', '-B', String(o.bufferKiB ?? DEFAULT_BUFFER_KIB), '-w', '-', '-i', o.interface, '-s', String(o.snaplen)];
  if (o.direction !== 'both') args.push('-Q', o.direction);
  if (o.count !== undefined) args.push('-c', String(o.count));
  args.push(...combinePcapFilters(o.filter, o.connFilter));
  return args;
}

/**
 * tcpdump's statistics (stderr), e.g. "12 packets dropped by kernel": the last ones it printed,
 * at exit or on SIGUSR1 (tcpdump(8): "it will report those counts when it receives a SIGUSR1").
 */
export function parseTcpdumpStats(stderr: string): KernelStats {
  const num = (re: RegExp): number | null => {
    let last: string | undefined;
    for (const m of stderr.matchAll(re)) last = m[1];
    return last === undefined ? null : Number(last);
  };
  return {
    captured: num(/(\d+) packets? captured/g),
    receivedByFilter: num(/(\d+) packets? received by filter/g),
    droppedByKernel: num(/(\d+) packets? dropped by kernel/g),
    droppedByInterface: num(/(\d+) packets? dropped by interface/g),
  };
}

function startupError(stderr: string, o: TcpdumpOptions): Error {
  const text = stderr.replace(/^tcpdump: /gm, '').trim();
  const filterLine = text.split('\n').find((l) => /syntax error|can't parse filter|illegal|unknown (host|port|proto)|expression rejects/i.test(l));
  if (filterLine !== undefined) {
    return new UsageError(`bad capture filter "${o.filter.join(' ')}": ${filterLine}`, 'write a pcap-filter(7) expression, e.g. "tcp port 443" or "host 10.0.0.5 and tcp"');
  }
  if (/no such device|doesn't exist|not found|No such device exists/i.test(text)) {
    return new UsageError(`interface "${o.interface}": ${text.split('\n')[0] ?? text}`, 'list interfaces with `ip -br link`, or use --interface any');
  }
  if (/permission|not permitted/i.test(text)) return privilegeError(NEEDS.capture());
  return new SourceError('tcpdump', text === '' ? 'exited before capturing' : text);
}

export class TcpdumpCapture {
  private stderr = '';
  private stopping = false;
  private parseError: unknown = null;
  readonly done: Promise<{ stats: KernelStats; exitCode: number | null; error: unknown }>;

  private unregister: () => void = () => undefined;

  private constructor(private readonly child: ChildProcessByStdio<null, Readable, Readable>, private readonly parser: PcapStreamSink, scope: Scope) {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 65_536) this.stderr += d;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.parseError !== null) return;
      try {
        parser.push(chunk);
      } catch (error: unknown) {
        this.parseError = error;
        this.kill('SIGTERM');
      }
    });
    this.done = new Promise((resolve) => {
      child.on('close', (code) => {
        this.unregister();
        if (this.parseError === null && code === 0) {
          try {
            parser.end();
          } catch (error: unknown) {
            this.parseError = error;
          }
        }
        resolve({ stats: parseTcpdumpStats(this.stderr), exitCode: code, error: this.parseError });
      });
    });
    // Registered last: on a scope already closed, defer() runs this at once and throws.
    this.unregister = scope.defer(`tcpdump pid ${child.pid ?? '?'}`, () => this.terminate(), { sync: () => this.kill('SIGKILL') });
  }

  /** What tcpdump's pcap stream header said (link type, snaplen), once it arrived. */
  get streamInfo(): PcapFileInfo | null {
    return this.parser.info();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get errorOutput(): string {
    return this.stderr;
  }

  /** Start tcpdump; resolves once it listens, rejects with a typed error if it cannot. */
  static start(options: TcpdumpOptions, onPacket: PacketHandler, scope: Scope): Promise<TcpdumpCapture> {
    return TcpdumpCapture.startWith(options, new PcapParser(onPacket, 'tcpdump output'), scope);
  }

  /** The same, with tcpdump's pcap stream handed to `sink` as it arrives. */
  static async startWith(options: TcpdumpOptions, sink: PcapStreamSink, scope: Scope): Promise<TcpdumpCapture> {
    const missing = tcpdumpUnavailable();
    if (missing !== null) throw missing;
    options.signal?.throwIfAborted();
    const tcpdump = findExecutable('tcpdump')!;
    // No check of our own capabilities first: tcpdump may hold CAP_NET_RAW as a file capability
    // (setcap) that we do not have; its own refusal becomes the same error (startupError).
    // Debian's tcpdump drops root for its `tcpdump` user after opening the device, which clears
    // the death signal (platform/children.ts): setpriv makes that switch itself instead, keeping
    // CAP_NET_RAW, the one capability opening a capture needs (measured: -i any, lo, eth0).
    const runAs = { user: 'tcpdump', capabilities: ['net_raw'] };
    let child: ChildProcessByStdio<null, Readable, Readable>;
    if (options.netns === undefined) {
      child = spawnOwned(tcpdump, tcpdumpArgs(options), { stdio: ['ignore', 'pipe', 'pipe'], runAs }) as ChildProcessByStdio<null, Readable, Readable>;
    } else {
      // nsenter joins the namespace (it needs CAP_SYS_ADMIN, so it runs first, as us) and execs
      // the owned command, whose setpriv then drops to the tcpdump user: one pid throughout.
      const nsenter = findExecutable('nsenter');
      if (nsenter === null) throw new ToolMissingError('nsenter (to capture inside --netns)', 'util-linux');
      const owned = ownedCommand(tcpdump, tcpdumpArgs(options), runAs);
      child = spawn(nsenter, [`--net=${options.netns}`, '--', owned.file, ...owned.args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, [OWNER_ENV]: String(process.pid) },
      });
    }
    const capture = new TcpdumpCapture(child, sink, scope);
    // Settles only once tcpdump listens, or has exited: a failed or abandoned start leaves no
    // process behind.
    await new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      const timeoutMs = options.startTimeoutMs ?? 10_000;
      let failure: Error | null = null;
      const giveUp = (error: Error): void => {
        failure ??= error;
        capture.kill('SIGKILL');
      };
      const onAbort = (): void => giveUp(abortReason(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => giveUp(new SourceError('tcpdump', `did not start listening within ${timeoutMs} ms: ${capture.stderr.trim()}`)), timeoutMs);
      timer.unref();
      const onData = (): void => {
        if (failure === null && /listening on/.test(capture.stderr)) {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          child.stderr.off('data', onData);
          resolve();
        }
      };
      child.stderr.on('data', onData);
      child.on('error', (error) => giveUp(new SourceError('tcpdump', error.message)));
      void capture.done.then(({ exitCode }) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (failure !== null) reject(failure);
        else if (!/listening on/.test(capture.stderr)) reject(startupError(capture.stderr, options));
        else if (exitCode !== 0 && exitCode !== null) reject(startupError(capture.stderr, options));
      });
    });
    return capture;
  }

  /** Ask tcpdump to stop (SIGINT: it flushes, prints its statistics and exits). */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.kill('SIGINT');
      const timer = setTimeout(() => this.kill('SIGKILL'), 5000);
      timer.unref();
      await this.done;
      clearTimeout(timer);
    } else {
      await this.done;
    }
  }

  /** Kernel statistics tcpdump printed last (at exit, or after requestStats()). */
  get stats(): KernelStats {
    return parseTcpdumpStats(this.stderr);
  }

  /** Ask tcpdump to print its kernel statistics now (SIGUSR1); they show in `stats` shortly after. */
  requestStats(): void {
    this.kill('SIGUSR1');
  }

  /** The scope's cleanup: SIGTERM, SIGKILL 3 s later; resolves once tcpdump has exited. */
  private async terminate(): Promise<void> {
    if (this.child.pid === undefined) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 3000);
    await this.done;
    clearTimeout(timer);
  }

  private kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
