/**
 * The filter flags of every command (--state, -4/-6, --port, --sport, --dport, --addr, --pid,
 * --process) and ss's expression words, already parsed into values, turned into one ConnFilter.
 * Here, not in cli/, so that the agent's API reads its query parameters into the same filter.
 */
import type { Cidr } from './address.js';
import type { TcpState } from './tcp-state.js';
import type { ConnExpr, ConnFilter } from './conn-filter.js';
import { allOf, anyOf, eitherAddress, eitherPort } from './conn-filter.js';
import { parseSsFilter } from './ss-filter.js';

export interface FilterFlags {
  state?: TcpState[];
  ipv4?: boolean;
  ipv6?: boolean;
  port?: number[];
  sport?: number[];
  dport?: number[];
  addr?: Cidr[];
  pid?: number[];
  process?: string;
}

/**
 * Flags and expression words -> one ConnFilter. Flags of different kinds must all hold; a
 * repeated flag means any of its values; --state flags count as `state` words before the
 * expression's.
 */
export function filterFromFlags(flags: FilterFlags, expression: readonly string[] = []): ConnFilter {
  const parsed = parseSsFilter(expression, flags.state);
  const families: (4 | 6)[] = [];
  if (flags.ipv4) families.push(4);
  if (flags.ipv6) families.push(6);
  const parts: ConnExpr[] = [];
  const any = <T>(values: readonly T[] | undefined, each: (v: T) => ConnExpr): void => {
    if (values !== undefined && values.length > 0) parts.push(anyOf(values.map(each)));
  };
  any(flags.port, eitherPort);
  any(flags.sport, (port) => ({ kind: 'port', side: 'src', op: 'eq', port }));
  any(flags.dport, (port) => ({ kind: 'port', side: 'dst', op: 'eq', port }));
  any(flags.addr, eitherAddress);
  if (parsed.expr !== null) parts.push(parsed.expr);
  return {
    ...(parsed.states !== null ? { states: parsed.states } : {}),
    ...(families.length > 0 ? { families } : {}),
    ...(parts.length > 0 ? { expr: allOf(parts) } : {}),
    ...(flags.pid ? { pids: flags.pid } : {}),
    ...(flags.process !== undefined ? { process: flags.process } : {}),
  };
}
