/**
 * How a value someone typed is echoed back in an error: quoted, with non-numbers named as what
 * they are (TOML allows `inf` and `nan`, which JSON.stringify would print as null), and clipped,
 * so that a 10 MB argument yields a one-line error instead of 10 MB of stderr.
 */

/** Longest part of a value quoted in a message; the rest is counted, not shown. */
export const SHOWN_VALUE_CHARS = 60;

export function showValue(value: unknown, maxChars: number = SHOWN_VALUE_CHARS): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan (not a number)';
    if (value === Infinity) return 'inf (infinity)';
    if (value === -Infinity) return '-inf (minus infinity)';
    return String(value);
  }
  if (typeof value === 'string') return clipQuoted(value, maxChars);
  if (value === undefined) return 'nothing';
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
  } catch {
    text = undefined; // a cycle, or a BigInt
  }
  return clip(text ?? typeof value, maxChars);
}

/** `"abc…" (12345 characters)` for long text; `"abc"` for short. Control characters are escaped. */
export function clipQuoted(text: string, maxChars: number = SHOWN_VALUE_CHARS): string {
  if (text.length <= maxChars) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, maxChars))}… (${text.length} characters)`;
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} characters)`;
}
