/**
 * Parsers for flag values, shared by every command. Each wraps one rule of model/units.ts with
 * one range of model/limits.ts and says what it accepts, which --help shows after the flag's
 * description (flag-conventions.ts adds it, and names the flag in every refusal).
 */
import { InvalidArgumentError } from 'commander';
import { ANY_DURATION, durationRangeText, formatBytes, parseDecimalInteger, parseDecimalNumber, parseDurationMs, parseSizeBytes, rangeText } from '../model/units.js';
import type { DurationRange, NumberRange } from '../model/units.js';
import { COUNT, MSS, PID, PORT } from '../model/limits.js';
import { showValue } from '../model/show-value.js';

/** A commander argParser that also says what it accepts ("1-65535", "1ms-10000h"). */
export interface FlagParser<T> {
  (text: string, previous?: unknown): T;
  readonly accepts?: string;
  /** The value is a duration: --help explains the syntax once per command. */
  readonly isDuration?: boolean;
  /** The only values it takes (shell completion offers them). */
  readonly choices?: readonly string[];
}

function parser<T>(parse: (text: string) => T, accepts: string, isDuration = false): FlagParser<T> {
  return Object.assign((text: string) => parse(text), { accepts, isDuration });
}

/** Decimal digits within the range. */
export function integer(range: NumberRange): FlagParser<number> {
  return parser((text) => parseDecimalInteger(text, range), rangeText(range));
}

/** A number with an optional fraction within the range. */
export function decimal(range: NumberRange): FlagParser<number> {
  return parser((text) => parseDecimalNumber(text, range), rangeText(range));
}

/** A duration in milliseconds (a bare number is seconds). */
export function duration(range: DurationRange = ANY_DURATION): FlagParser<number> {
  return parser((text) => parseDurationMs(text, range), durationRangeText(range), true);
}

/** A size in bytes (64, 1k, 10M; binary multiples). */
export function size(range: NumberRange): FlagParser<number> {
  return parser((text) => parseSizeBytes(text, range), rangeText(range, formatBytes));
}

/** One of these words. */
export function oneOf<const T extends string>(words: readonly T[]): FlagParser<T> {
  const parse = parser((text) => {
    if ((words as readonly string[]).includes(text)) return text as T;
    throw new InvalidArgumentError(`${showValue(text)} is not one of ${words.join(', ')}`);
  }, words.join('|'));
  return Object.assign(parse, { choices: words });
}

export const parsePort = integer(PORT);
export const parsePid = integer(PID);
export const parseCount = integer(COUNT);
export const parseMss = integer(MSS);

/** For repeatable flags: `--port 80 --port 443` -> [80, 443]. */
export function collect<T>(parse: FlagParser<T> | ((text: string) => T)): FlagParser<T[]> {
  const accepts = (parse as FlagParser<T>).accepts;
  return Object.assign((text: string, previous?: unknown) => [...((previous as T[] | undefined) ?? []), parse(text)], {
    ...(accepts === undefined ? {} : { accepts }),
    isDuration: (parse as FlagParser<T>).isDuration === true,
  });
}

/** A comma-separated list: `64,1k,64k`. */
export function list<T>(parse: FlagParser<T> | ((text: string) => T)): FlagParser<T[]> {
  const accepts = (parse as FlagParser<T>).accepts;
  return Object.assign((text: string) => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError(`${showValue(text)} is an empty list`);
    return items.map((item) => parse(item));
  }, { ...(accepts === undefined ? {} : { accepts: `comma-separated, each ${accepts}` }) });
}

/** An http:// or https:// URL (a fleet engine's endpoint). */
export function httpUrlFlag(flag: string): FlagParser<string> {
  return parser((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidArgumentError(`${showValue(text)} is not a URL: expected http://HOST:PORT/...`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`${showValue(text)}: expected an http:// or https:// URL for ${flag}`);
    return text;
  }, 'an http:// or https:// URL');
}
