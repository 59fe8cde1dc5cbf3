/**
 * A large, valid pcap written fast: `connections` loopback connections, each a handshake and then
 * data segments with advancing sequence numbers and ACKs, interleaved, until `packets` records.
 * For tests that need a capture whose analysis takes seconds (Ctrl-C must not wait for it).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { LinkType } from '../../src/model/packet.js';
import { buildIpTcp, wrapLink } from './craft.js';

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

/** Writes the file and returns its size in bytes. */
export function writeBigCapture(path: string, packets: number, connections = 256, payloadBytes = 64): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  let used = 0;
  let total = 0;
  const flush = (): void => {
    writeSync(fd, chunk, 0, used);
    total += used;
    used = 0;
  };
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(LinkType.ETHERNET, 20);
  header.copy(chunk, 0);
  used = 24;
  let usec = 0;
  const record = (frame: Buffer): void => {
    if (used + 16 + frame.length > chunk.length) flush();
    usec += 10;
    chunk.writeUInt32LE(Math.floor(usec / 1e6), used);
    chunk.writeUInt32LE(usec % 1e6, used + 4);
    chunk.writeUInt32LE(frame.length, used + 8);
    chunk.writeUInt32LE(frame.length, used + 12);
    frame.copy(chunk, used + 16);
    used += 16 + frame.length;
  };
  const conns = Array.from({ length: connections }, (_, i) => ({ sport: 20000 + i, seq: 1000, ack: 5000 }));
  let written = 0;
  const frame = (c: (typeof conns)[number], toServer: boolean, flags: number, payload: number): Buffer => wrapLink(LinkType.ETHERNET, buildIpTcp({
    src: toServer ? '127.0.0.1' : '127.0.0.2', dst: toServer ? '127.0.0.2' : '127.0.0.1',
    sport: toServer ? c.sport : 80, dport: toServer ? 80 : c.sport,
    seq: toServer ? c.seq : c.ack, ack: toServer ? c.ack : c.seq, flags, window: 65535, payload,
  }));
  for (const c of conns) {
    if (written + 3 > packets) break;
    record(frame({ ...c, ack: 0 }, true, SYN, 0));
    record(frame({ ...c, seq: c.seq + 1, ack: c.ack }, false, SYN | ACK, 0));
    c.seq++;
    c.ack++;
    record(frame(c, true, ACK, 0));
    written += 3;
  }
  // Data and its ACK, connection after connection: each segment is new data. The frames are
  // built once per connection and their sequence numbers patched in place (TCP checksums are
  // then stale: the analysis, like tshark's by default, does not verify them).
  const SEQ_AT = 14 + 20 + 4;
  const templates = conns.map((c) => ({ data: frame(c, true, ACK | PSH, payloadBytes), ack: frame(c, false, ACK, 0) }));
  for (let i = 0; written + 2 <= packets; i = (i + 1) % conns.length) {
    const c = conns[i]!;
    const t = templates[i]!;
    t.data.writeUInt32BE(c.seq, SEQ_AT);
    record(t.data);
    c.seq = (c.seq + payloadBytes) >>> 0;
    t.ack.writeUInt32BE(c.seq, SEQ_AT + 4);
    record(t.ack);
    written += 2;
  }
  flush();
  closeSync(fd);
  return total;
}
