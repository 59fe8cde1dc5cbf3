/**
 * Continuous capture on the key interfaces (escalation.ring_interfaces): one tcpdump per
 * interface through the capture session, written into a ring of files (sinks/pcap/file-ring.ts:
 * ring_max_mb / ring_file_mb files of ring_file_mb each; opening a new one deletes the oldest),
 * so the disk it takes is bounded whatever the traffic. When an alert fires, the part of the
 * ring that covers the last ring_before_s seconds is frozen into a recording: the ring is
 * flushed (every file then ends at a whole record), its closed files are hard-linked and the
 * file being written is copied, all synchronously, so the ring cannot rotate or append in
 * between; then the packets inside the window are merged, chunk by chunk, into one pcap.
 *
 * A ring whose tcpdump fails (the interface went away) is started again after RESTART_MS.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { TcpdiagError } from '../errors.js';
import type { RecordingScope } from '../model/recording.js';
import { LinkType } from '../model/packet.js';
import type { RawPacket } from '../model/packet.js';
import type { Redactor } from '../privacy/redact.js';
import { abortableSleep } from '../platform/abortable-sleep.js';
import type { Scope } from '../platform/scope.js';
import { runLiveCapture } from '../sessions/capture-session.js';
import type { FileRing } from '../sinks/pcap/file-ring.js';
import { PcapWriter } from '../sinks/pcap/writer.js';
import { openCaptureFile } from '../sources/events.js';
import type { RecordingStore } from '../store/recordings.js';
import type { AgentBus } from './bus.js';
import type { Recorder } from './recorder.js';

const RESTART_MS = 10_000;

export interface CaptureRingOptions {
  readonly interfaces: readonly string[];
  readonly snaplen: number;
  readonly maxBytes: number;
  readonly fileBytes: number;
  /** Ring files go to DIRECTORY/ring/IFACE/, frozen recordings to DIRECTORY. */
  readonly directory: string;
  readonly scope: Scope;
  readonly store: RecordingStore;
  readonly recorder: Recorder;
  readonly bus: AgentBus;
  readonly redactor: () => Redactor | null;
  readonly note: (text: string) => void;
}

export interface RingState {
  readonly interface: string;
  readonly running: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly error: string | null;
}

interface Ring {
  files: FileRing | null;
  error: string | null;
}

const safeName = (iface: string): string => iface.replace(/[^A-Za-z0-9_.-]/g, '_');

export class CaptureRings {
  private readonly rings = new Map<string, Ring>();
  private readonly loops: Promise<void>[] = [];
  private readonly scope: Scope;
  private sequence = 0;

  constructor(private readonly options: CaptureRingOptions) {
    this.scope = options.scope.child('capture rings');
  }

  start(): void {
    for (const iface of this.options.interfaces) {
      const ring: Ring = { files: null, error: null };
      this.rings.set(iface, ring);
      this.loops.push(this.keep(iface, ring));
    }
  }

  state(): RingState[] {
    return [...this.rings].map(([iface, r]) => ({
      interface: iface,
      running: r.files !== null,
      files: r.files?.files.length ?? 0,
      bytes: r.files?.files.reduce((sum, f) => sum + size(f), 0) ?? 0,
      error: r.error,
    }));
  }

  private ringDir(iface: string): string {
    return join(this.options.directory, 'ring', safeName(iface));
  }

  private async keep(iface: string, ring: Ring): Promise<void> {
    const signal = this.scope.signal;
    const files = Math.max(1, Math.floor(this.options.maxBytes / this.options.fileBytes));
    while (!signal.aborted) {
      const dir = this.ringDir(iface);
      // A previous run's files (its numbering starts again at 1) would never be rotated away.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      try {
        await runLiveCapture({
          interface: iface, direction: 'both', snaplen: this.options.snaplen, filter: [],
          output: join(dir, 'ring.pcap'), ringFiles: files, ringFileBytes: this.options.fileBytes,
          redactor: this.options.redactor(), signal, scope: this.scope,
          onRing: (r) => (ring.files = r),
          onStarted: () => (ring.error = null),
        });
      } catch (error: unknown) {
        ring.error = error instanceof Error ? error.message : String(error);
        this.options.note(`capture ring on ${iface}: ${ring.error}; trying again in ${RESTART_MS / 1000} s`);
      }
      ring.files = null;
      await abortableSleep(RESTART_MS, signal).catch(() => undefined);
    }
  }

  /**
   * Freeze each ring's packets from `fromMs` to now into a recording (one per interface); the
   * ids. Resolves once each is written and analysed.
   */
  async freeze(reason: string, scope: RecordingScope, fromMs: number): Promise<number[]> {
    const ids: number[] = [];
    for (const [iface, ring] of this.rings) {
      if (ring.files === null) continue;
      const toMs = Date.now();
      const copies = this.snapshot(iface, ring.files, fromMs);
      const file = join(this.options.directory, `ring-${safeName(iface)}-${new Date(toMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}-${++this.sequence}.pcap`);
      const id = this.options.store.start({
        kind: 'capture', trigger: 'ring', reason, scope, filter: '', startedAtMs: fromMs, deadlineMs: null, file,
        details: { interface: iface, snaplen: this.options.snaplen, windowFromMs: fromMs, windowToMs: toMs, ringFiles: copies.files.length },
      });
      this.publish(id, 'started', reason);
      try {
        const merged = await merge(copies.files, file, fromMs, toMs, this.options.snaplen, iface === 'any' ? LinkType.LINUX_SLL2 : LinkType.ETHERNET, this.scope.signal);
        this.options.store.end(id, { status: 'stopped', stoppedAtMs: toMs, stoppedBy: 'frozen', bytes: size(file), items: merged.packets, error: null });
        this.publish(id, 'stopped', reason);
        await this.options.recorder.analyze(id, file);
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        this.options.store.end(id, { status: 'failed', stoppedAtMs: Date.now(), stoppedBy: 'error', bytes: size(file), items: 0, error: message });
        this.publish(id, 'failed', reason);
        this.options.note(`freezing the capture ring on ${iface}: ${message}`);
      } finally {
        rmSync(copies.dir, { recursive: true, force: true });
      }
      ids.push(id);
    }
    this.options.recorder.enforceDiskCap();
    return ids;
  }

  /** The ring's files written since `fromMs`, as links and a copy that the ring cannot change. Synchronous on purpose. */
  private snapshot(iface: string, ring: FileRing, fromMs: number): { dir: string; files: string[] } {
    ring.flush();
    const dir = mkdtempSync(join(this.ringDir(iface), 'freeze-'));
    const files: string[] = [];
    const all = [...ring.files];
    all.forEach((f, i) => {
      let mtimeMs: number;
      try {
        mtimeMs = statSync(f).mtimeMs;
      } catch {
        return; // rotated away
      }
      if (mtimeMs < fromMs) return; // its last packet is older than the window
      const to = join(dir, basename(f));
      // The file being written is copied (it still grows); closed ones never change again.
      if (i === all.length - 1) copyFileSync(f, to);
      else {
        try {
          linkSync(f, to);
        } catch {
          copyFileSync(f, to);
        }
      }
      files.push(to);
    });
    return { dir, files };
  }

  private publish(id: number, status: 'started' | 'stopped' | 'failed', reason: string): void {
    this.options.bus.publish({ kind: 'recording', atMs: Date.now(), id: String(id), what: 'capture', status, reason });
  }

  async close(): Promise<void> {
    await this.scope.close();
    await Promise.all(this.loops);
  }
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The packets of `files` (in order) with a timestamp inside [fromMs, toMs], into one pcap. */
async function merge(files: readonly string[], output: string, fromMs: number, toMs: number, snaplen: number, emptyLinkType: number, signal: AbortSignal): Promise<{ packets: number }> {
  let writer: PcapWriter | null = null;
  let linkType: number | null = null;
  let packets = 0;
  const fromSec = Math.floor(fromMs / 1000);
  const visit = (p: RawPacket<Buffer>): void => {
    const ms = p.tsSec * 1000 + p.tsNsec / 1e6;
    if (ms < fromMs || ms > toMs || p.tsSec < fromSec) return;
    if (linkType === null) {
      linkType = p.linkType;
      writer = new PcapWriter(output, { linkType, snaplen, nanosecond: true });
    }
    if (p.linkType !== linkType) return;
    writer!.write(p.tsSec, p.tsNsec, p.buf, p.offset, p.capLen, p.origLen);
    packets++;
  };
  try {
    for (const f of files) {
      const source = await openCaptureFile(f, { chunkBytes: 1 << 20 });
      try {
        while (!source.ended) {
          if (signal.aborted) throw new TcpdiagError('TCPDIAG_STOPPED', 'the agent stopped while a capture ring was being frozen');
          source.poll(visit);
          await yieldToEventLoop();
        }
      } finally {
        await source.close();
      }
    }
  } finally {
    (writer as PcapWriter | null)?.close();
  }
  // Nothing in the window: still a valid, empty capture.
  if (writer === null) new PcapWriter(output, { linkType: emptyLinkType, snaplen, nanosecond: true }).close();
  return { packets };
}
