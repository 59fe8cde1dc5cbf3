import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { cidrContains, formatIpv6, ipFamily, ipv6ToBytes, parseCidr } from './address.js';

test('IPv6 formatting follows RFC 5952 and prints v4-mapped addresses dotted', () => {
  const cases = ['::1', '::', '2001:db8::1', '2001:db8:0:1:1:1:1:1', 'fe80::1:0:0:1', '::ffff:10.1.2.3', '1::'];
  for (const text of cases) assert.equal(formatIpv6(ipv6ToBytes(text)), text);
  assert.equal(formatIpv6(ipv6ToBytes('2001:0db8:0000:0000:0001:0000:0000:0001')), '2001:db8::1:0:0:1');
});

test('CIDR matching for IPv4, IPv6 and IPv4-mapped addresses', () => {
  const ten = parseCidr('10.0.0.0/8');
  assert.ok(cidrContains(ten, '10.200.3.4'));
  assert.ok(!cidrContains(ten, '11.0.0.1'));
  assert.ok(cidrContains(ten, '::ffff:10.0.0.9'));
  assert.ok(!cidrContains(ten, '2001:db8::1'));
  const doc = parseCidr('2001:db8::/32');
  assert.ok(cidrContains(doc, '2001:db8:ffff::1'));
  assert.ok(!cidrContains(doc, '2001:db9::1'));
  assert.ok(!cidrContains(doc, '10.0.0.1'));
  assert.ok(cidrContains(parseCidr('192.168.1.0/25'), '192.168.1.127'));
  assert.ok(!cidrContains(parseCidr('192.168.1.0/25'), '192.168.1.128'));
  assert.ok(cidrContains(parseCidr('127.0.0.1'), '127.0.0.1'));
  assert.ok(cidrContains(parseCidr('0.0.0.0/0'), '8.8.8.8'));
});

test('bad CIDRs say what is wrong', () => {
  assert.throws(() => parseCidr('10.0.0.0/40'), /prefix length must be an integer 0-32/);
  assert.throws(() => parseCidr('::/129'), /0-128/);
  assert.throws(() => parseCidr('example.com'), /not an IP address or CIDR block/);
  assert.throws(() => parseCidr('10.0.0/8'), /not an IP address/);
});

test('ipFamily agrees with node:net isIP on addresses, near-misses and garbage', () => {
  const cases = [
    '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '1.2.3.4 ',
    '::', '::1', '1::', '2001:db8::1', '2001:db8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3',
    ':::', '1:::2', ':1::2', '1::2:', '::ffff:10.1.2.3', '::ffff:10.1.2', '::10.1.2.3', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0', 'fe80::1%', 'fe80::1%2', '12345::', 'g::1', '::FFFF:1.2.3.4', 'a:b:c:d:e:f:1.2.3.4', '1.2.3.4::', '', 'example.com',
    '::1.2.3.4:5', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4::5:6:7:8',
  ];
  for (const text of cases) assert.equal(ipFamily(text), isIP(text), text);
});
