/**
 * Helper of bench/analyze.ts: analyse a capture in-process and print, every 500,000 packets,
 * the heap still in use after a full garbage collection (run with node --expose-gc). Peak RSS
 * includes garbage V8 has not collected yet; this is the memory the analysis actually holds.
 */
import { PcapFileSource } from '../src/sources/pcap/file-source.js';
import { TcpAnalyzer } from '../src/analysis/pcap/analyzer.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const file = process.argv[2];
if (file === undefined) throw new Error('usage: node --expose-gc dist/bench/analyze-heap.js FILE');
const analyzer = new TcpAnalyzer({ maxConnections: 100 });
const samples: Array<{ packets: number; liveConnections: number; heapMiB: number }> = [];
let n = 0;
const source = PcapFileSource.open(file);
source.drain((p) => {
  analyzer.add(p);
  if (++n % 500_000 === 0) {
    gc();
    samples.push({ packets: n, liveConnections: analyzer.liveConnections, heapMiB: Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10 });
  }
});
await source.close();
console.log(JSON.stringify(samples));
