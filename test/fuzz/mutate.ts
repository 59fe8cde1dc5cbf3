/**
 * Deterministic mutations of capture files: case `i` of seed `s` is always the same bytes, so
 * any failure replays from its number alone.
 */

/** xorshift32. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** The random source of case `index` (independent of every other case). */
export function caseRandom(seed: number, index: number): () => number {
  return rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** Record [offset, capLen] pairs of a classic pcap file (empty for pcapng or garbage). */
export function pcapRecords(b: Buffer): Array<[number, number]> {
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const be = b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d;
  if (!le && !be) return [];
  const out: Array<[number, number]> = [];
  for (let pos = 24; pos + 16 <= b.length; ) {
    const cap = le ? b.readUInt32LE(pos + 8) : b.readUInt32BE(pos + 8);
    if (pos + 16 + cap > b.length) break;
    out.push([pos, cap]);
    pos += 16 + cap;
  }
  return out;
}

/**
 * One mutation of `input`. Half of them damage the file format (truncation, huge lengths,
 * garbage, spliced slices); the other half damage the packets inside while leaving the file
 * readable (bits of link, IP and TCP headers, TCP data offsets, timestamps), which is where the
 * analysis can disagree with tshark.
 */
export function mutate(input: Buffer, random: () => number): Buffer {
  const b = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  const records = pcapRecords(b);
  const kind = pick(records.length > 0 ? 9 : 5);
  switch (kind) {
    case 0: // truncate anywhere
      return b.subarray(0, pick(b.length));
    case 1: // flip a few bits anywhere
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    case 2: // a huge or odd 32-bit length somewhere (record or block length fields)
      b.writeUInt32LE([0xffffffff, 0x7fffffff, 0x10000000, 262145, 0, 1, 3][pick(7)]!, pick(b.length - 4) & ~3);
      return b;
    case 3: // overwrite a run with garbage
      for (let i = pick(b.length), n = i + 1 + pick(64); i < n && i < b.length; i++) b[i] = pick(256);
      return b;
    case 4: { // duplicate or drop a slice
      const from = pick(b.length);
      const to = Math.min(b.length, from + pick(200));
      return random() < 0.5 ? Buffer.concat([b.subarray(0, to), b.subarray(from)]) : Buffer.concat([b.subarray(0, from), b.subarray(to)]);
    }
    case 5: // bit flips in the first 80 bytes of a few frames (link, IP, TCP headers)
      for (let j = 0, n = 1 + pick(4); j < n; j++) {
        const [at, cap] = records[pick(records.length)]!;
        if (cap > 0) b[at + 16 + pick(Math.min(cap, 80))]! ^= 1 << pick(8);
      }
      return b;
    case 6: // a byte of a frame's headers set to an extreme value
      for (let j = 0, n = 1 + pick(3); j < n; j++) {
        const [at, cap] = records[pick(records.length)]!;
        if (cap > 0) b[at + 16 + pick(Math.min(cap, 80))] = [0, 0xff, 0x0f, 0xf0, 0x50, 0x60][pick(6)]!;
      }
      return b;
    case 7: // timestamps: a record's seconds or fraction bits
      for (let j = 0, n = 1 + pick(3); j < n; j++) {
        const [at] = records[pick(records.length)]!;
        b[at + pick(8)]! ^= 1 << pick(8);
      }
      return b;
    default: { // swap two records (reordering)
      if (records.length < 2) return b;
      const x = records[pick(records.length)]!;
      const y = records[pick(records.length)]!;
      if (x[0] === y[0]) return b;
      const [first, second] = x[0] < y[0] ? [x, y] : [y, x];
      const rec = (r: [number, number]): Buffer => b.subarray(r[0], r[0] + 16 + r[1]);
      return Buffer.concat([b.subarray(0, first[0]), rec(second), b.subarray(first[0] + 16 + first[1], second[0]), rec(first), b.subarray(second[0] + 16 + second[1])]);
    }
  }
}
