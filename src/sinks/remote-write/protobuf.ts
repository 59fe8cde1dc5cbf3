/**
 * The Prometheus remote-write 1.0 body before compression: a protobuf `prometheus.WriteRequest`
 * (prompb/remote.proto, types.proto), encoded by hand. The message is four tiny types:
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: ms since the epoch
 *
 * so an encoder is ~80 lines with no dependency (a generic protobuf runtime plus generated code
 * would be thousands). Two sizes are computed first and the bytes written once into one
 * buffer, no per-field allocation. A protobuf message's repeated fields may arrive in several
 * pieces: two encoded WriteRequests concatenated are one WriteRequest holding both series
 * lists, which is how the exporter batches stored collections without decoding them.
 *
 * The spec (prometheus.io/docs/specs/remote_write_spec) wants each series' labels sorted by
 * name, names unique, and a `__name__` label; `toTimeSeries` (series.ts) builds them so.
 */

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface TimeSeries {
  readonly labels: readonly Label[];
  readonly samples: readonly { readonly value: number; readonly timestampMs: number }[];
}

// Tags: (field number << 3) | wire type; wire types 0 varint, 1 fixed64, 2 length-delimited.
const TAG_1_LEN = 0x0a;
const TAG_2_LEN = 0x12;
const TAG_1_FIXED64 = 0x09;
const TAG_2_VARINT = 0x10;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function labelSize(l: Label): number {
  const n = Buffer.byteLength(l.name);
  const v = Buffer.byteLength(l.value);
  return 1 + varintSize(n) + n + 1 + varintSize(v) + v;
}

function sampleSize(timestampMs: number): number {
  return 1 + 8 + 1 + varintSize(timestampMs);
}

function seriesSize(s: TimeSeries): number {
  let size = 0;
  for (const l of s.labels) {
    const ls = labelSize(l);
    size += 1 + varintSize(ls) + ls;
  }
  for (const sample of s.samples) {
    const ss = sampleSize(sample.timestampMs);
    size += 1 + varintSize(ss) + ss;
  }
  return size;
}

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.offset++] = b;
  }

  /** Unsigned varint; exact for integers below 2^53 (ms timestamps are below 2^41). */
  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.byte(n);
  }

  string(tag: number, text: string): void {
    this.byte(tag);
    this.varint(Buffer.byteLength(text));
    this.offset += this.buf.write(text, this.offset, 'utf8');
  }
}

/** A WriteRequest holding `series`; timestamps must be non-negative integers (ms). */
export function encodeWriteRequest(series: readonly TimeSeries[]): Buffer {
  const sizes = series.map(seriesSize);
  let total = 0;
  for (const size of sizes) total += 1 + varintSize(size) + size;
  const w = new Writer(Buffer.allocUnsafe(total));
  series.forEach((s, i) => {
    w.byte(TAG_1_LEN);
    w.varint(sizes[i]!);
    for (const l of s.labels) {
      w.byte(TAG_1_LEN);
      w.varint(labelSize(l));
      w.string(TAG_1_LEN, l.name);
      w.string(TAG_2_LEN, l.value);
    }
    for (const sample of s.samples) {
      w.byte(TAG_2_LEN);
      w.varint(sampleSize(sample.timestampMs));
      w.byte(TAG_1_FIXED64);
      w.buf.writeDoubleLE(sample.value, w.offset);
      w.offset += 8;
      w.byte(TAG_2_VARINT);
      w.varint(sample.timestampMs);
    }
  });
  return w.buf;
}
