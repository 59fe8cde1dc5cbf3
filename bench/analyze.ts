/**
 * Benchmark: `tcpdiag analyze` against `tshark -r FILE -q -z conv,tcp` on a synthetic capture of
 * valid TCP conversations (>= 1,000,000 TCP packets), timed in the same run; then peak RSS of
 * tcpdiag at two file sizes (N and 4N packets) to show memory stays flat as the file grows.
 *
 * The captures are generated under /tmp with tcpdiag's own pcap writer (snaplen 128, as a
 * high-rate capture would use; segments carry 1448 payload bytes on the wire): 200 connections
 * open at a time, each a handshake, data with ACKs every second segment, a retransmission now
 * and then, and a FIN exchange. One conversation in four runs inside a tunnel (MPLS, PPPoE,
 * 802.1ah, GRE, ERSPAN I/II, VXLAN, GENEVE, IP-in-IP, cycled), and one data segment in 997 is
 * answered by an ICMP fragmentation-needed from a router, so the decoding of encapsulations and
 * of ICMP errors is in the measured loop, not only plain Ethernet.
 *
 * Run: npm run build && node dist/bench/analyze.js [packets=1000000]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIcmpError, buildIpTcp, synOptions, wrapLink } from '../test/helpers/craft.js';
import { TUNNELS } from '../test/analyze-fixtures-tunnels.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_SYN } from '../src/analysis/pcap/decode.js';
import { LinkType } from '../src/model/packet.js';
import { PcapWriter } from '../src/sinks/pcap/writer.js';

const CLI = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'cli', 'launcher.cjs');
const SNAPLEN = 128;
const MSS = 1448;
const CONCURRENT = 200;
const DATA_SEGMENTS_PER_CONN = 90;
const TUNNELED_EVERY = 4;
const ICMP_EVERY = 997;
/** The tunnels that carry IPv4 (6in4 and Teredo carry IPv6 only). */
const V4_TUNNELS = TUNNELS.filter(([name]) => name !== '6in4' && name !== 'teredo').map(([, wrap]) => wrap);

/** Write `packets` TCP packets of interleaved conversations; returns the path. */
function generate(path: string, packets: number): void {
  const w = new PcapWriter(path, { linkType: LinkType.ETHERNET, snaplen: SNAPLEN, bufferBytes: 8 << 20 });
  let written = 0;
  let usec = 0;
  let nextConn = 0;
  interface Conv { id: number; step: number; cseq: number; sseq: number; sent: number; frames: Array<() => Buffer> }
  const payload = Buffer.alloc(MSS, 0x61);
  const live: Conv[] = [];
  const plain = (ip: Buffer): Buffer => wrapLink(LinkType.ETHERNET, ip);
  let frame = plain;
  const open = (): Conv => {
    const id = nextConn++;
    return { id, step: 0, cseq: (id * 7919 * 65536) >>> 0, sseq: (id * 104729 * 4096) >>> 0, sent: 0, frames: [] };
  };
  // Each call emits the conversation's next packet(s) into `out`.
  const next = (c: Conv, out: Buffer[]): boolean => {
    const client = `10.${(c.id >> 16) & 255}.${(c.id >> 8) & 255}.${c.id & 255}`;
    const cli = { src: client, dst: '192.168.1.10', sport: 10000 + (c.id % 50000), dport: 443 };
    const srv = { src: '192.168.1.10', dst: client, sport: 443, dport: cli.sport };
    frame = c.id % TUNNELED_EVERY === 0 ? V4_TUNNELS[(c.id / TUNNELED_EVERY) % V4_TUNNELS.length]! : plain;
    switch (c.step) {
      case 0:
        out.push(frame(buildIpTcp({ ...cli, seq: c.cseq, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) })));
        c.step = 1;
        return true;
      case 1:
        out.push(frame(buildIpTcp({ ...srv, seq: c.sseq, ack: c.cseq + 1, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1460, 7) })));
        c.cseq = (c.cseq + 1) >>> 0;
        c.sseq = (c.sseq + 1) >>> 0;
        c.step = 2;
        return true;
      case 2:
        out.push(frame(buildIpTcp({ ...cli, seq: c.cseq, ack: c.sseq, flags: TH_ACK, window: 502 })));
        c.step = 3;
        return true;
      case 3: {
        // Server sends data; the client ACKs every second segment; every 97th segment is sent twice.
        const data = buildIpTcp({ ...srv, seq: c.sseq, ack: c.cseq, flags: TH_ACK | TH_PUSH, window: 509, payload });
        out.push(frame(data));
        // A router whose next hop has a smaller MTU than the 1448-byte segments (RFC 1191).
        if ((c.id * DATA_SEGMENTS_PER_CONN + c.sent) % ICMP_EVERY === 0) out.push(frame(buildIcmpError('192.168.1.1', srv.src, 3, 4, data, { mtu: 1400 })));
        if ((c.id + c.sent) % 97 === 0) out.push(frame(buildIpTcp({ ...srv, seq: c.sseq, ack: c.cseq, flags: TH_ACK | TH_PUSH, window: 509, payload })));
        c.sseq = (c.sseq + MSS) >>> 0;
        c.sent++;
        if (c.sent % 2 === 0) out.push(frame(buildIpTcp({ ...cli, seq: c.cseq, ack: c.sseq, flags: TH_ACK, window: 502 })));
        if (c.sent >= DATA_SEGMENTS_PER_CONN) c.step = 4;
        return true;
      }
      case 4:
        out.push(frame(buildIpTcp({ ...cli, seq: c.cseq, ack: c.sseq, flags: TH_ACK | TH_FIN, window: 502 })));
        out.push(frame(buildIpTcp({ ...srv, seq: c.sseq, ack: c.cseq + 1, flags: TH_ACK | TH_FIN, window: 509 })));
        out.push(frame(buildIpTcp({ ...cli, seq: c.cseq + 1, ack: c.sseq + 1, flags: TH_ACK, window: 502 })));
        c.step = 5;
        return false;
      default:
        return false;
    }
  };
  const out: Buffer[] = [];
  while (written < packets) {
    while (live.length < CONCURRENT) live.push(open());
    for (let i = 0; i < live.length && written < packets; i++) {
      out.length = 0;
      const more = next(live[i]!, out);
      for (const f of out) {
        if (written >= packets) break;
        usec += 7;
        // The IP length says 1448 payload bytes; the capture keeps the first 128 bytes.
        w.write(1_750_000_000 + Math.floor(usec / 1e6), (usec % 1e6) * 1000, f, 0, Math.min(f.length, SNAPLEN), f.length);
        written++;
      }
      if (!more) live.splice(i--, 1);
    }
  }
  w.close();
}

interface Timed {
  seconds: number;
  maxRssKb: number;
  stdout: string;
}

/** Run a command under GNU time for wall time and peak RSS. */
function timed(cmd: string, args: string[]): Timed {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-500)}`);
  const lines = r.stderr.trim().split('\n');
  return { seconds, maxRssKb: Number(lines.at(-1)), stdout: r.stdout };
}

function main(): void {
  const packets = Number(process.argv[2] ?? 1_000_000);
  // tshark runs on the first size; memory is compared between it and a file four times larger.
  const sizes = [packets, packets * 4];
  const files = sizes.map((n) => `/tmp/tcpdiag-bench-analyze-mix-${n}.pcap`);
  sizes.forEach((n, i) => {
    const f = files[i]!;
    if (!existsSync(f)) {
      const t0 = Date.now();
      generate(f, n);
      console.log(`generated ${f}: ${n} packets, ${(statSync(f).size / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  });
  const big = files[0]!;
  console.log(`\nanalyze vs tshark on ${packets} TCP packets (${(statSync(big).size / 1e6).toFixed(1)} MB):`);
  const ours = timed(process.execPath, [CLI, 'analyze', big, '--json', '--max-connections', '100']);
  const report = JSON.parse(ours.stdout) as { tcpPackets: number; summary: { connections: number; streams: number; retransmissions: number; icmpErrors: number }; findings: Array<{ id: string }> };
  const theirs = timed('tshark', ['-n', '-r', big, '-q', '-z', 'conv,tcp']);
  const tsharkConvs = theirs.stdout.split('\n').filter((l) => /<->/.test(l)).length;
  const ratio = theirs.seconds / ours.seconds;
  console.log(`  tcpdiag analyze : ${ours.seconds.toFixed(2)} s  (${Math.round(report.tcpPackets / ours.seconds).toLocaleString('en')} packets/s, peak RSS ${(ours.maxRssKb / 1024).toFixed(0)} MiB, ${report.summary.connections} connections, ${report.summary.retransmissions} retransmissions, ${report.summary.icmpErrors} ICMP errors; findings: ${report.findings.map((f) => f.id).join(', ') || 'none'})`);
  console.log(`  tshark -z conv  : ${theirs.seconds.toFixed(2)} s  (peak RSS ${(theirs.maxRssKb / 1024).toFixed(0)} MiB, ${tsharkConvs} conversations)`);
  console.log(`  ratio           : ${ratio.toFixed(1)}x faster (target >= 10x: ${ratio >= 10 ? 'met' : 'NOT met'})`);
  if (tsharkConvs !== report.summary.streams) console.log(`  note: stream counts differ (${report.summary.streams} vs ${tsharkConvs})`);

  console.log('\npeak RSS of tcpdiag analyze as the file grows:');
  const rss: number[] = [];
  sizes.forEach((n, i) => {
    const r = i === 0 ? ours : timed(process.execPath, [CLI, 'analyze', files[i]!, '--json', '--max-connections', '100']);
    rss.push(r.maxRssKb);
    console.log(`  ${String(n).padStart(9)} packets: ${(r.maxRssKb / 1024).toFixed(0)} MiB peak RSS, ${r.seconds.toFixed(2)} s`);
  });
  const growth = rss[1]! / rss[0]!;
  console.log(`  4x the packets -> ${growth.toFixed(2)}x the peak RSS`);

  // Peak RSS includes garbage V8 collects lazily (its old generation grows toward a limit set
  // from the live size); what the analysis holds is the heap left after a full collection.
  const heap = spawnSync(process.execPath, ['--expose-gc', join(fileURLToPath(new URL('.', import.meta.url)), 'analyze-heap.js'), files[1]!], { encoding: 'utf8' });
  if (heap.status === 0) {
    const samples = JSON.parse(heap.stdout) as Array<{ packets: number; liveConnections: number; heapMiB: number }>;
    console.log('\nheap in use after a full GC, along the larger file:');
    for (const s of samples) console.log(`  ${String(s.packets).padStart(9)} packets: ${s.heapMiB.toFixed(1)} MiB, ${s.liveConnections} connections held`);
    const late = samples.slice(1).map((s) => s.heapMiB);
    if (late.length > 1) console.log(`  from 1M packets on: ${Math.min(...late).toFixed(1)}-${Math.max(...late).toFixed(1)} MiB (${Math.max(...late) / Math.min(...late) < 1.5 ? 'flat' : 'grows'})`);
  } else {
    console.log(`heap sampling failed: ${heap.stderr.slice(-300)}`);
  }
  if (process.env.TCPDIAG_BENCH_KEEP !== '1') for (const f of files) rmSync(f, { force: true });
}

main();
