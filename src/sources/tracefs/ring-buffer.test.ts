import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRingBufferPage, RB_MISSED_EVENTS, RB_MISSED_STORED } from './ring-buffer.js';
import { parseEventFormat } from './format.js';
import { buildDecoder, TCP_TRACEPOINTS } from './tcp-events.js';
import type { RawTcpEvent } from '../../model/kernel-event.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'tracefs');

/** Pages recorded from trace_pipe_raw on kernel 6.18: [u32 length, u32 0, bytes] each. */
function fixturePages(name: string): Buffer[] {
  const data = readFileSync(join(FIXTURES, name));
  const pages: Buffer[] = [];
  for (let off = 0; off + 8 <= data.length; ) {
    const len = data.readUInt32LE(off);
    pages.push(data.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  return pages;
}

function decodeFixture(): RawTcpEvent[] {
  const decoders = new Map<number, ReturnType<typeof buildDecoder>>();
  for (const spec of TCP_TRACEPOINTS) {
    const format = parseEventFormat(readFileSync(join(FIXTURES, `${spec.event}.format`), 'utf8'));
    decoders.set(format.id, buildDecoder(spec, format));
  }
  const events: RawTcpEvent[] = [];
  for (const page of fixturePages('two-connections-and-refused.pages')) {
    parseRingBufferPage(page, page.length, {
      event: (buf, offset, _len, tsNs) => {
        const e = decoders.get(buf.readUInt16LE(offset))?.(buf, offset, tsNs, 0);
        if (e) events.push({ ...e });
      },
      lost: () => assert.fail('the fixture has no lost events'),
    });
  }
  return events;
}

test('a real trace_pipe_raw page decodes into the connections it recorded', () => {
  const events = decodeFixture();
  assert.equal(events.length, 26);
  const port = 45999;
  // Listener, two connections (5 transitions per side), the listener closing, then a refused connect.
  const states = events.filter((e) => e.kind === 'state').map((e) => `${e.oldState}>${e.newState}`);
  assert.deepEqual(states.slice(0, 11), ['7>10', '7>2', '2>1', '10>3', '3>1', '1>4', '1>8', '8>9', '4>5', '5>7', '9>7']);
  assert.deepEqual(states.slice(-3), ['10>7', '7>2', '2>7']);
  const first = events[1]!;
  assert.equal(first.localPort, 0, 'the SYN_SENT transition fires before a local port is chosen');
  assert.equal(first.remotePort, port);
  assert.equal(first.remoteAddress, '127.0.0.1');
  assert.equal(first.family, 4);
  // Passive-open transitions run in softirq: their common_pid is not the owner.
  assert.equal(events[3]!.inInterrupt, true);
  assert.equal(events[1]!.inInterrupt, false);
  const sent = events.find((e) => e.kind === 'send-reset')!;
  assert.equal(sent.reason, 'NO_SOCKET');
  assert.equal(sent.localPort, port);
  assert.equal(sent.skaddr, 0, 'a reset for no socket carries no socket');
  assert.ok(events.some((e) => e.kind === 'receive-reset' && e.remotePort === port));
  // Timestamps only go forward within one CPU's page.
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.tsNs >= events[i - 1]!.tsNs);
  // One socket's events share its key.
  const client = events.filter((e) => e.skaddr === first.skaddr && e.kind === 'state');
  assert.ok(client.length >= 5);
});

function page(records: Array<{ header: number; extra?: number[] }>, flags = 0, missed?: number): Buffer {
  const buf = Buffer.alloc(4096);
  buf.writeUInt32LE(1000, 0); // page timestamp
  let pos = 16;
  for (const r of records) {
    buf.writeUInt32LE(r.header >>> 0, pos);
    pos += 4;
    for (const w of r.extra ?? []) {
      buf.writeUInt32LE(w >>> 0, pos);
      pos += 4;
    }
  }
  const data = pos - 16;
  buf.writeUInt32LE((data | flags) >>> 0, 8);
  if (missed !== undefined) {
    buf.writeUInt32LE(missed, pos);
  }
  return buf;
}

test('time extends, padding and data records are walked with their timestamps', () => {
  // type_len 2 (8 bytes of data) with delta 5; a time extend adding (1 << 27) + 3; padding with
  // a length; another data record with delta 1.
  const buf = page([
    { header: (5 << 5) | 2, extra: [0x1111, 0x2222] },
    { header: (3 << 5) | 30, extra: [1] },
    { header: (7 << 5) | 29, extra: [4] }, // padding: 4 + array[0] bytes in all
    { header: (1 << 5) | 1, extra: [0x3333] },
  ]);
  const seen: Array<[number, number, number]> = [];
  const n = parseRingBufferPage(buf, buf.length, {
    event: (b, offset, length, tsNs) => seen.push([b.readUInt32LE(offset), length, tsNs]),
    lost: () => assert.fail('no loss here'),
  });
  assert.equal(n, 2);
  assert.deepEqual(seen[0], [0x1111, 8, 1005]);
  assert.deepEqual(seen[1], [0x3333, 4, 1005 + 3 + 2 ** 27 + 7 + 1]);
});

test('the kernel\'s lost-events flags are reported with the stored count', () => {
  const buf = page([{ header: (1 << 5) | 1, extra: [7] }], RB_MISSED_EVENTS | RB_MISSED_STORED, 42);
  const lost: Array<number | null> = [];
  parseRingBufferPage(buf, buf.length, { event: () => undefined, lost: (count) => lost.push(count) });
  assert.deepEqual(lost, [42]);
  const unknown = page([{ header: (1 << 5) | 1, extra: [7] }], RB_MISSED_EVENTS);
  const lost2: Array<number | null> = [];
  parseRingBufferPage(unknown, unknown.length, { event: () => undefined, lost: (count) => lost2.push(count) });
  assert.deepEqual(lost2, [null], 'missed without a stored count is still reported');
});

test('a page whose commit runs past its end stops at the last whole record', () => {
  const buf = page([{ header: (1 << 5) | 1, extra: [9] }]);
  buf.writeUInt32LE(100000, 8); // corrupt commit
  let events = 0;
  assert.doesNotThrow(() => parseRingBufferPage(buf.subarray(0, 24), 24, { event: () => events++, lost: () => undefined }));
  assert.equal(events, 1);
});
