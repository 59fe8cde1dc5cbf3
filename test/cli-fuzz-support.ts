/**
 * Mutation fuzzers for what a user types: configuration files and argument vectors. Each run is
 * seeded (the same inputs every time, so a failure replays) and returns a tally of outcomes and
 * the inputs that broke a rule. The rules:
 * - configs: resolveConfig returns, or throws a TcpdiagError (ConfigError, a refused or
 *   unreadable file); never another exception; messages stay short (lines <= 400 characters)
 *   and never say "got null" for a value that was there (inf, nan);
 * - argv: parsing ends in the (stubbed) action, a commander usage error or a UsageError; never
 *   another exception; stderr stays short; every numeric flag value that got through is finite;
 *   through the real bin: exit 0, 1 or 2, never "internal error", within the time limit.
 * test/config-fuzz.test.ts and test/argv-fuzz.test.ts run them briefly in CI;
 * scripts/fuzz-cli.mjs runs them long.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { TcpdiagError } from '../src/errors.js';
import { resolveConfig } from '../src/config/resolve.js';
import { SECTION_NAMES } from '../src/config/schema.js';
import { COMMANDS } from '../src/cli/commands/index.js';
import { buildProgram } from '../src/cli/program.js';
import { allCommands } from '../src/cli/flag-conventions.js';
import type { FlagParser } from '../src/cli/options.js';
import { CLI, REPO_ROOT } from './helpers/cli.js';

/** xorshift32: the same sequence for the same seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export interface FuzzTally {
  readonly inputs: number;
  readonly outcomes: Record<string, number>;
  /** Inputs that broke a rule, with what happened (at most 20 kept). */
  readonly failures: string[];
  /** Longest stderr / error message seen, in characters. */
  longestMessage: number;
  slowestMs: number;
}

function tally(): FuzzTally & { inputs: number } {
  return { inputs: 0, outcomes: {}, failures: [], longestMessage: 0, slowestMs: 0 };
}

function count(t: FuzzTally, outcome: string): void {
  t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
}

function fail(t: FuzzTally, what: string): void {
  if (t.failures.length < 20) t.failures.push(what.length > 600 ? `${what.slice(0, 600)}…` : what);
}

const pickFrom = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// ---------------------------------------------------------------------------------------------
// Configuration files

const TOML_VALUES = [
  'inf', '-inf', 'nan', '+nan', '0x50', '0o17', '0b101', '1e300', '-1', '0', '99999999999999999999', '1_000', '3.5',
  'true', '[]', '[1, "a"]', '{ a = 1 }', '""', '"65k"', '"inf"', "'literal'", '"""multi\nline"""', '1979-05-27T07:32:00Z',
  '"\\u0000"', '"é✓"', '[[[[[[[[1]]]]]]]]',
];

function hugeString(random: () => number): string {
  return `"${'x'.repeat(1 + Math.floor(random() * 200_000))}"`;
}

export function mutateConfig(text: string, random: () => number): string {
  const lines = text.split('\n');
  const at = (): number => Math.floor(random() * lines.length);
  const valueLines = lines.map((l, i) => (/^\s*[a-z_]+\s*=/.test(l) ? i : -1)).filter((i) => i >= 0);
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    switch (Math.floor(random() * 11)) {
      case 0:
      case 1:
      case 2: { // a key gets a hostile value
        const i = pickFrom(random, valueLines);
        const key = (lines[i] ?? '').split('=')[0] ?? 'x';
        lines[i] = `${key}= ${random() < 0.1 ? hugeString(random) : pickFrom(random, TOML_VALUES)}`;
        break;
      }
      case 3:
        lines.splice(at(), 1);
        break;
      case 4: { // a duplicated line: duplicate keys or tables are TOML errors
        const i = at();
        lines.splice(i, 0, lines[i] ?? '');
        break;
      }
      case 5:
        lines.splice(at(), 0, pickFrom(random, ['zzz = 1', '[zzz]', '[agent.deeper]', 'agent = 5', '[[capture]]', '[thresholds]']));
        break;
      case 6: { // a broken header
        const headers = lines.map((l, i) => (l.startsWith('[') ? i : -1)).filter((i) => i >= 0);
        const i = pickFrom(random, headers);
        lines[i] = pickFrom(random, [(lines[i] ?? '').slice(0, -1), `[${lines[i] ?? ''}]`, (lines[i] ?? '').toUpperCase(), '[]']);
        break;
      }
      case 7: { // garbage characters in a line
        const i = at();
        const line = lines[i] ?? '';
        const p = Math.floor(random() * (line.length + 1));
        lines[i] = line.slice(0, p) + pickFrom(random, ['=', '"', '[', ']', '\\', '\u0000', '\ufffd', '#', '\t\t', '{']) + line.slice(p);
        break;
      }
      case 8: // cut the file anywhere
        return lines.join('\n').slice(0, Math.floor(random() * text.length));
      case 9: // deep nesting, past any parser's recursion
        lines.push(`deep = ${'['.repeat(5000)}${']'.repeat(5000)}`);
        break;
      default: // a long line
        lines.splice(at(), 0, `# ${'y'.repeat(Math.floor(random() * 100_000))}`);
    }
  }
  return lines.join('\n');
}

export function fuzzConfigs(inputs: number, seed: number): FuzzTally {
  const random = rng(seed);
  const example = readFileSync(join(REPO_ROOT, 'tcp_diag.conf'), 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-config-fuzz-'));
  const t = tally();
  try {
    for (let n = 0; n < inputs; n++) {
      const text = mutateConfig(example, random);
      const path = join(dir, `c${n % 16}.conf`);
      writeFileSync(path, text);
      const sections = random() < 0.2 ? undefined : SECTION_NAMES.filter(() => random() < 0.3);
      const started = performance.now();
      let message = '';
      try {
        const resolved = resolveConfig({ configPath: path, env: {}, ...(sections === undefined ? {} : { sections }) });
        message = resolved.warnings.join('\n');
        count(t, resolved.warnings.length > 0 ? 'ok with warnings' : 'ok');
      } catch (error: unknown) {
        if (error instanceof TcpdiagError) {
          message = `${error.message}\n${error.hint ?? ''}`;
          count(t, error.code);
        } else {
          count(t, 'bug');
          fail(t, `config #${n} (seed ${seed}): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        }
      }
      t.inputs++;
      const ms = performance.now() - started;
      t.slowestMs = Math.max(t.slowestMs, ms);
      t.longestMessage = Math.max(t.longestMessage, message.length);
      const longLine = message.split('\n').find((l) => l.length > 400);
      if (longLine !== undefined) fail(t, `config #${n}: a message line of ${longLine.length} characters: ${longLine.slice(0, 200)}`);
      if (/got null/.test(message)) fail(t, `config #${n}: "got null" in ${message.slice(0, 300)}`);
      if (ms > 2000) fail(t, `config #${n}: took ${Math.round(ms)} ms`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Argument vectors

const HOSTILE_VALUES = [
  '0x50', '1e3', '99999999999999999999', 'inf', '-inf', 'nan', 'NaN', '-1', '0', '', ' ', '1.5', '1,2', '1_000', '٣', '１２',
  'ms', '10 s', '10ss', '1h1h', '9999h', '10001h', '0.0001ms', '%s%n', '$(id)', '../../etc/passwd', '/dev/zero', 'a:b',
  '[::1]:80', '::', '300.1.1.1/33', '-', '--', '=', 'auto', 'both', 'established', '\u202e', 'x'.repeat(100_000),
];

function sampleValue(parse: FlagParser<unknown> | undefined, choices: readonly string[] | undefined, random: () => number): string {
  if (choices !== undefined && choices.length > 0) return pickFrom(random, choices);
  if (parse?.isDuration === true) return pickFrom(random, ['1s', '500ms', '2', '1m']);
  const low = /^(\d+)/.exec(parse?.accepts ?? '')?.[1];
  if (low !== undefined) return low === '0' ? '1' : low;
  return pickFrom(random, ['x', '127.0.0.1:9', 'eth0', 'a.pcap']);
}

interface Leaf {
  readonly path: string[];
  readonly command: Command;
}

function leaves(program: Command): Leaf[] {
  const out: Leaf[] = [];
  const walk = (command: Command, path: string[]): void => {
    if (command.commands.length === 0) out.push({ path, command });
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  for (const sub of program.commands) walk(sub, [sub.name()]);
  return out;
}

/** A plausible command line for `leaf`: its required arguments and a few of its options. */
function seedVector(leaf: Leaf, random: () => number): string[] {
  const argv = [...leaf.path];
  for (const argument of leaf.command.registeredArguments) {
    if (!argument.required && random() < 0.5) continue;
    argv.push(sampleValue(argument.parseArg, argument.argChoices, random));
  }
  for (const option of leaf.command.options) {
    if (random() > 0.25) continue;
    const flag = option.short !== undefined && random() < 0.5 ? option.short : option.long ?? option.flags;
    argv.push(flag);
    if (option.required || option.optional) argv.push(sampleValue(option.parseArg, option.argChoices, random));
  }
  return argv;
}

export function mutateArgv(seedArgv: readonly string[], leaf: Leaf, random: () => number): string[] {
  const argv = [...seedArgv];
  const rounds = 1 + Math.floor(random() * 3);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(random() * (argv.length + 1));
    switch (Math.floor(random() * 9)) {
      case 0:
      case 1: { // a value becomes hostile
        const values = argv.map((a, i) => (i >= leaf.path.length && !a.startsWith('-') ? i : -1)).filter((i) => i >= 0);
        if (values.length > 0) argv[pickFrom(random, values)] = pickFrom(random, HOSTILE_VALUES);
        else argv.push(pickFrom(random, HOSTILE_VALUES));
        break;
      }
      case 2: { // one of the command's options with a hostile value, maybe as --flag=value
        const option = leaf.command.options.length === 0 ? undefined : pickFrom(random, leaf.command.options);
        const flag = option?.long ?? option?.short ?? '--x';
        const value = pickFrom(random, HOSTILE_VALUES);
        if (random() < 0.4) argv.splice(at, 0, `${flag}=${value}`);
        else argv.splice(at, 0, flag, value);
        break;
      }
      case 3:
        if (argv.length > 0) argv.splice(Math.floor(random() * argv.length), 1);
        break;
      case 4:
        if (argv.length > 0) argv.splice(at, 0, argv[Math.floor(random() * argv.length)]!);
        break;
      case 5:
        argv.splice(at, 0, pickFrom(random, ['--zz', '-Z', '---', '-', '--', '--no-such-flag=1', '-tanpH', '-xyz', '-nn', '-c', '--config', '--help', '-h', '-V']));
        break;
      case 6: { // a run of short flags of this command, as ss users type them
        const shorts = leaf.command.options.filter((o) => o.short !== undefined && !(o.required || o.optional)).map((o) => (o.short ?? '').slice(1));
        if (shorts.length > 0) argv.splice(at, 0, `-${Array.from({ length: 1 + Math.floor(random() * 4) }, () => pickFrom(random, shorts)).join('')}`);
        break;
      }
      case 7: // a near-miss command name
        argv[0] = pickFrom(random, [`${argv[0] ?? ''}z`, (argv[0] ?? '').slice(0, -1), (argv[0] ?? '').toUpperCase(), 'help']);
        break;
      default:
        argv.push(pickFrom(random, HOSTILE_VALUES));
    }
  }
  return argv;
}

/** The argument vectors of one run: seeds of every command, mutated. */
export async function argvVectors(inputs: number, seed: number): Promise<string[][]> {
  const random = rng(seed);
  const all = leaves(await buildProgram([], COMMANDS));
  return Array.from({ length: inputs }, () => {
    const leaf = pickFrom(random, all);
    return mutateArgv(seedVector(leaf, random), leaf, random);
  });
}

/**
 * Parse each vector with every command's action replaced by a stub: what the parsers and
 * commander do with hostile argv, without running anything.
 */
export async function fuzzArgvInProcess(vectors: readonly string[][]): Promise<FuzzTally> {
  const t = tally();
  const exitCode = process.exitCode;
  try {
    for (const [n, argv] of vectors.entries()) {
      const program = await buildProgram(argv, COMMANDS);
      let stderr = '';
      let parsed: Command | null = null;
      for (const command of allCommands(program)) {
        command.configureOutput({ writeOut: () => undefined, writeErr: (text) => (stderr += text) });
        if (command.commands.length === 0 && command !== program) command.action((...args: unknown[]) => { parsed = args[args.length - 1] as Command; });
      }
      const started = performance.now();
      try {
        await program.parseAsync([...argv], { from: 'user' });
        count(t, parsed === null ? 'no command' : 'parsed');
      } catch (error: unknown) {
        if (error instanceof CommanderError) count(t, error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 'help' : 'usage error (commander)');
        else if (error instanceof TcpdiagError) {
          count(t, error.code);
          stderr += error.message;
        } else {
          count(t, 'bug');
          fail(t, `argv #${n} ${JSON.stringify(argv).slice(0, 300)}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        }
      }
      t.inputs++;
      t.slowestMs = Math.max(t.slowestMs, performance.now() - started);
      t.longestMessage = Math.max(t.longestMessage, stderr.length);
      // Help on stderr (no command given, `help x`) is long by design; anything else must be short.
      if (stderr.length > 2000 && !/^Usage: tcpdiag/m.test(stderr)) fail(t, `argv #${n} ${JSON.stringify(argv.map((a) => (a.length > 40 ? `${a.slice(0, 20)}…(${a.length})` : a)))}: ${stderr.length} characters of stderr: ${stderr.slice(0, 200)}`);
      if (parsed !== null) {
        const command: Command = parsed;
        for (const option of command.options) {
          const value: unknown = command.getOptionValue(option.attributeName());
          const numbers = Array.isArray(value) ? (value as unknown[]) : [value];
          if (numbers.some((v) => typeof v === 'number' && !Number.isFinite(v))) fail(t, `argv #${n} ${JSON.stringify(argv).slice(0, 300)}: ${option.flags} = ${String(value)}`);
        }
      }
    }
  } finally {
    process.exitCode = exitCode;
  }
  return t;
}

/** Commands that only read: safe to run with any flags, bounded by a kill after timeoutMs. */
const SAFE_TO_RUN = new Set(['conns', 'listeners', 'stats', 'analyze']);

/** Whether a vector may run for real: a read-only command, or only help. */
export function safeToRun(argv: readonly string[]): boolean {
  return SAFE_TO_RUN.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h');
}

/** Run vectors through the real bin, a few at a time. */
export async function fuzzArgvThroughBin(vectors: readonly string[][], timeoutMs = 8000): Promise<FuzzTally> {
  const t = tally();
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'pcap', 'raw-ns-be.pcap');
  const runOne = (argv: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }> =>
    new Promise((resolve) => {
      const started = performance.now();
      const child = spawn(process.execPath, [CLI, ...argv.map((a) => (a === 'a.pcap' ? fixture : a))], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 100_000) stderr += d;
      });
      // A vector may legitimately run forever (conns -w, stats -i): stop it like Ctrl-C, then kill.
      const stop = setTimeout(() => child.kill('SIGINT'), timeoutMs);
      const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 3000);
      child.on('close', (code, signal) => {
        clearTimeout(stop);
        clearTimeout(kill);
        resolve({ code, signal, stderr, ms: performance.now() - started });
      });
    });
  const queue = vectors.map((v, n) => ({ v, n }));
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const r = await runOne(item.v);
      t.inputs++;
      t.slowestMs = Math.max(t.slowestMs, r.ms);
      t.longestMessage = Math.max(t.longestMessage, r.stderr.length);
      const outcome = r.signal !== null ? `signal ${r.signal}` : `exit ${r.code}`;
      count(t, outcome);
      const where = `argv #${item.n} ${JSON.stringify(item.v).slice(0, 300)}`;
      if (r.signal === 'SIGKILL') fail(t, `${where}: did not stop on SIGINT`);
      if (r.code !== null && ![0, 1, 2, 130].includes(r.code)) fail(t, `${where}: exit ${r.code}: ${r.stderr.slice(0, 300)}`);
      if (/internal error/.test(r.stderr)) fail(t, `${where}: ${r.stderr.slice(0, 300)}`);
      if (r.stderr.length > 4000 && !/^Usage: tcpdiag/m.test(r.stderr)) fail(t, `${where}: ${r.stderr.length} characters of stderr`);
    }
  };
  await Promise.all([worker(), worker()]);
  return t;
}

/** One line per tally, for test names, the long-run script and reports. */
export function describeTally(name: string, t: FuzzTally): string {
  const outcomes = Object.entries(t.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${name}: ${t.inputs} inputs (${outcomes}); ${t.failures.length} rule breaks; longest message ${t.longestMessage} characters; slowest ${Math.round(t.slowestMs)} ms`;
}
