import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWriteRequest } from './protobuf.js';
import { toTimeSeries } from './series.js';

test('one series with one sample encodes to the prometheus.WriteRequest bytes worked out by hand from prompb', () => {
  // Worked by hand from prompb/types.proto: Label{name="__name__", value="up"} is 14 bytes,
  // Sample{value=1.0, timestamp=1000} 12 bytes, the TimeSeries 30, the WriteRequest 32.
  const bytes = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestampMs: 1000 }] }]);
  assert.equal(
    bytes.toString('hex'),
    '0a1e' + // timeseries, 30 bytes
      '0a0e' + '0a085f5f6e616d655f5f' + '12027570' + // label __name__=up
      '120c' + '09000000000000f03f' + '10e807', // sample 1.0 @ 1000 ms
  );
});

test('timestamps past 2^32 ms and multi-byte strings keep their exact varints and lengths', () => {
  const ts = 1_764_611_234_567; // 2025-12-01, 41 bits
  const bytes = encodeWriteRequest([{ labels: [{ name: 'host', value: 'wéb' }], samples: [{ value: -0.5, timestampMs: ts }] }]);
  // varint of ts: 7 groups of 7 bits, low first.
  const varint: number[] = [];
  for (let n = ts; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      varint.push(n);
      break;
    }
    varint.push((n % 128) | 0x80);
  }
  const hex = Buffer.from(varint).toString('hex');
  assert.ok(bytes.toString('hex').endsWith(`10${hex}`));
  assert.ok(bytes.includes(Buffer.from('wéb')));
  assert.equal(bytes.length, 2 + 2 + (2 + 4 + 2 + 4) + 2 + (1 + 8 + 1 + varint.length));
});

test('two encoded requests concatenated hold both series, as one request would', () => {
  const a = { labels: [{ name: '__name__', value: 'a' }], samples: [{ value: 1, timestampMs: 1 }] };
  const b = { labels: [{ name: '__name__', value: 'b' }], samples: [{ value: 2, timestampMs: 2 }] };
  assert.deepEqual(Buffer.concat([encodeWriteRequest([a]), encodeWriteRequest([b])]), encodeWriteRequest([a, b]));
});

test('registry values become sorted series with the fleet labels overriding nothing of the metric but host', () => {
  const series = toTimeSeries(
    [{ name: 'tcpdiag_connections', values: [{ value: 3, labels: { state: 'ESTABLISHED' } }, { value: 0, labels: { state: '' } }] }],
    { host: 'web1', dc: 'fra1' },
    1234.4,
  );
  assert.deepEqual(series[0], {
    labels: [{ name: '__name__', value: 'tcpdiag_connections' }, { name: 'dc', value: 'fra1' }, { name: 'host', value: 'web1' }, { name: 'state', value: 'ESTABLISHED' }],
    samples: [{ value: 3, timestampMs: 1234 }],
  });
  assert.deepEqual(series[1]!.labels.map((l) => l.name), ['__name__', 'dc', 'host']);
});
