/**
 * Reply rules for `tcpdiag server --reply 'MATCH=>REPLY'`: when the bytes a client sent contain
 * MATCH, send REPLY. Matching runs over the stream, not per read, because TCP has no message
 * boundaries: "PI" + "NG" still matches "PING".
 */
import { UsageError } from '../../errors.js';
import { parsePayloadSpec } from '../hexdump.js';

export interface ReplyRule {
  /** null matches every read (MATCH written as `*`). */
  readonly match: Buffer | null;
  readonly reply: Buffer;
  /** The rule as the user wrote it, for logs. */
  readonly source: string;
}

const HINT = "write --reply 'PING=>PONG\\n', --reply 'hex:01 02=>hex:03' or --reply '*=>OK\\n'";

/** "MATCH=>REPLY"; each side is escaped text (\n, \r, \xNN) or `hex:..`; MATCH `*` is any data. */
export function parseReplyRule(text: string): ReplyRule {
  const arrow = text.indexOf('=>');
  if (arrow < 0) throw new UsageError(`--reply "${text}": missing "=>" between MATCH and REPLY`, HINT);
  const matchText = text.slice(0, arrow);
  const replyText = text.slice(arrow + 2);
  if (matchText === '') throw new UsageError(`--reply "${text}": MATCH is empty`, HINT);
  const match = matchText === '*' ? null : parsePayloadSpec(matchText, '--reply MATCH');
  if (match !== null && match.length === 0) throw new UsageError(`--reply "${text}": MATCH is empty`, HINT);
  return { match, reply: parsePayloadSpec(replyText, '--reply REPLY'), source: text };
}

/** Per-connection matcher: feed it reads, get back the rules that fired, in stream order. */
export class ReplyMatcher {
  private pending: Buffer = Buffer.alloc(0);
  private readonly keepBytes: number;

  constructor(private readonly rules: readonly ReplyRule[]) {
    // Enough tail to complete the longest MATCH with the next read, and no more (bounded memory).
    this.keepBytes = Math.max(0, ...rules.map((r) => (r.match === null ? 0 : r.match.length - 1)));
  }

  feed(chunk: Buffer): ReplyRule[] {
    const fired: ReplyRule[] = [];
    for (const rule of this.rules) if (rule.match === null) fired.push(rule);
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      let best: { rule: ReplyRule; at: number } | null = null;
      for (const rule of this.rules) {
        if (rule.match === null) continue;
        const at = data.indexOf(rule.match);
        if (at >= 0 && (best === null || at < best.at)) best = { rule, at };
      }
      if (best === null) break;
      fired.push(best.rule);
      data = data.subarray(best.at + (best.rule.match?.length ?? 0));
    }
    this.pending = Buffer.from(data.subarray(Math.max(0, data.length - this.keepBytes)));
    return fired;
  }
}
