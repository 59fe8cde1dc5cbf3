/**
 * Shared by the analyze/capture tests: run tshark on a file and count what it flags, run
 * tcpdump around some loopback traffic, and nftables tables that clean up after themselves.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { findExecutable, isRoot } from '../src/platform/capabilities.js';
import { runCli } from './helpers/cli.js';

/** tcpdiag's --frames names and tshark's filters: the per-packet verdicts compared frame by frame. */
export const FRAME_FLAGS: ReadonlyArray<[string, string]> = [
  ['retransmission', 'tcp.analysis.retransmission'],
  ['fast_retransmission', 'tcp.analysis.fast_retransmission'],
  ['spurious_retransmission', 'tcp.analysis.spurious_retransmission'],
  ['duplicate_ack', 'tcp.analysis.duplicate_ack'],
  ['zero_window', 'tcp.analysis.zero_window'],
  ['out_of_order', 'tcp.analysis.out_of_order'],
  ['lost_segment', 'tcp.analysis.lost_segment'],
  ['keep_alive', 'tcp.analysis.keep_alive'],
  ['keep_alive_ack', 'tcp.analysis.keep_alive_ack'],
  ['window_update', 'tcp.analysis.window_update'],
  ['zero_window_probe', 'tcp.analysis.zero_window_probe'],
  ['zero_window_probe_ack', 'tcp.analysis.zero_window_probe_ack'],
  ['ack_lost_segment', 'tcp.analysis.ack_lost_segment'],
];

/** The contract's summary keys and the tshark display filter each one counts. */
export const TSHARK_FLAGS: ReadonlyArray<[string, string]> = [
  ['retransmissions', 'tcp.analysis.retransmission'],
  ['fastRetransmissions', 'tcp.analysis.fast_retransmission'],
  ['spuriousRetransmissions', 'tcp.analysis.spurious_retransmission'],
  ['duplicateAcks', 'tcp.analysis.duplicate_ack'],
  ['zeroWindows', 'tcp.analysis.zero_window'],
  ['outOfOrder', 'tcp.analysis.out_of_order'],
  ['lostSegments', 'tcp.analysis.lost_segment'],
  ['keepAlives', 'tcp.analysis.keep_alive'],
  ['syn', 'tcp.flags.syn == 1 && tcp.flags.ack == 0'],
  ['synAck', 'tcp.flags.syn == 1 && tcp.flags.ack == 1'],
  ['fin', 'tcp.flags.fin == 1'],
  ['rst', 'tcp.flags.reset == 1'],
  ['icmpErrors', 'icmp or icmpv6 errors quoting TCP'],
];

export const hasTshark = (): boolean => findExecutable('tshark') !== null;

/** Why a privileged capture test cannot run here, or null. */
export function captureSkipReason(...tools: string[]): string | null {
  if (!isRoot()) return 'needs root: packet capture and nft rules';
  for (const tool of ['tcpdump', 'tshark', ...tools]) if (findExecutable(tool) === null) return `needs ${tool} (scripts/setup.sh installs it)`;
  return null;
}

interface TsharkCounts {
  packets: number;
  tcpPackets: number;
  connections: number;
  summary: Record<string, number>;
  /** Frame numbers tshark flags, per --frames name. */
  frames: Record<string, number[]>;
}

/**
 * tshark's own verdicts on a file, from one pass: per frame its tcp.stream, the SYN/ACK/FIN/RST
 * bits and every tcp.analysis flag compared (fields print as "1" when present). A TCP header
 * quoted in an ICMP error is not a segment on the wire: those frames are counted apart
 * (`icmpErrors`), as tcpdiag counts them, and streams seen only there are not streams.
 */
export function tsharkCounts(file: string, options: { tolerateDamage?: boolean } = {}): TsharkCounts {
  const fields = ['frame.number', 'tcp.stream', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.fin', 'tcp.flags.reset', 'icmp.type', 'icmpv6.type', 'frame.protocols', ...FRAME_FLAGS.map(([, f]) => f)];
  const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  // On a damaged file tshark prints the frames before the damage and exits 2.
  const damaged = /appears to be damaged or corrupt|cut short in the middle of a packet|doesn't support|isn't a capture file/.test(r.stderr ?? '');
  if (r.status !== 0 && !(options.tolerateDamage === true && damaged)) throw new Error(`tshark -r ${file} failed: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  const frames: Record<string, number[]> = Object.fromEntries(FRAME_FLAGS.map(([name]) => [name, []]));
  const streams = new Set<string>();
  let tcpPackets = 0;
  let syn = 0;
  let synAck = 0;
  let fin = 0;
  let rst = 0;
  let icmpErrors = 0;
  for (const line of lines) {
    const cols = line.split('\t');
    const frame = Number(cols[0]);
    const icmp4 = Number(cols[6] === '' ? -1 : cols[6]);
    const icmp6 = Number(cols[7] === '' ? -1 : cols[7]);
    // ICMP errors: not segments on the wire; counted when what they quote is TCP.
    if ([3, 4, 5, 11, 12].includes(icmp4) || (icmp6 >= 1 && icmp6 <= 4)) {
      if (/:icmp(v6)?:.*:tcp(:|$)/.test(cols[8] ?? '')) icmpErrors++;
      continue;
    }
    if ((cols[1] ?? '') === '') continue;
    tcpPackets++;
    streams.add(cols[1]!);
    if (cols[2] === '1' && cols[3] !== '1') syn++;
    if (cols[2] === '1' && cols[3] === '1') synAck++;
    if (cols[4] === '1') fin++;
    if (cols[5] === '1') rst++;
    FRAME_FLAGS.forEach(([name], i) => {
      if ((cols[9 + i] ?? '') !== '') frames[name]!.push(frame);
    });
  }
  const count = (name: string): number => frames[name]?.length ?? 0;
  const summary: Record<string, number> = {
    retransmissions: count('retransmission'),
    fastRetransmissions: count('fast_retransmission'),
    spuriousRetransmissions: count('spurious_retransmission'),
    duplicateAcks: count('duplicate_ack'),
    zeroWindows: count('zero_window'),
    outOfOrder: count('out_of_order'),
    lostSegments: count('lost_segment'),
    keepAlives: count('keep_alive'),
    syn,
    synAck,
    fin,
    rst,
    icmpErrors,
  };
  return { packets: lines.length, tcpPackets, connections: streams.size, summary, frames };
}

export interface AnalyzeJson {
  packets: number;
  tcpPackets: number;
  summary: Record<string, number>;
  connections: Array<Record<string, unknown> & { id: number; state: string; history: string; client: { address: string; port: number }; server: { address: string; port: number }; retransmissions: number; resets: { client: number; server: number } }>;
  timeline: Array<Record<string, number>>;
  findings: Array<{ id: string; severity: string; title: string; subject: string; source: string; evidence: Record<string, unknown> }>;
  error: { message: string; offset: number | null; afterPacket: number } | null;
  frames?: Record<string, number[]>;
  [key: string]: unknown;
}

export async function analyzeJson(file: string, extra: string[] = []): Promise<{ code: number | null; json: AnalyzeJson; stderr: string }> {
  const r = await runCli(['analyze', file, '--json', ...extra], { timeoutMs: 120_000 });
  assert.notEqual(r.stdout, '', `analyze printed nothing: ${r.stderr}`);
  return { code: r.code, json: JSON.parse(r.stdout) as AnalyzeJson, stderr: r.stderr };
}

/**
 * Assert that every count of the contract equals tshark's on the same file, and that each
 * verdict lands on exactly the frames tshark flags; returns both.
 */
export async function assertAgreesWithTshark(file: string): Promise<{ ours: AnalyzeJson; theirs: TsharkCounts }> {
  const { code, json, stderr } = await analyzeJson(file, ['--frames']);
  assert.equal(code, 0, stderr);
  const theirs = tsharkCounts(file);
  const mismatches: string[] = [];
  for (const [key] of TSHARK_FLAGS) {
    if (json.summary[key] !== theirs.summary[key]) mismatches.push(`${key}: tcpdiag ${json.summary[key]} vs tshark ${theirs.summary[key]}`);
  }
  if (json.packets !== theirs.packets) mismatches.push(`packets: ${json.packets} vs ${theirs.packets}`);
  if (json.tcpPackets !== theirs.tcpPackets) mismatches.push(`tcpPackets: ${json.tcpPackets} vs ${theirs.tcpPackets}`);
  if (json.summary.streams !== theirs.connections) mismatches.push(`streams: ${json.summary.streams} vs tshark streams ${theirs.connections}`);
  for (const [name] of FRAME_FLAGS) {
    const ours = json.frames?.[name] ?? [];
    const theirs2 = theirs.frames[name] ?? [];
    if (ours.join(',') !== theirs2.join(',')) mismatches.push(`${name} frames: tcpdiag [${ours.slice(0, 20).join(',')}] vs tshark [${theirs2.slice(0, 20).join(',')}]`);
  }
  assert.deepEqual(mismatches, [], `${file} disagrees with tshark:\n${mismatches.join('\n')}`);
  return { ours: json, theirs };
}

/** tcpdump writing `file` until stop(); resolves once it is listening. */
export async function startTcpdump(file: string, args: string[]): Promise<{ stop(): Promise<void>; child: ChildProcess }> {
  const child = spawn('tcpdump', ['-U', '--immediate-mode', '-w', file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`tcpdump exited: ${stderr}`)));
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null) return;
      // Give the last packets time to reach the file, then SIGINT so tcpdump flushes and exits.
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await once(child, 'exit');
    },
  };
}

/** An nftables table with one input chain; `drop(rule)` adds a rule; remove() deletes the table. */
export function nftTable(name: string): { add(rule: string[]): void; remove(): void } {
  const nft = (args: string[]): void => {
    const r = spawnSync('nft', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
  };
  nft(['add', 'table', 'inet', name]);
  nft(['add', 'chain', 'inet', name, 'input', '{ type filter hook input priority 0; policy accept; }']);
  return {
    add: (rule) => nft(['add', 'rule', 'inet', name, 'input', ...rule]),
    remove: () => void spawnSync('nft', ['delete', 'table', 'inet', name]),
  };
}
