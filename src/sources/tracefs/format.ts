/**
 * The layout of one trace event as the kernel describes it in events/SYSTEM/EVENT/format
 * (kernel/trace/trace_events.c f_show): its numeric id, each field's offset and size, and the
 * symbolic names its print format gives to numbers (__print_symbolic). Offsets are read from
 * the running kernel rather than hard-coded, because they move between versions (tcp_send_reset
 * gained `reason` in 6.10, tcp_receive_reset gained `sock_cookie` in 6.x).
 */
import { MalformedInputError } from '../../errors.js';

export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

export interface EventFormat {
  readonly name: string;
  readonly id: number;
  readonly fields: ReadonlyMap<string, FieldLayout>;
  /** The text after "print fmt:", kept to read symbolic names from. */
  readonly printFmt: string;
}

const FIELD_LINE = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;

export function parseEventFormat(text: string): EventFormat {
  const nameMatch = /^name:\s*(\S+)/m.exec(text);
  const idMatch = /^ID:\s*(\d+)/m.exec(text);
  if (!nameMatch || !idMatch) throw new MalformedInputError('tracefs event format', 'no name or ID line');
  const fields = new Map<string, FieldLayout>();
  for (const line of text.split('\n')) {
    const m = FIELD_LINE.exec(line);
    if (!m) continue;
    // "const void * skaddr", "__u8 saddr[4]", "enum sk_rst_reason reason": the name is the last
    // identifier before an optional [N].
    const decl = m[1]!.trim();
    const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\])?$/.exec(decl);
    if (!nm) continue;
    fields.set(nm[1]!, { offset: Number(m[2]), size: Number(m[3]), signed: m[4] === '1' });
  }
  const fmtIndex = text.indexOf('print fmt:');
  return {
    name: nameMatch[1]!,
    id: Number(idMatch[1]),
    fields,
    printFmt: fmtIndex < 0 ? '' : text.slice(fmtIndex + 10).trim(),
  };
}

/**
 * The names __print_symbolic(REC->FIELD, { 0, "NAME" }, ...) gives a field's numbers. Only
 * numeric keys are read (some formats use kernel macro names as keys, which the format file
 * does not resolve).
 */
export function symbolicNames(format: EventFormat, field: string): Map<number, string> {
  const names = new Map<number, string>();
  const start = format.printFmt.indexOf(`__print_symbolic(REC->${field},`);
  if (start < 0) return names;
  // The symbol list ends at the first ")" that is not inside a string.
  let end = start;
  let inString = false;
  for (let i = start + 17; i < format.printFmt.length; i++) {
    const ch = format.printFmt[i];
    if (ch === '"') inString = !inString;
    else if (ch === ')' && !inString) {
      end = i;
      break;
    }
  }
  const body = format.printFmt.slice(start, end);
  for (const m of body.matchAll(/\{\s*(-?\d+)\s*,\s*"([^"]*)"\s*\}/g)) names.set(Number(m[1]), m[2]!);
  return names;
}

export function requireField(format: EventFormat, name: string): FieldLayout {
  const field = format.fields.get(name);
  if (!field) throw new MalformedInputError(`tracefs event ${format.name}`, `has no field "${name}"`);
  return field;
}
