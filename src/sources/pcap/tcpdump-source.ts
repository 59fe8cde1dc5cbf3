/**
 * Live capture as an event source: tcpdump's pcap stream is queued as it arrives and parsed on
 * poll, so packets reach the caller in its own loop, in capture order. Loss is what tcpdump
 * says the kernel dropped (its packet ring was full): asked for with SIGUSR1 at most once a
 * second while polling, and read once more from its closing statistics.
 */
import type { RawPacket } from '../../model/packet.js';
import type { BackendName, EventSource, EventSourceSummary, EventVisitor } from '../source.js';
import { PcapParser } from './reader.js';
import { TcpdumpCapture } from './tcpdump.js';
import type { TcpdumpOptions } from './tcpdump.js';
import type { Scope } from '../../platform/scope.js';

const STATS_INTERVAL_MS = 1000;

export class TcpdumpSource implements EventSource<RawPacket<Buffer>> {
  readonly backend: BackendName = 'tcpdump';
  private readonly chunks: Buffer[] = [];
  private readonly parser: PcapParser;
  private visitor: EventVisitor<RawPacket<Buffer>> | null = null;
  private delivered = 0;
  private streamEnded = false;
  private parserEnded = false;
  private capture: TcpdumpCapture | null = null;
  private lastStatsMs = 0;
  private summary: Promise<EventSourceSummary> | null = null;

  private constructor() {
    this.parser = new PcapParser((p) => {
      this.delivered++;
      this.visitor?.(p);
    }, 'tcpdump output');
  }

  /**
   * Start tcpdump; resolves once it listens. Rejects with a typed error (no tcpdump, no root,
   * bad filter). `scope` owns the child: closing the scope stops it, as close() does.
   */
  static async open(options: TcpdumpOptions, scope: Scope): Promise<TcpdumpSource> {
    const source = new TcpdumpSource();
    const capture = await TcpdumpCapture.startWith(options, {
      push: (chunk) => source.chunks.push(chunk),
      end: () => undefined, // the exit below says it, whatever the exit code
      info: () => source.parser.info(),
    }, scope);
    source.capture = capture;
    void capture.done.then(() => {
      source.streamEnded = true;
    });
    return source;
  }

  get pid(): number | undefined {
    return this.capture?.pid;
  }

  /** Packets the kernel dropped before tcpdump read them, as tcpdump last reported. */
  get lost(): number {
    return this.capture?.stats.droppedByKernel ?? 0;
  }

  /** tcpdump exited (its -c count reached, or it was stopped) and every packet was handed over. */
  get ended(): boolean {
    return this.streamEnded && this.chunks.length === 0;
  }

  poll(visit: EventVisitor<RawPacket<Buffer>>): number {
    const now = Date.now();
    if (this.capture !== null && this.summary === null && now - this.lastStatsMs >= STATS_INTERVAL_MS) {
      this.lastStatsMs = now;
      this.capture.requestStats();
    }
    return this.parse(visit);
  }

  drain(visit: EventVisitor<RawPacket<Buffer>>): number {
    return this.parse(visit);
  }

  /** SIGINT (tcpdump flushes and prints its statistics), SIGKILL after 5 s; resolves after the exit. */
  close(): Promise<EventSourceSummary> {
    this.summary ??= (async () => {
      const capture = this.capture;
      if (capture === null) return { lostReported: 0, kernelLost: 0, perCpu: [] };
      await capture.stop();
      const { stats } = await capture.done;
      // Packets that arrive after close are not handed over (drain before closing).
      this.chunks.length = 0;
      const dropped = stats.droppedByKernel ?? 0;
      return { lostReported: dropped, kernelLost: dropped + (stats.droppedByInterface ?? 0), perCpu: [] };
    })();
    return this.summary;
  }

  private parse(visit: EventVisitor<RawPacket<Buffer>>): number {
    const before = this.delivered;
    this.visitor = visit;
    try {
      for (const chunk of this.chunks.splice(0)) this.parser.push(chunk);
      if (this.streamEnded && !this.parserEnded) {
        this.parserEnded = true;
        this.parser.end(); // a record cut short is a MalformedInputError, after the packets before it
      }
    } finally {
      this.visitor = null;
    }
    return this.delivered - before;
  }
}
