/**
 * ss's filter expression (ss(8) STATE-FILTER and FILTER; the grammar of iproute2's
 * misc/ssfilter.y), read into a ConnFilter's states and expression:
 *
 *   [state NAME | exclude NAME]... [EXPR]
 *   EXPR := COND | ( EXPR ) | ! EXPR | not EXPR | EXPR [and|&|&&|or|'|'|'||'] EXPR
 *   COND := src HOST | dst HOST | sport OP PORT | dport OP PORT
 *
 * As in ss: `state`/`exclude` come first (the first `state` replaces "all states", later
 * ones add; the first `exclude` starts from all); words next to each other mean `and`;
 * `and` and `or` have the SAME precedence and group from the left (`a or b and c` is
 * `(a or b) and c`); `=` may be left out. HOST is `ADDR[/PREFIX][:PORT]`, `[IPV6][:PORT]`,
 * `*`, `*:PORT` or `:PORT`; PORT is `:443`, `443` or `*`. OP is = == eq, != ne neq, < lt,
 * > gt, <= le leq, >= ge geq. Unlike ss, parentheses need no spaces around them, and names
 * are never resolved (no DNS, no /etc/services): numeric addresses and ports only.
 */
import { UsageError } from '../errors.js';
import { SHOWN_VALUE_CHARS, clipQuoted } from './show-value.js';
import { ipFamily, parseCidr } from './address.js';
import type { Cidr } from './address.js';
import type { ConnExpr, ConnSide, PortOp } from './conn-filter.js';
import { allOf, anyOf } from './conn-filter.js';
import type { TcpState } from './tcp-state.js';
import { STATE_GROUPS, TCP_STATES, parseStateSet } from './tcp-state.js';

export interface ParsedSsFilter {
  /** The states kept, or null when the expression names none. */
  readonly states: readonly TcpState[] | null;
  /** The endpoint conditions, or null when there are none. */
  readonly expr: ConnExpr | null;
}

/** The names ss(8) prints and reads (tcpdiag also reads its own: ESTABLISHED, TIME_WAIT...). */
const SS_STATE_NAMES = 'established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing';

const EXAMPLE = `e.g. state established '( dport = :443 or sport = :443 )' dst 10.0.0.0/8`;

const AND_WORDS = new Set(['and', '&', '&&']);
const OR_WORDS = new Set(['or', '|', '||']);
const NOT_WORDS = new Set(['!', 'not']);
const OPS = new Map<string, PortOp>([
  ['=', 'eq'], ['==', 'eq'], ['eq', 'eq'],
  ['!=', 'ne'], ['ne', 'ne'], ['neq', 'ne'],
  ['<', 'lt'], ['lt', 'lt'],
  ['>', 'gt'], ['gt', 'gt'],
  ['<=', 'le'], ['le', 'le'], ['leq', 'le'],
  ['>=', 'ge'], ['ge', 'ge'], ['geq', 'ge'],
]);
const KEYWORDS = new Set(['src', 'dst', 'sport', 'dport', 'state', 'exclude', 'excl', '(', ')', ...AND_WORDS, ...OR_WORDS, ...NOT_WORDS]);
/** ss conditions tcpdiag does not implement, named in the error instead of "unknown word". */
const UNSUPPORTED = new Map([
  ['dev', 'the interface a socket is bound to'],
  ['fwmark', 'socket marks'],
  ['cgroup', 'cgroups'],
  ['autobound', 'ports the kernel picked'],
]);

/** Is this word one an expression can start with (for commands whose first argument is optional)? */
export function startsSsFilter(word: string): boolean {
  const first = splitWords([word])[0];
  return first !== undefined && (KEYWORDS.has(first) || UNSUPPORTED.has(first));
}

/**
 * Words as ss reads them (split at blanks: a quoted '( dport = :443 )' is five words), with
 * parentheses also split off the words they touch.
 */
function splitWords(args: readonly string[]): string[] {
  const words: string[] = [];
  for (const arg of args) {
    for (const blank of arg.split(/[ \t\n]+/)) {
      for (const part of blank.split(/([()])/)) if (part !== '') words.push(part);
    }
  }
  return words;
}

class Parser {
  private at = 0;
  constructor(private readonly words: readonly string[]) {}

  peek(): string | undefined {
    return this.words[this.at];
  }

  next(): string | undefined {
    return this.words[this.at++];
  }

  /** A usage error that shows the word, its position and what came before. */
  fail(what: string, example: string = EXAMPLE): never {
    const word = this.words[this.at];
    const before = this.words.slice(Math.max(0, this.at - 3), this.at).join(' ');
    const where = word === undefined
      ? `at the end${before === '' ? '' : ` (after "${before}")`}`
      : `at word ${this.at + 1} "${word}"${before === '' ? '' : ` (after "${before}")`}`;
    let message = `filter expression ${where}: ${what}; ${example}`;
    // A huge word (a 100 kB argument) is quoted clipped, so the error stays one short line.
    for (const w of new Set(this.words)) {
      if (w.length > SHOWN_VALUE_CHARS) message = message.split(`"${w}"`).join(clipQuoted(w)).split(w).join(clipQuoted(w));
    }
    throw new UsageError(message);
  }

  states(initial: readonly TcpState[] | undefined): TcpState[] | null {
    let states: Set<TcpState> | null = initial === undefined ? null : new Set(initial);
    for (;;) {
      const word = this.peek();
      if (word !== 'state' && word !== 'exclude' && word !== 'excl') return states === null ? null : TCP_STATES.filter((s) => states!.has(s));
      this.next();
      const name = this.peek();
      const set = name === undefined || KEYWORDS.has(name) ? undefined : parseStateSet(name);
      if (set === undefined) {
        this.fail(
          `"${word}" needs a state name: ${SS_STATE_NAMES} or a group (${[...STATE_GROUPS.keys()].join(', ')})`,
          `e.g. ${word} established`,
        );
      }
      this.next();
      if (word === 'state') {
        states ??= new Set();
        for (const s of set) states.add(s);
      } else {
        states ??= new Set(TCP_STATES);
        for (const s of set) states.delete(s);
      }
    }
  }

  /** EXPR (op EXPR)*, left to right with one precedence, as ssfilter.y's exprlist. */
  list(): ConnExpr {
    let left = this.expr();
    for (;;) {
      const word = this.peek();
      if (word === undefined || word === ')') return left;
      if (OR_WORDS.has(word)) {
        this.next();
        left = anyOf([left, this.expr()]);
      } else {
        if (AND_WORDS.has(word)) this.next();
        left = allOf([left, this.expr()]);
      }
    }
  }

  expr(): ConnExpr {
    const word = this.peek();
    if (word === undefined) this.fail('expected a condition (src, dst, sport, dport), "(" or "!"');
    if (word === '(') {
      this.next();
      if (this.peek() === ')') this.fail('empty parentheses');
      const inner = this.list();
      if (this.peek() !== ')') this.fail('expected ")" to close the "(" before');
      this.next();
      return inner;
    }
    if (NOT_WORDS.has(word)) {
      this.next();
      return { kind: 'not', item: this.expr() };
    }
    if (word === 'src' || word === 'dst') return this.host(word);
    if (word === 'sport' || word === 'dport') return this.port(word === 'sport' ? 'src' : 'dst');
    if (word === 'state' || word === 'exclude' || word === 'excl') {
      this.fail('state and exclude come before the other conditions (as in ss)', 'e.g. state established dport = :443');
    }
    if (word === ')') this.fail('")" without a "(" before it');
    if (AND_WORDS.has(word) || OR_WORDS.has(word)) this.fail(`"${word}" needs a condition before it`);
    const unsupported = UNSUPPORTED.get(word);
    if (unsupported !== undefined) this.fail(`ss's "${word}" (${unsupported}) is not supported by tcpdiag`, 'use src, dst, sport, dport and states');
    this.fail('expected a condition: src, dst, sport, dport (or state/exclude first)');
  }

  /** The operator after a keyword; `=` may be left out, as in ss. */
  op(): PortOp {
    const word = this.peek();
    const op = word === undefined ? undefined : OPS.get(word);
    if (op === undefined) return 'eq';
    this.next();
    return op;
  }

  host(keyword: 'src' | 'dst'): ConnExpr {
    this.next();
    const op = this.op();
    if (op !== 'eq' && op !== 'ne') this.fail(`addresses compare with = or != only`, `e.g. ${keyword} 10.0.0.0/8 or ! ${keyword} 10.0.0.0/8`);
    const text = this.peek();
    if (text === undefined || KEYWORDS.has(text)) this.fail(`"${keyword}" needs an address`, `e.g. ${keyword} 10.0.0.0/8, ${keyword} [::1]:22, ${keyword} *:80`);
    const parsed = this.hostText(text, keyword);
    this.next();
    const cond: ConnExpr = { kind: 'host', side: keyword, cidr: parsed.cidr, port: parsed.port };
    return op === 'ne' ? { kind: 'not', item: cond } : cond;
  }

  /** ss's parse_hostcond for inet addresses: the port is after the last colon past any "/". */
  hostText(text: string, keyword: string): { cidr: Cidr | null; port: number | null } {
    if (/^(unix|inet6?|link|netlink|vsock):/.test(text)) {
      this.fail(`family prefixes (inet:, inet6:, unix:...) are not supported: tcpdiag filters TCP over IPv4 and IPv6`, 'use -4 or -6 for one family');
    }
    let address = text;
    let port: string | null = null;
    if (text.startsWith('[')) {
      const close = text.indexOf(']');
      if (close < 0) this.fail('"[" without "]"', `e.g. ${keyword} [::1]:22`);
      address = text.slice(1, close);
      const rest = text.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) this.fail(`expected ":PORT" after "]"`, `e.g. ${keyword} [2001:db8::1]:443`);
      port = rest === '' ? null : rest.slice(1);
    } else if (text.startsWith('*')) {
      address = '';
      if (text.length > 1 && text[1] !== ':') this.fail('expected "*" or "*:PORT"', `e.g. ${keyword} *:80`);
      port = text.length > 1 ? text.slice(2) : null;
    } else {
      const slash = text.indexOf('/');
      const colon = text.lastIndexOf(':');
      if (colon > slash) {
        if (slash < 0 && text.indexOf(':') !== colon && ipFamily(text) === 6) {
          const withPort = ipFamily(text.slice(0, colon)) === 6 ? `, or [${text.slice(0, colon)}]:${text.slice(colon + 1)} for an address and a port` : '';
          this.fail(`"${text}" is ambiguous: ss reads the part after the last colon as a port`, `write ${keyword} [${text}] for the address${withPort}`);
        }
        address = text.slice(0, colon);
        port = text.slice(colon + 1);
      }
    }
    let cidr: Cidr | null = null;
    if (address !== '' && address !== '*') {
      const bare = address.split('/')[0]!;
      if (ipFamily(bare) === 0) {
        this.fail(
          /^[a-z][a-z0-9.-]*$/i.test(bare) ? `"${bare}" is a name: tcpdiag does not resolve names in filters` : `"${address}" is not an IP address or CIDR block`,
          `give a numeric address, e.g. ${keyword} 10.0.0.0/8, ${keyword} 192.168.1.5:80 or ${keyword} [2001:db8::1]`,
        );
      }
      try {
        cidr = parseCidr(address);
      } catch (error: unknown) {
        this.fail(error instanceof UsageError ? error.message : `"${address}" is not a CIDR block`, `e.g. ${keyword} 10.0.0.0/8`);
      }
    }
    return { cidr, port: port === null || port === '' || port === '*' ? null : this.portNumber(port, keyword) };
  }

  portNumber(text: string, keyword: string): number {
    if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
      this.fail(
        /^[a-z]/i.test(text) ? `"${text}" is a service name: tcpdiag does not look names up, give the number` : `"${text}" is not a port: expected 0-65535`,
        `e.g. ${keyword === 'sport' || keyword === 'dport' ? `${keyword} = :443` : `${keyword} *:443`}`,
      );
    }
    return Number(text);
  }

  port(side: ConnSide): ConnExpr {
    const keyword = side === 'src' ? 'sport' : 'dport';
    this.next();
    const op = this.op();
    const text = this.peek();
    if (text === undefined || KEYWORDS.has(text)) this.fail(`"${keyword}" needs a port`, `e.g. ${keyword} = :443 or ${keyword} '>=' :1024`);
    const value = text.startsWith(':') ? text.slice(1) : text;
    let cond: ConnExpr;
    if (value === '*') {
      if (op !== 'eq' && op !== 'ne') this.fail('"*" (any port) compares with = or != only', `e.g. ${keyword} '<' :1024`);
      const any: ConnExpr = { kind: 'host', side, cidr: null, port: null };
      cond = op === 'eq' ? any : { kind: 'not', item: any };
    } else {
      cond = { kind: 'port', side, op, port: this.portNumber(value, keyword) };
    }
    this.next();
    return cond;
  }
}

/**
 * Parse ss's filter words (the command line after the options). `initialStates` are states
 * chosen before the words (by flags): they count as `state` words said first.
 */
export function parseSsFilter(args: readonly string[], initialStates?: readonly TcpState[]): ParsedSsFilter {
  const parser = new Parser(splitWords(args));
  const states = parser.states(initialStates);
  if (parser.peek() === undefined) return { states, expr: null };
  const expr = parser.list();
  if (parser.peek() !== undefined) parser.fail('")" without a "(" before it');
  return { states, expr };
}
