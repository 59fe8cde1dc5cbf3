import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GeoIp } from './geoip.js';
import { TcpdiagError } from '../errors.js';

// The CC0 ip-location-db country file the dashboard test reads (a devDependency, pinned by the lockfile).
const FILE = join(import.meta.dirname, '..', '..', '..', 'node_modules', '@ip-location-db', 'geo-whois-asn-country-mmdb', 'geo-whois-asn-country.mmdb');

test('a MaxMind DB country file gives the country of IPv4, IPv6 and v4-mapped addresses, and none for private ones or "other"', () => {
  const g = GeoIp.open(FILE);
  assert.equal(g.country('193.0.6.139'), 'NL');
  assert.equal(g.country('::ffff:193.0.6.139'), 'NL');
  assert.equal(g.country('2001:67c:2e8::1'), 'NL');
  assert.equal(g.country('210.130.0.1'), 'JP');
  assert.equal(g.country('10.0.0.1'), null);
  assert.equal(g.country('127.0.0.1'), null);
  assert.equal(g.country('other'), null);
});

test('a missing file and a file that is not a MaxMind DB are one-line errors that say what to set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-geoip-'));
  try {
    assert.throws(() => GeoIp.open(join(dir, 'none.mmdb')), (e: unknown) => e instanceof TcpdiagError && e.code === 'TCPDIAG_FILE_UNREADABLE' && !e.message.includes('\n'));
    const text = join(dir, 'text.mmdb');
    writeFileSync(text, 'not a database\n');
    assert.throws(() => GeoIp.open(text), (e: unknown) => e instanceof TcpdiagError && e.code === 'TCPDIAG_FILE_REFUSED' && /not a MaxMind DB file/.test(e.message) && /agent\.geoip_file/.test(e.hint ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
