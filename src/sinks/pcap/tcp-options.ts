/**
 * TCP options as tcpdump prints them (print-tcp.c): `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`.
 * SACK edges are shown relative to `sackBase` (the conversation's base of the other direction,
 * 0 for absolute numbers).
 */

const NAMES: Readonly<Record<number, string>> = {
  0: 'eol', 1: 'nop', 2: 'mss', 3: 'wscale', 4: 'sackOK', 5: 'sack', 6: 'echo', 7: 'echoreply', 8: 'TS', 11: 'cc',
  12: 'ccnew', 13: 'ccecho', 19: 'md5', 20: 'scps', 21: 'snack', 28: 'uto', 29: 'tcp-ao', 30: 'mptcp', 34: 'tfo',
  253: 'exp', 254: 'exp',
};

export function tcpOptionsText(buf: Buffer, pos: number, end: number, sackBase: number): { text: string; bad: boolean } {
  const parts: string[] = [];
  while (pos < end) {
    const kind = buf[pos]!;
    const name = NAMES[kind] ?? `unknown-${kind}`;
    if (kind === 0) {
      // End of option list: tcpdump stops here.
      parts.push(name);
      break;
    }
    if (kind === 1) {
      parts.push(name);
      pos++;
      continue;
    }
    if (pos + 1 >= end) return { text: `${parts.join(',')}${parts.length > 0 ? ',' : ''}${name}[bad opt]`, bad: true };
    const len = buf[pos + 1]!;
    if (len < 2 || pos + len > end) return { text: `${parts.join(',')}${parts.length > 0 ? ',' : ''}${name}[bad opt]`, bad: true };
    const data = pos + 2;
    const datalen = len - 2;
    if (kind === 2 && datalen === 2) parts.push(`${name} ${buf.readUInt16BE(data)}`);
    else if (kind === 3 && datalen === 1) parts.push(`${name} ${buf[data]}`);
    else if (kind === 4 && datalen === 0) parts.push(name);
    else if (kind === 8 && datalen === 8) parts.push(`${name} val ${buf.readUInt32BE(data)} ecr ${buf.readUInt32BE(data + 4)}`);
    else if (kind === 5 && datalen % 8 === 0) {
      let s = `${name} ${datalen / 8} `;
      for (let i = 0; i < datalen; i += 8) s += `{${(buf.readUInt32BE(data + i) - sackBase) >>> 0}:${(buf.readUInt32BE(data + i + 4) - sackBase) >>> 0}}`;
      parts.push(s);
    } else {
      parts.push(datalen > 0 ? `${name} 0x${buf.toString('hex', data, data + datalen)}` : name);
    }
    pos += len;
  }
  return { text: parts.join(','), bad: false };
}
