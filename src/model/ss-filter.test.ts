import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSsFilter, startsSsFilter } from './ss-filter.js';
import type { ConnExpr } from './conn-filter.js';
import { compileExpr, formatExpr } from './conn-filter.js';
import { UsageError } from '../errors.js';
import { TCP_STATES } from './tcp-state.js';

const parse = (...words: string[]) => parseSsFilter(words);
const show = (...words: string[]): string => formatExpr(parse(...words).expr!);

test('conditions read as ss reads them: optional =, :port or a bare number, every operator spelling', () => {
  assert.equal(show('dport = :443'), 'dport = :443');
  assert.equal(show('dport', ':443'), 'dport = :443');
  assert.equal(show('sport == 22'), 'sport = :22');
  for (const [word, op] of [['eq', '='], ['ne', '!='], ['neq', '!='], ['lt', '<'], ['gt', '>'], ['le', '<='], ['leq', '<='], ['ge', '>='], ['geq', '>=']]) {
    assert.equal(show(`sport ${word} :80`), `sport ${op} :80`, word);
  }
  assert.equal(show('src 10.0.0.0/8'), 'src 10.0.0.0/8');
  assert.equal(show('dst = 10.1.2.3:80'), 'dst 10.1.2.3:80');
  assert.equal(show('dst 10.0.0.0/8:80'), 'dst 10.0.0.0/8:80');
  assert.equal(show('src [::1]:22'), 'src [::1]:22');
  assert.equal(show('src 2001:db8::/32'), 'src 2001:db8::/32');
  assert.equal(show('src 2001:db8::/32:443'), 'src 2001:db8::/32:443');
  assert.equal(show('dst *:80'), 'dst *:80');
  assert.equal(show('dst :80'), 'dst *:80');
  assert.equal(show('dst *'), 'dst *');
  assert.equal(show('src != 10.0.0.0/8'), '! src 10.0.0.0/8');
});

test('and and or share one precedence and group from the left, as in ssfilter.y', () => {
  assert.equal(show('sport = :1 or sport = :2 and dport = :3'), '( sport = :1 or sport = :2 ) and dport = :3');
  assert.equal(show('sport = :1 and sport = :2 or dport = :3'), '( sport = :1 and sport = :2 ) or dport = :3');
  assert.equal(show('sport = :1 sport = :2'), 'sport = :1 and sport = :2');
  assert.equal(show('sport = :1 && sport = :2 || sport = :3 & dport = :4 | dport = :5'), '( ( ( sport = :1 and sport = :2 ) or sport = :3 ) and dport = :4 ) or dport = :5');
  assert.equal(show('! sport = :1 and dport = :2'), '! sport = :1 and dport = :2');
  assert.equal(show('not ( sport = :1 or dport = :2 )'), '! ( sport = :1 or dport = :2 )');
});

test('parentheses may touch the words, as one argument or several', () => {
  assert.equal(show('(dport = :443 or sport = :443)'), show('( dport = :443 or sport = :443 )'));
  assert.equal(show('!(sport = :22)'), '! sport = :22');
  assert.equal(show('(', 'sport', '=', ':22', ')'), 'sport = :22');
});

test('state and exclude come first and combine as in ss', () => {
  assert.deepEqual(parse('state', 'established').states, ['ESTABLISHED']);
  assert.deepEqual(parse('state', 'established', 'state', 'time-wait').states, ['ESTABLISHED', 'TIME_WAIT']);
  assert.deepEqual(parse('exclude', 'listening').states, TCP_STATES.filter((s) => s !== 'LISTEN'));
  assert.deepEqual(parse('state', 'connected', 'exclude', 'established').states, TCP_STATES.filter((s) => !['LISTEN', 'CLOSE', 'ESTABLISHED'].includes(s)));
  assert.deepEqual(parse('state', 'bucket').states, ['SYN_RECV', 'TIME_WAIT']);
  assert.deepEqual(parse('state', 'big').states, TCP_STATES.filter((s) => s !== 'SYN_RECV' && s !== 'TIME_WAIT'));
  assert.deepEqual(parse('state', 'synchronized').states, TCP_STATES.filter((s) => !['LISTEN', 'CLOSE', 'SYN_SENT'].includes(s)));
  for (const name of ['fin-wait-1', 'fin-wait-2', 'closed', 'close', 'unconnected', 'listening', 'syn-rcv', 'ESTAB', 'time_wait']) {
    assert.equal(parse('state', name).states?.length, 1, name);
  }
  assert.deepEqual(parseSsFilter(['state', 'listening'], ['ESTABLISHED']).states, ['ESTABLISHED', 'LISTEN']);
  assert.equal(parse('state', 'established').expr, null);
  assert.equal(parse().states, null);
});

test('malformed expressions say which word, where, and give an example', () => {
  const error = (words: string[]): string => {
    try {
      parseSsFilter(words);
    } catch (e: unknown) {
      assert.ok(e instanceof UsageError, String(e));
      return e.message;
    }
    assert.fail(`accepted: ${words.join(' ')}`);
  };
  assert.match(error(['dport', '=', ':44x3']), /^filter expression at word 3 ":44x3" \(after "dport ="\): "44x3" is not a port: expected 0-65535; e\.g\. dport = :443$/);
  assert.match(error(['( sport = :22']), /at the end \(after "sport = :22"\): expected "\)"/);
  assert.match(error(['dport = :70000']), /not a port/);
  assert.match(error(['dst 2001:db8::1:80']), /ambiguous.*\[2001:db8::1:80\].*\[2001:db8::1\]:80/);
  assert.match(error(['src [::1']), /"\[" without "\]"/);
  assert.match(error(['src [::1]x']), /expected ":PORT" after "\]"/);
  assert.match(error(['src inet:10.0.0.1']), /family prefixes/);
  assert.match(error(['sport > *']), /"\*" \(any port\) compares with = or != only/);
  assert.match(error(['()']), /empty parentheses/);
  assert.match(error(['or sport = :1']), /"or" needs a condition before it/);
  assert.match(error(['sport = :1 or']), /at the end.*expected a condition/);
  assert.match(error(['dev eth0']), /ss's "dev".*not supported/);
  assert.match(error(['state']), /"state" needs a state name/);
  assert.match(error(['state new-syn-recv']), /needs a state name/);
  const huge = `10.0.0.${'9'.repeat(100_000)}`;
  const clipped = error(['src', huge]);
  assert.ok(clipped.length < 600, `clipped: ${clipped.length} characters`);
  assert.match(clipped, /\(100007 characters\)/);
});

test('startsSsFilter tells an expression word from a command word', () => {
  for (const w of ['state', 'dport', 'src', '(', '(dport', '!', 'not', 'exclude']) assert.equal(startsSsFilter(w), true, w);
  for (const w of ['connect', 'all', '10.0.0.1', '']) assert.equal(startsSsFilter(w), false, w);
});

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = [
  'src', 'dst', 'sport', 'dport', 'state', 'exclude', 'and', 'or', 'not', '!', '&&', '||', '&', '|', '(', ')', '=', '==', '!=', '<', '>', '<=', '>=',
  'eq', 'ne', 'lt', 'gt', 'le', 'ge', ':80', '443', '*', '*:22', ':', '10.0.0.0/8', '10.0.0.1:80', '[::1]', '[::1]:22', '::1', '2001:db8::/32',
  'established', 'big', 'bucket', 'x', '', ' ', '((', '))', '[', ']', '::ffff:1.2.3.4/104', '999999', '-1', '0x50', 'ESTAB', 'autobound', '\t', 'é', '%',
];

test('garbage never crashes the parser: it is a filter or a usage error', () => {
  const random = prng(12345);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const n = Math.floor(random() * 8);
    const words = Array.from({ length: n }, () => {
      if (random() < 0.1) return String.fromCharCode(...Array.from({ length: 1 + Math.floor(random() * 6) }, () => 32 + Math.floor(random() * 95)));
      return VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
    });
    try {
      const parsed = parseSsFilter(words);
      accepted++;
      // What parses prints as text that parses back to the same meaning.
      if (parsed.expr !== null) {
        const text = formatExpr(parsed.expr);
        assert.equal(formatExpr(parseSsFilter([text]).expr!), text, words.join(' '));
      }
    } catch (error: unknown) {
      if (!(error instanceof UsageError)) throw new Error(`${JSON.stringify(words)}: ${String(error)}`);
      assert.ok(!error.message.includes('\n'), 'one line');
    }
  }
  assert.ok(accepted > 500, `some garbage is valid (${accepted})`);
});

const ADDRESSES = ['10.0.0.1', '10.200.3.4', '192.168.1.1', '127.0.0.1', '::1', '2001:db8::5', '2001:db9::1', '::ffff:10.0.0.1', '::ffff:192.168.1.1', 'fe80::1'];

function randomExpr(random: () => number, depth: number): string {
  const r = random();
  if (depth > 3 || r < 0.4) {
    const kind = Math.floor(random() * 4);
    const port = [0, 22, 80, 443, 1024, 8080, 65535][Math.floor(random() * 7)]!;
    const op = ['=', '!=', '<', '>', '<=', '>='][Math.floor(random() * 6)]!;
    const hosts = ['10.0.0.0/8', '10.0.0.1', '10.0.0.1:80', '192.168.0.0/16:443', '127.0.0.0/8', '0.0.0.0/0', '[::1]', '[::1]:22', '2001:db8::/32', '2001:db8::/32:443', '::/0', '::ffff:10.0.0.0/104', '*', '*:80', ':8080'];
    if (kind === 0) return `sport ${op} :${port}`;
    if (kind === 1) return `dport ${op} :${port}`;
    const host = hosts[Math.floor(random() * hosts.length)]!;
    return `${kind === 2 ? 'src' : 'dst'} ${host}`;
  }
  if (r < 0.55) return `! ${randomExpr(random, depth + 1)}`;
  if (r < 0.7) return `( ${randomExpr(random, depth + 1)} )`;
  return `${randomExpr(random, depth + 1)} ${random() < 0.5 ? 'and' : 'or'} ${randomExpr(random, depth + 1)}`;
}

test('the printed form of an expression means the same on every socket', () => {
  const random = prng(777);
  for (let i = 0; i < 2000; i++) {
    const text = randomExpr(random, 0);
    const expr: ConnExpr = parseSsFilter([text]).expr!;
    const again = compileExpr(parseSsFilter([formatExpr(expr)]).expr!);
    const original = compileExpr(expr);
    for (let j = 0; j < 20; j++) {
      const local = { address: ADDRESSES[Math.floor(random() * ADDRESSES.length)]!, port: [22, 80, 443, 1024, 8080, 40000][Math.floor(random() * 6)]! };
      const remote = { address: ADDRESSES[Math.floor(random() * ADDRESSES.length)]!, port: [0, 22, 443, 8080, 65535][Math.floor(random() * 5)]! };
      assert.equal(again(local, remote), original(local, remote), text);
    }
  }
});
