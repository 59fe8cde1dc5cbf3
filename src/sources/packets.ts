/**
 * The packet sources: capture files read by our own pcap/pcapng reader, and live capture
 * through tcpdump streaming pcap into the same reader. Sessions reach the pcap backend only
 * through here (or through index.ts, which loads this file when a packet source is asked for).
 */
export { PcapParser, readPcapFile } from './pcap/reader.js';
export type { PacketHandler } from './pcap/reader.js';
export { TcpdumpCapture } from './pcap/tcpdump.js';
export type { KernelStats, TcpdumpOptions } from './pcap/tcpdump.js';
export { PcapFileSource } from './pcap/file-source.js';
export type { PcapFileSourceOptions } from './pcap/file-source.js';
export { TcpdumpSource } from './pcap/tcpdump-source.js';
