/**
 * Bytes as people read them in a debug assistant: a hex dump in the `hexdump -C` layout,
 * printable text with escapes, and the parsers for payloads typed on a command line
 * (`--hex "48 65 6c"`, `hello\r\n`). Pure functions: no I/O.
 */
import { UsageError } from '../errors.js';

const BYTES_PER_LINE = 16;

/**
 * `hexdump -C` style: offset, 16 hex bytes in two groups of 8, printable ASCII.
 * `00000000  48 65 6c 6c 6f 0a                                 |Hello.|`
 */
export function hexDump(data: Uint8Array, startOffset = 0): string {
  const lines: string[] = [];
  for (let at = 0; at < data.length; at += BYTES_PER_LINE) {
    const row = data.subarray(at, Math.min(at + BYTES_PER_LINE, data.length));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < BYTES_PER_LINE; i++) {
      if (i === 8) hex += ' ';
      const byte = row[i];
      if (byte === undefined) {
        hex += '   ';
        continue;
      }
      hex += byte.toString(16).padStart(2, '0') + ' ';
      ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    }
    lines.push(`${(startOffset + at).toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}

/** Space-free lowercase hex of the bytes: "48656c". */
export function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/**
 * Bytes as one line of text: printable ASCII as is, \r \n \t and \\ escaped, anything else as
 * \xNN. UTF-8 is not decoded on purpose: a debug view must show the exact bytes.
 */
export function printable(data: Uint8Array): string {
  let text = '';
  for (const byte of data) {
    if (byte === 0x0a) text += '\\n';
    else if (byte === 0x0d) text += '\\r';
    else if (byte === 0x09) text += '\\t';
    else if (byte === 0x5c) text += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += '\\x' + byte.toString(16).padStart(2, '0');
  }
  return text;
}

/**
 * Hex typed by a person: "48 65 6c", "48656c", "0x48,0x65", "48:65:6c". Separators are
 * spaces, commas, colons and dashes; an optional 0x prefix per byte.
 */
export function parseHexBytes(text: string, what = '--hex'): Buffer {
  const cleaned = text.trim().replace(/0x/gi, '').replace(/[\s,:-]+/g, '');
  if (cleaned.length === 0) throw new UsageError(`${what}: no bytes given`, 'write bytes in hex, e.g. --hex "48 65 6c 6c 6f"');
  if (!/^[0-9a-f]*$/i.test(cleaned)) {
    const bad = /[^0-9a-f]/i.exec(cleaned)?.[0] ?? '?';
    throw new UsageError(`${what}: "${bad}" is not a hex digit in "${text}"`, 'write bytes in hex, e.g. --hex "48 65 6c 6c 6f"');
  }
  if (cleaned.length % 2 !== 0) {
    throw new UsageError(`${what}: "${text}" has an odd number of hex digits`, 'every byte needs two digits: 0a, not a');
  }
  return Buffer.from(cleaned, 'hex');
}

/**
 * Text with C-style escapes as bytes: \n \r \t \0 \\ and \xNN; everything else is UTF-8.
 * Lets a user type `GET / HTTP/1.0\r\n\r\n` on a command line.
 */
export function parseEscapedText(text: string, what = 'text'): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch !== '\\' || i + 1 >= text.length) {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = text[++i] ?? '';
    const simple: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, '0': 0x00, '\\': 0x5c, e: 0x1b };
    if (next in simple) {
      bytes.push(simple[next] ?? 0);
    } else if (next === 'x') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/i.test(hex)) throw new UsageError(`${what}: "\\x${hex}" needs two hex digits`, 'write \\x0a for a newline byte');
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(0x5c, ...Buffer.from(next, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** A payload spec used by reply rules and the interactive client: `hex:48 65` or escaped text. */
export function parsePayloadSpec(spec: string, what: string): Buffer {
  return /^hex:/i.test(spec) ? parseHexBytes(spec.slice(4), what) : parseEscapedText(spec, what);
}
