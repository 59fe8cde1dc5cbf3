import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MalformedInputError } from '../../errors.js';
import { PcapParser } from './reader.js';
import { decodeFrame, newDecodedTcp } from '../../analysis/pcap/decode.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'pcap');

function packetsOf(bytes: Buffer, chunk: number): string[] {
  const seen: string[] = [];
  const t = newDecodedTcp();
  const parser = new PcapParser((p) => {
    const kind = decodeFrame(p.linkType, p.buf, p.offset, p.capLen, p.origLen, t);
    seen.push(`${p.index} ${p.tsSec}.${p.tsNsec} ${p.linkType} ${p.capLen} ${kind} ${t.seq} ${t.seglen} ${p.buf.toString('hex', p.offset, p.offset + p.capLen)}`);
  });
  for (let at = 0; at < bytes.length; at += chunk) parser.push(bytes.subarray(at, at + chunk));
  parser.end();
  return seen;
}

test('every fixture reads the same whether it arrives whole, in 7-byte pieces or byte by byte', () => {
  for (const name of readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f))) {
    const bytes = readFileSync(join(FIXTURES, name));
    const whole = packetsOf(bytes, bytes.length);
    // Every format fixture holds the same 32-packet scenario; the corner-case, tunnel and ICMP
    // captures have their own.
    const own: Record<string, number> = { 'edge-cases-ns.pcap': 85, 'tunnels-ethernet-us-le.pcap': 99, 'icmp-errors-us-le.pcap': 23 };
    assert.equal(whole.length, own[name] ?? 32, name);
    assert.deepEqual(packetsOf(bytes, 7), whole, name);
    assert.deepEqual(packetsOf(bytes, 1), whole, name);
  }
});

test('microsecond and nanosecond files give the same instants to the microsecond', () => {
  const us = packetsOf(readFileSync(join(FIXTURES, 'ethernet-vlan-us-le.pcap')), 1 << 20).map((l) => l.split(' ')[1]);
  const ns = packetsOf(readFileSync(join(FIXTURES, 'raw-ns-be.pcap')), 1 << 20).map((l) => l.split(' ')[1]);
  // The scenario's instants carry 123 ns past the microsecond: the microsecond file drops them.
  const micro = (t: string | undefined): string => {
    const [sec = '', nsec = '0'] = (t ?? '').split('.');
    return `${sec}.${Math.floor(Number(nsec) / 1000)}`;
  };
  assert.deepEqual(ns.map(micro), us.map(micro));
  assert.ok(ns.every((t) => t!.endsWith('123')), 'nanoseconds kept');
});

test('an unfinished record at the end is a MalformedInputError naming the offset and the packet', () => {
  const bytes = readFileSync(join(FIXTURES, 'pcapng-two-interfaces.pcapng'));
  const parser = new PcapParser(() => undefined, 'x.pcapng');
  parser.push(bytes.subarray(0, bytes.length - 5));
  assert.throws(() => parser.end(), (e: unknown) => e instanceof MalformedInputError && /after packet 31/.test(e.message) && e.offset !== undefined);
});
