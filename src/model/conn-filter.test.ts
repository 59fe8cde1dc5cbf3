import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from './address.js';
import type { ConnFilter, ConnLeaf } from './conn-filter.js';
import { compileConnFilter, compileExpr, eitherAddress, eitherPort, formatExpr, splitExpr } from './conn-filter.js';
import { parseSsFilter } from './ss-filter.js';

const expr = (text: string) => parseSsFilter([text]).expr!;
const ends = (la: string, lp: number, ra: string, rp: number) => [{ address: la, port: lp }, { address: ra, port: rp }] as const;

test('address blocks match as the kernel does: IPv4 blocks also match IPv4-mapped addresses, IPv6 blocks never IPv4', () => {
  const v4 = compileExpr(expr('src 10.0.0.0/8'));
  assert.equal(v4(...ends('10.1.2.3', 1, '1.1.1.1', 2)), true);
  assert.equal(v4(...ends('::ffff:10.1.2.3', 1, '::1', 2)), true);
  assert.equal(v4(...ends('11.0.0.1', 1, '10.0.0.1', 2)), false);
  const v6 = compileExpr(expr('src ::/0'));
  assert.equal(v6(...ends('10.0.0.1', 1, '::1', 2)), false);
  assert.equal(v6(...ends('::ffff:10.0.0.1', 1, '::1', 2)), true);
  assert.equal(compileExpr(expr('dst 0.0.0.0/0'))(...ends('::1', 1, '2001:db8::1', 2)), false);
});

test('a host condition with a port needs both; * and :port leave the address free', () => {
  const m = compileExpr(expr('dst 10.0.0.1:80'));
  assert.equal(m(...ends('1.1.1.1', 5, '10.0.0.1', 80)), true);
  assert.equal(m(...ends('1.1.1.1', 5, '10.0.0.1', 81)), false);
  assert.equal(compileExpr(expr('dst *:80'))(...ends('1.1.1.1', 5, '::1', 80)), true);
  assert.equal(compileExpr(expr('dst *'))(...ends('1.1.1.1', 5, '::1', 1)), true);
});

test('the whole filter: states, families, expression and owners', () => {
  const f: ConnFilter = { states: ['ESTABLISHED'], families: [6], expr: eitherPort(443), pids: [7] };
  const match = compileConnFilter(f);
  const sock = { family: 6 as const, state: 'ESTABLISHED' as const, local: { address: '::1', port: 443 }, remote: { address: '::1', port: 5000 }, owners: [{ pid: 7, process: 'nginx' }] };
  assert.equal(match(sock), true);
  assert.equal(match({ ...sock, state: 'TIME_WAIT' }), false);
  assert.equal(match({ ...sock, family: 4 }), false);
  assert.equal(match({ ...sock, owners: [] }), false);
  assert.equal(compileConnFilter({ process: 'ngi' })(sock), true);
  assert.equal(compileConnFilter({ expr: eitherAddress(parseCidr('::1')) })(sock), true);
});

const portsOnly = (leaf: ConnLeaf): boolean => leaf.kind === 'port' || leaf.cidr === null;
const show = (e: ReturnType<typeof splitExpr>) => ({ kernel: e.kernel && formatExpr(e.kernel), user: e.user && formatExpr(e.user) });

test('a split gives the kernel what it can test that the expression implies, and user space the rest', () => {
  assert.deepEqual(show(splitExpr(expr('sport = :80 and dst 10.0.0.0/8'), portsOnly)), { kernel: 'sport = :80', user: 'dst 10.0.0.0/8' });
  // An `or` with an address inside cannot be narrowed by ports alone.
  assert.deepEqual(show(splitExpr(expr('sport = :80 or dst 10.0.0.0/8'), portsOnly)), { kernel: null, user: 'sport = :80 or dst 10.0.0.0/8' });
  // Within a conjunct, the testable part still narrows the kernel's side.
  assert.deepEqual(show(splitExpr(expr('( sport = :80 and dst 10.0.0.0/8 ) or sport = :81'), portsOnly)), { kernel: 'sport = :80 or sport = :81', user: '( sport = :80 and dst 10.0.0.0/8 ) or sport = :81' });
  // not(superset) is no superset: an inexact negation is left to user space whole.
  assert.deepEqual(show(splitExpr(expr('! ( sport = :80 and dst 10.0.0.0/8 )'), portsOnly)), { kernel: null, user: '! ( sport = :80 and dst 10.0.0.0/8 )' });
  assert.deepEqual(show(splitExpr(expr('! sport = :80'), portsOnly)), { kernel: '! sport = :80', user: null });
  assert.deepEqual(show(splitExpr(expr('dst *:443 or src 10.0.0.0/8'), () => true)), { kernel: 'dst *:443 or src 10.0.0.0/8', user: null });
  assert.deepEqual(splitExpr(undefined, portsOnly), { kernel: null, user: null });
});

test('kernel and user parts together select exactly what the expression selects', () => {
  const texts = ['sport = :80 or dst 10.0.0.0/8', '! ( dport > :1024 and src ::/0 ) and sport != :22', '( src 127.0.0.0/8 or dport = :443 ) dport < :2000', 'src *:80 or ! dst [::1]:443'];
  const addresses = ['127.0.0.1', '10.9.9.9', '::1', '2001:db8::1', '::ffff:127.0.0.1'];
  const ports = [22, 80, 443, 1500, 3000];
  for (const text of texts) {
    const e = expr(text);
    const whole = compileExpr(e);
    const { kernel, user } = splitExpr(e, portsOnly);
    const k = kernel === null ? () => true : compileExpr(kernel);
    const u = user === null ? () => true : compileExpr(user);
    for (const la of addresses) for (const ra of addresses) for (const lp of ports) for (const rp of ports) {
      const args = ends(la, lp, ra, rp);
      if (whole(...args)) assert.ok(k(...args), `kernel drops a match: ${text}`);
      assert.equal(k(...args) && u(...args), whole(...args), text);
    }
  }
});
