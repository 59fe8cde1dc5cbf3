/**
 * Advice builders: a sysctl change always carries the exact command, the value in force and the
 * one suggested, so the operator (or a change plan) can apply and revert it.
 */
import type { Advice } from '../model/finding.js';

export function sysctlAdvice(name: string, current: string | null, suggested: string, text: string): Advice {
  const value = /\s/.test(suggested) ? `"${suggested}"` : suggested;
  return { text, command: `sysctl -w ${name}=${value}`, current: current ?? 'absent on this kernel', suggested };
}

export function commandAdvice(text: string, command: string): Advice {
  return { text, command };
}

export function textAdvice(text: string): Advice {
  return { text };
}

/** "1 socket", "3 sockets". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Milliseconds as a short human figure: 950 ms, 12.5 s, 3.2 min. */
export function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}
