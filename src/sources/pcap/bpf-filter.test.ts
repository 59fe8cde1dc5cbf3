import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { combinePcapFilters, connFilterToPcap } from './bpf-filter.js';
import { parseSsFilter } from '../../model/ss-filter.js';
import { eitherAddress, eitherPort } from '../../model/conn-filter.js';
import { parseCidr } from '../../model/address.js';
import { findExecutable, isRoot } from '../../platform/capabilities.js';

const pcap = (text: string): string | null => connFilterToPcap({ expr: parseSsFilter([text]).expr! });

test('a filter becomes pcap-filter(7) text: src/dst are the packet\'s sender and receiver', () => {
  assert.equal(pcap('sport = :80'), '(tcp and src port 80)');
  assert.equal(pcap('dport != :22'), '(tcp and not dst port 22)');
  assert.equal(pcap('sport >= :1024'), '(tcp and src portrange 1024-65535)');
  assert.equal(pcap('dport < :1024'), '(tcp and dst portrange 0-1023)');
  assert.equal(pcap('dport > :65535'), '(tcp and (tcp and not tcp))');
  // libpcap refuses host bits in a "net": the block is written as its network address.
  assert.equal(pcap('dst 10.1.2.3/8:443'), '(tcp and (dst net 10.0.0.0/8 and dst port 443))');
  assert.equal(pcap('src [::1]'), '(tcp and src host ::1)');
  assert.equal(pcap('src *'), null);
  assert.equal(connFilterToPcap({ families: [6], expr: eitherPort(443) }), '(ip6 and tcp and (src port 443 or dst port 443))');
  assert.equal(connFilterToPcap({ families: [4, 6] }), null);
  assert.deepEqual(combinePcapFilters(['port', '80'], { expr: eitherAddress(parseCidr('2001:db8::/32')) }), ['(', 'port', '80', ')', 'and', '(tcp and (src net 2001:db8::/32 or dst net 2001:db8::/32))']);
  assert.deepEqual(combinePcapFilters(['port', '80'], {}), ['port', '80']);
});

test('tcpdump compiles every form the translation writes', { skip: !isRoot() || findExecutable('tcpdump') === null ? 'needs root and tcpdump (tcpdump -d opens lo)' : false }, () => {
  const compile = (text: string) => spawnSync('tcpdump', ['-d', '-i', 'lo', connFilterToPcap({ expr: parseSsFilter([text]).expr! })!], { encoding: 'utf8' });
  for (const text of ['sport = :80 or ! dport <= :22', '( src 10.0.0.0/8:80 or dst [2001:db8::1]:443 ) and sport > :1023', '! ( dst 10.0.0.0/8 or src ::/0 )', 'dport > :65534 or sport < :1']) {
    const r = compile(text);
    assert.equal(r.status, 0, `${text}: ${r.stderr}`);
  }
  // What can never match is refused by tcpdump's optimiser, with its own words.
  assert.match(compile('dport > :65535 or sport < :0').stderr, /rejects all packets/);
});
