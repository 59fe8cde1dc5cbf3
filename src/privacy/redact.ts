/**
 * Redaction of sensitive data in payload bytes, in place: every matched byte becomes the mask
 * character, so packet and stream lengths do not change and a redacted capture still opens in
 * Wireshark with the same frame and segment sizes (the TCP checksum then no longer matches the
 * payload; Wireshark does not verify it by default).
 *
 * Kinds: Chinese resident ID numbers (18 digits, valid MOD 11-2 check digit), phone numbers
 * (Chinese mobile and landline, E.164), e-mail addresses, payment card numbers (13-19 digits,
 * Luhn-valid), and the operator's own patterns (config `privacy.patterns`).
 * A value split across two TCP segments is not seen whole and is not masked.
 */
import { ConfigError } from '../errors.js';
import { isLuhnValid, isValidChineseId } from './checks.js';

export type RedactionKind = 'id_card' | 'phone' | 'email' | 'bank_card';

export interface RedactionOptions {
  readonly kinds: readonly RedactionKind[];
  readonly patterns: readonly string[];
  /** One character; its byte replaces every masked byte. */
  readonly maskChar: string;
}

interface Rule {
  readonly kind: RedactionKind | 'pattern';
  readonly regex: RegExp;
  readonly valid?: (match: string) => boolean;
}

const digitsOnly = (s: string): string => s.replace(/[^0-9]/g, '');

const BUILT_IN: Record<RedactionKind, Rule[]> = {
  id_card: [{ kind: 'id_card', regex: /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g, valid: isValidChineseId }],
  bank_card: [{
    kind: 'bank_card',
    // 13-19 digits, optionally grouped by spaces or dashes as cards are printed.
    regex: /(?<![0-9])\d(?:[ -]?\d){12,18}(?![0-9])/g,
    valid: (m) => isLuhnValid(digitsOnly(m)) && !isValidChineseId(digitsOnly(m)),
  }],
  phone: [
    // Chinese mobile numbers (1[3-9] + 9 digits), with an optional +86 / 86 prefix.
    { kind: 'phone', regex: /(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])/g },
    // Landlines with an area code: 010-12345678, 0755-1234567.
    { kind: 'phone', regex: /(?<![0-9])0\d{2,3}-\d{7,8}(?![0-9])/g },
    // E.164 international numbers: +, country code, 7-14 more digits, optional separators.
    { kind: 'phone', regex: /(?<![0-9A-Za-z+])\+[1-9](?:[ -]?\d){7,14}(?![0-9])/g },
  ],
  email: [{ kind: 'email', regex: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g }],
};

export interface RedactionCounts {
  id_card: number;
  phone: number;
  email: number;
  bank_card: number;
  pattern: number;
}

export class Redactor {
  private readonly rules: Rule[];
  private readonly maskByte: number;
  readonly counts: RedactionCounts = { id_card: 0, phone: 0, email: 0, bank_card: 0, pattern: 0 };

  constructor(options: RedactionOptions) {
    // Order matters: ID numbers before card numbers (an 18-digit ID can pass Luhn by chance).
    const order: RedactionKind[] = ['id_card', 'bank_card', 'email', 'phone'];
    this.rules = order.filter((k) => options.kinds.includes(k)).flatMap((k) => BUILT_IN[k]);
    options.patterns.forEach((source, i) => {
      try {
        this.rules.push({ kind: 'pattern', regex: new RegExp(source, 'g') });
      } catch (error: unknown) {
        throw new ConfigError(`privacy.patterns[${i}]: not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    const code = options.maskChar.charCodeAt(0);
    this.maskByte = Number.isFinite(code) && code < 256 ? code : 0x2a;
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /** Mask sensitive data in `buf[start, end)` in place; returns how many values were masked. */
  redact(buf: Uint8Array, start = 0, end = buf.length): number {
    if (end <= start || this.rules.length === 0) return 0;
    // latin1 maps every byte to one character, so string indexes are byte offsets.
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
    let masked = 0;
    for (const rule of this.rules) {
      rule.regex.lastIndex = 0;
      for (let m = rule.regex.exec(text); m !== null; m = rule.regex.exec(text)) {
        if (m[0].length === 0) {
          rule.regex.lastIndex++;
          continue;
        }
        if (rule.valid !== undefined && !rule.valid(m[0])) continue;
        buf.fill(this.maskByte, start + m.index, start + m.index + m[0].length);
        this.counts[rule.kind]++;
        masked++;
      }
    }
    return masked;
  }

  /** Convenience for text (logs, dumps): same rules, returns the masked string. */
  redactText(text: string): string {
    const bytes = Buffer.from(text, 'latin1');
    this.redact(bytes);
    return bytes.toString('latin1');
  }
}
