import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command, Option } from 'commander';
import { TcpdiagError } from '../errors.js';
import { COMMANDS } from './commands/index.js';
import { buildProgram } from './program.js';
import { allCommands, commandPath } from './flag-conventions.js';

const HOSTILE = ['0x50', '1e3', '99999999999999999999', 'inf', 'nan', '-1', '1.5e2', ' '];

async function everyOption(): Promise<Array<{ command: Command; option: Option }>> {
  const program = await buildProgram([], COMMANDS);
  return allCommands(program).flatMap((command) => command.options.map((option) => ({ command, option })));
}

/** A parser is numeric when it turns "5" (or "5s") into a number. */
function numericResult(option: Option): boolean {
  for (const sample of ['5', '5s']) {
    try {
      const value = option.parseArg?.(sample, undefined);
      if (typeof value === 'number' || (Array.isArray(value) && typeof value[0] === 'number')) return true;
    } catch {
      // not this sample
    }
  }
  return false;
}

test('every numeric flag documents its range in --help and refuses hex, exponents, overflow, inf, nan and negatives', async () => {
  let numeric = 0;
  for (const { command, option } of await everyOption()) {
    if (!(option.required || option.optional) || option.parseArg === undefined || !numericResult(option)) continue;
    numeric++;
    const where = `${commandPath(command)} ${option.flags}`;
    assert.match(option.description, /\((range|duration): [^)]+\)/, `${where}: no range in its help`);
    for (const bad of HOSTILE) {
      assert.throws(() => option.parseArg?.(bad, undefined), (error: unknown) => {
        assert.ok(error instanceof TcpdiagError && error.code === 'TCPDIAG_USAGE', `${where} ${bad}: ${String(error)}`);
        assert.ok(error.message.startsWith(`${option.long ?? option.short}: `), `${where}: the refusal does not name the flag: ${error.message}`);
        return true;
      }, `${where} accepted ${JSON.stringify(bad)}`);
    }
  }
  assert.ok(numeric >= 40, `only ${numeric} numeric flags found`);
});

test('a bare number is seconds in every duration flag', async () => {
  let durations = 0;
  for (const { command, option } of await everyOption()) {
    if (!/\(duration: /.test(option.description)) continue;
    durations++;
    const value = option.parseArg?.('2', undefined);
    assert.equal(Array.isArray(value) ? value[0] : value, 2000, `${commandPath(command)} ${option.flags}`);
  }
  assert.ok(durations >= 15, `only ${durations} duration flags found`);
});

test('no global -c: the config flag is --config only', async () => {
  const program = await buildProgram([], COMMANDS);
  const config = program.options.find((o) => o.long === '--config');
  assert.ok(config !== undefined);
  assert.equal(config.short, undefined);
});

test('each command with short flags names the tool they follow in --help', async () => {
  const program = await buildProgram([], COMMANDS);
  const follows: Record<string, RegExp> = {
    conns: /follow ss\(8\)/, listeners: /follow ss\(8\)/, capture: /follow tcpdump\(8\)/, trace: /follow bcc's tools/, bench: /follow wrk\(1\) and wrk2/, stats: /follow ping\(8\) and tcpdump\(8\)/,
  };
  for (const [name, pattern] of Object.entries(follows)) {
    const command = program.commands.find((c) => c.name() === name);
    assert.ok(command !== undefined, name);
    let help = '';
    command.configureOutput({ writeOut: (text) => (help += text) });
    command.outputHelp();
    assert.match(help, pattern, name);
  }
});

test('a refused value is quoted clipped: a 10 MB argument gives a short message', async () => {
  const program = await buildProgram([], COMMANDS);
  const conns = program.commands.find((c) => c.name() === 'conns');
  const port = conns?.options.find((o) => o.long === '--port');
  assert.ok(port?.parseArg !== undefined);
  const huge = '9'.repeat(10 * 1024 * 1024);
  assert.throws(() => port.parseArg?.(huge, undefined), (error: unknown) => error instanceof Error && error.message.length < 300 && /10485760 characters/.test(error.message));
  // Parsers that quote the value in full themselves (found by the argv fuzzer: --addr, --state).
  for (const long of ['--addr', '--state']) {
    const option = conns?.options.find((o) => o.long === long);
    assert.throws(() => option?.parseArg?.('x'.repeat(100_000), undefined), (error: unknown) => error instanceof Error && error.message.length < 600, long);
  }
});
