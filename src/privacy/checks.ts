/**
 * Check digits that tell a real identifier from a random run of digits, so redaction masks
 * what is sensitive and leaves sequence numbers, timestamps and lengths alone.
 */

/** Weights of the 17 digits of a Chinese resident ID number (GB 11643-1999, ISO 7064 MOD 11-2). */
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** An 18-character ID number whose last character is the ISO 7064 MOD 11-2 check of the first 17. */
export function isValidChineseId(text: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(text)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (text.charCodeAt(i) - 48) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11] === text[17]!.toUpperCase();
}

/** The Luhn (mod 10) check that every payment card number carries (ISO/IEC 7812-1). */
export function isLuhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}
