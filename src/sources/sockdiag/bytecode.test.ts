import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileBytecode } from './bytecode.js';
import { compileExpr } from '../../model/conn-filter.js';
import { ipv4ToBytes, ipv6ToBytes, isIPv4 } from '../../model/address.js';
import { parseSsFilter } from '../../model/ss-filter.js';

const BC_JMP = 1, BC_S_GE = 2, BC_S_LE = 3, BC_D_GE = 4, BC_D_LE = 5, BC_S_COND = 7, BC_D_COND = 8;

interface Entry { family: 4 | 6; sport: number; dport: number; saddr: Uint8Array; daddr: Uint8Array }

/** inet_diag_bc_audit() (net/ipv4/inet_diag.c): the checks the kernel makes before it runs a program. */
function audit(p: Buffer): void {
  const boundaries = new Set<number>();
  for (let at = 0; at < p.length; at += p[at + 1]!) {
    boundaries.add(at);
    assert.ok(p[at + 1]! >= 4 && p[at + 1]! % 4 === 0, `yes at ${at}`);
  }
  boundaries.add(p.length);
  for (let at = 0; at < p.length; at += p[at + 1]!) {
    const no = p.readUInt16LE(at + 2);
    const target = at + no;
    assert.ok(no % 4 === 0 && no >= 4 && (boundaries.has(target) || target === p.length + 4), `no at ${at} -> ${target} of ${p.length}`);
  }
}

/** inet_diag_bc_run(), for ops this compiler emits. */
function run(p: Buffer, e: Entry): boolean {
  let pc = 0;
  let len = p.length;
  while (len > 0) {
    const code = p[pc]!;
    let yes = true;
    if (code === BC_JMP) yes = false;
    else if (code === BC_S_GE) yes = e.sport >= p.readUInt16LE(pc + 6);
    else if (code === BC_S_LE) yes = e.sport <= p.readUInt16LE(pc + 6);
    else if (code === BC_D_GE) yes = e.dport >= p.readUInt16LE(pc + 6);
    else if (code === BC_D_LE) yes = e.dport <= p.readUInt16LE(pc + 6);
    else if (code === BC_S_COND || code === BC_D_COND) yes = host(p, pc + 4, code === BC_S_COND, e);
    else assert.fail(`op ${code}`);
    const step = yes ? p[pc + 1]! : p.readUInt16LE(pc + 2);
    pc += step;
    len -= step;
  }
  return len === 0;
}

function host(p: Buffer, at: number, src: boolean, e: Entry): boolean {
  const family = p[at]!;
  const prefix = p[at + 1]!;
  const port = p.readInt32LE(at + 4);
  if (port !== -1 && port !== (src ? e.sport : e.dport)) return false;
  let addr = src ? e.saddr : e.daddr;
  if (family !== 0 && family !== (e.family === 4 ? 2 : 10)) {
    const mapped = e.family === 6 && family === 2 && addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
    if (!mapped) return false;
    addr = addr.subarray(12);
  }
  for (let bit = 0; bit < prefix; bit++) {
    if (((p[at + 8 + (bit >> 3)]! ^ addr[bit >> 3]!) & (0x80 >> (bit & 7))) !== 0) return false;
  }
  return true;
}

const bytes = (a: string): Uint8Array => (isIPv4(a) ? ipv4ToBytes(a) : ipv6ToBytes(a));

test('an empty condition sends no program; false is a lone jump past the end', () => {
  assert.equal(compileBytecode(parseSsFilter(['src *']).expr!), null);
  const never = compileBytecode({ kind: 'or', items: [] })!;
  assert.deepEqual([...never], [BC_JMP, 4, 8, 0]);
});

test('ss-shaped programs: a port compare is two ops, a host condition one with its address', () => {
  assert.deepEqual([...compileBytecode(parseSsFilter(['sport >= :1024']).expr!)!], [BC_S_GE, 8, 12, 0, 0, 0, 0, 4]);
  const h = compileBytecode(parseSsFilter(['dst 10.0.0.0/8:80']).expr!)!;
  assert.deepEqual([...h], [BC_D_COND, 16, 20, 0, 2, 8, 0, 0, 80, 0, 0, 0, 10, 0, 0, 0]);
});

test('compiled programs pass the kernel audit and select what the expression selects', () => {
  const texts = [
    'sport = :80', 'dport != :443', 'sport < :1024', 'sport > :1024', 'dport <= :22', 'dport >= :8080',
    'src 10.0.0.0/8', 'dst [::1]:443', 'src ::/0', 'dst 0.0.0.0/0', 'src ::ffff:10.0.0.0/104',
    '( sport = :80 or sport = :443 ) and ! dst 10.0.0.0/8', '! ( ! sport = :80 or ! dport = :81 )',
    'sport = :1 or sport = :2 or sport = :3 and dport > :10', '! ( src 127.0.0.0/8 and ( dport < :100 or dport > :60000 ) ) or src [::1]',
    'not not not sport = :22', '( ( ( sport = :22 ) ) )', 'src *:80 or dst *:80 and ! ( src 10.0.0.1 or dst 10.0.0.1 )',
  ];
  const addrs = ['10.0.0.1', '10.200.0.9', '127.0.0.1', '192.168.1.1', '::1', '2001:db8::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1'];
  const ports = [0, 1, 2, 3, 22, 80, 81, 443, 1023, 1024, 1025, 8080, 60001, 65535];
  for (const text of texts) {
    const e = parseSsFilter([text]).expr!;
    const program = compileBytecode(e)!;
    audit(program);
    const expected = compileExpr(e);
    for (const sa of addrs) for (const da of addrs) {
      const family = isIPv4(sa) ? 4 : 6;
      if ((isIPv4(da) ? 4 : 6) !== family) continue;
      for (const sp of ports) for (const dp of ports) {
        const entry = { family, sport: sp, dport: dp, saddr: bytes(sa), daddr: bytes(da) } as const;
        assert.equal(run(program, entry), expected({ address: sa, port: sp }, { address: da, port: dp }), `${text} on ${sa}:${sp} -> ${da}:${dp}`);
      }
    }
  }
});
