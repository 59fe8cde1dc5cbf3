/**
 * The factory of event sources: kernel TCP events (a private tracefs instance, or bpftrace for
 * socket fields) and packets (capture files through our reader, live capture through tcpdump).
 * Each backend loads only when a source of its kind is opened. Snapshot sources are built in
 * index.ts; what every backend can do on this host is `backendStatus()` there.
 */
import type { CaptureFileSource, PacketSource, TcpEventSource } from './source.js';
import type { TcpEventOptions } from './trace.js';
import type { TcpdumpOptions } from './pcap/tcpdump.js';
import type { Scope } from '../platform/scope.js';

export type { TcpEventOptions } from './trace.js';
export type { TcpdumpOptions } from './pcap/tcpdump.js';

/** Kernel TCP events: a private tracefs instance, or bpftrace with `detail`, owned by `options.scope`. Rejects with a typed error when tracing cannot run. */
export async function openTcpEvents(options: TcpEventOptions): Promise<TcpEventSource> {
  const { openTcpEventSource } = await import('./trace.js');
  return openTcpEventSource(options);
}

/** A pcap or pcapng file, read a chunk per poll. Rejects with FileUnreadableError. */
export async function openCaptureFile(path: string, options: { readonly chunkBytes?: number; readonly signal?: AbortSignal } = {}): Promise<CaptureFileSource<Buffer>> {
  options.signal?.throwIfAborted();
  const { PcapFileSource } = await import('./packets.js');
  return PcapFileSource.open(path, options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes });
}

/** Live packets through tcpdump, owned by `scope` (closing it stops tcpdump). Rejects with a typed error (no tcpdump, no root, a bad filter or interface). */
export async function openLiveCapture(options: TcpdumpOptions, scope: Scope): Promise<PacketSource<Buffer>> {
  const { TcpdumpSource } = await import('./packets.js');
  return TcpdumpSource.open(options, scope);
}
