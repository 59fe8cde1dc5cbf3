/**
 * The packet sources: capture files read by our own pcap/pcapng reader, and live capture
 * through tcpdump streaming pcap into the same reader. Sessions reach the pcap backend only
 * through here.
 */
export { PcapParser, readPcapFile } from './pcap/reader.js';
export type { PacketHandler } from './pcap/reader.js';
export { TcpdumpCapture } from './pcap/tcpdump.js';
export type { KernelStats, TcpdumpOptions } from './pcap/tcpdump.js';
