/**
 * Text to numbers, one rule each, for every flag, config value and spec that takes a count, a
 * number, a duration or a size. The rules:
 * - integers are decimal digits only: `0x50`, `1e3`, `+5` and `80.0` are refused, and a value
 *   past the range (`99999999999999999999`) is refused rather than rounded;
 * - `inf` and `nan` are named as what they are;
 * - a duration is a number with a unit, `ms`, `s`, `m` or `h`, or several (`1h30m`); a bare
 *   number is seconds everywhere, as in wrk, ss, watch and bcc's tools;
 * - a size is bytes, or a binary multiple with `k`, `m` or `g` (`64k` = 65536).
 * Each parser throws a UsageError whose message quotes the value (clipped: see show-value.ts)
 * and states the allowed range; the caller prefixes the flag or key that held it.
 */
import { UsageError } from '../errors.js';
import { showValue } from './show-value.js';

export interface NumberRange {
  /** What the value is, for messages: "a port", "a count". */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** The minimum itself is not allowed (a rate must be more than 0). */
  readonly minExclusive?: boolean;
}

/** "1-65535", "more than 0, at most 100". */
export function rangeText(range: NumberRange, format: (n: number) => string = String): string {
  return range.minExclusive === true ? `more than ${format(range.min)}, at most ${format(range.max)}` : `${format(range.min)}-${format(range.max)}`;
}

const DECIMAL_INTEGER = /^\d+$/;
const DECIMAL_NUMBER = /^\d+(?:\.\d+)?$/;

/** Named non-numbers first: the message for them should not be "not a decimal integer". */
function refuseNonNumbers(text: string, expected: string): void {
  const t = text.trim().toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) throw new UsageError(`${showValue(text)} is infinite: expected ${expected}`);
  if (/^[+-]?nan$/.test(t)) throw new UsageError(`${showValue(text)} is not a number (NaN): expected ${expected}`);
  if (/^[+-]?0x[0-9a-f]+$/.test(t)) throw new UsageError(`${showValue(text)} is hexadecimal: write the number in decimal digits (expected ${expected})`);
  if (/^[+-]?[\d.]+e[+-]?\d+$/.test(t)) throw new UsageError(`${showValue(text)} has an exponent: write the number in decimal digits (expected ${expected})`);
  if (/^-\d/.test(t)) throw new UsageError(`${showValue(text)} is negative: expected ${expected}`);
}

function checkRange(value: number, text: string, range: NumberRange, format: (n: number) => string = String): number {
  const low = range.minExclusive === true ? value <= range.min : value < range.min;
  if (low || value > range.max || !Number.isFinite(value)) {
    throw new UsageError(`${showValue(text)} is out of range: ${range.name} is ${rangeText(range, format)}`);
  }
  return value;
}

/** Decimal digits only, within the range. */
export function parseDecimalInteger(text: string, range: NumberRange): number {
  const expected = `${range.name}, ${rangeText(range)}`;
  const trimmed = text.trim();
  if (!DECIMAL_INTEGER.test(trimmed)) {
    refuseNonNumbers(trimmed, expected);
    throw new UsageError(`${showValue(text)} is not a decimal integer: expected ${expected}`);
  }
  return checkRange(Number(trimmed), text, range);
}

/** Digits with an optional decimal fraction ("2.5"), within the range. */
export function parseDecimalNumber(text: string, range: NumberRange): number {
  const expected = `${range.name}, ${rangeText(range)}`;
  const trimmed = text.trim();
  if (!DECIMAL_NUMBER.test(trimmed)) {
    refuseNonNumbers(trimmed, expected);
    throw new UsageError(`${showValue(text)} is not a number: expected ${expected} (digits, e.g. 2.5)`);
  }
  return checkRange(Number(trimmed), text, range);
}

// ---------------------------------------------------------------------------------------------
// Durations

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The longest duration anything accepts: 10,000 hours (about 417 days). Node's timers hold at
 * most 2^31-1 ms (about 24.8 days) and fire after 1 ms past that, so waits that long are
 * chained (platform/long-timer.ts).
 */
export const MAX_DURATION_MS = 10_000 * 3_600_000;

/** How durations are written, for --help and errors. */
export const DURATION_SYNTAX = '500ms, 10s, 2m, 1h or 1h30m; a bare number is seconds';

export interface DurationRange {
  readonly minMs: number;
  readonly maxMs: number;
  /** 0 is allowed besides minMs..maxMs (e.g. "no timeout"). */
  readonly allowZero?: boolean;
}

/** From 1 ms to MAX_DURATION_MS: the default range of a duration. */
export const ANY_DURATION: DurationRange = { minMs: 1, maxMs: MAX_DURATION_MS };

/** "1.5 s", "250 ms", "2 h", "1 h 30 m": the inverse of parseDurationMs for round values. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0 s';
  if (ms < 1000 || ms % 1000 !== 0) return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

/** Compact form for help text: 1ms, 24h, 10000h. */
function compactDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function durationRangeText(range: DurationRange): string {
  return `${range.allowZero === true ? '0 or ' : ''}${compactDuration(range.minMs)}-${compactDuration(range.maxMs)}`;
}

/** A duration in milliseconds (rounded to whole milliseconds), within the range. */
export function parseDurationMs(text: string, range: DurationRange = ANY_DURATION): number {
  const trimmed = text.trim().toLowerCase();
  const expected = `a duration, ${durationRangeText(range)} (${DURATION_SYNTAX})`;
  let ms: number;
  if (DECIMAL_NUMBER.test(trimmed)) {
    ms = Number(trimmed) * DURATION_UNIT_MS.s;
  } else if (/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(trimmed)) {
    ms = 0;
    for (const part of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      ms += Number(part[1]) * DURATION_UNIT_MS[part[2] as keyof typeof DURATION_UNIT_MS];
    }
  } else {
    refuseNonNumbers(trimmed.replace(/(ms|s|m|h)$/, ''), expected);
    throw new UsageError(`${showValue(text)} is not a duration: write ${DURATION_SYNTAX}`);
  }
  ms = Math.round(ms);
  if (ms === 0 && range.allowZero === true) return 0;
  if (!(ms >= range.minMs && ms <= range.maxMs)) {
    throw new UsageError(`${showValue(text)} is out of range: expected ${durationRangeText(range)}`);
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Sizes

const SIZE_MULTIPLIER = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;

/** "64", "1k", "64K", "10MB", "1GiB" -> bytes (binary multiples), within the range. */
export function parseSizeBytes(text: string, range: NumberRange): number {
  const trimmed = text.trim();
  const expected = `${range.name}, ${rangeText(range, formatBytes)}`;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(trimmed);
  if (match === null) {
    refuseNonNumbers(trimmed.replace(/[kmg]?(i?b)?$/i, ''), expected);
    throw new UsageError(`${showValue(text)} is not a size: write 64, 1k, 64k or 10M (expected ${expected})`);
  }
  const unit = (match[2] ?? '').toLowerCase() as keyof typeof SIZE_MULTIPLIER;
  return checkRange(Math.round(Number(match[1]) * SIZE_MULTIPLIER[unit]), text, range, formatBytes);
}

/** 65536 -> "64k", 1048576 -> "1M", 1000 -> "1000". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
