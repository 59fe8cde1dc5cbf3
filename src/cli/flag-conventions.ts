/**
 * Conventions every command gets without writing them itself, applied to the command tree once
 * it is built:
 * - a refused flag value is a UsageError (exit 2) that names the flag and quotes the value
 *   clipped (commander's own message would echo a 10 MB value in full, twice);
 * - --help shows what each numeric flag accepts after its description (the parsers of
 *   options.ts carry it), and explains the duration syntax once in each command that has one.
 */
import type { Argument, Command, Option } from 'commander';
import { TcpdiagError, UsageError } from '../errors.js';
import { DURATION_SYNTAX } from '../model/units.js';
import { SHOWN_VALUE_CHARS, showValue } from '../model/show-value.js';
import type { FlagParser } from './options.js';

type ParseArg = (value: string, previous: unknown) => unknown;

/** Every command under `root`, `root` included, parents first. */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/** "tcpdiag fault loss" */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function applyFlagConventions(root: Command): void {
  for (const command of allCommands(root)) {
    let durations = false;
    for (const option of command.options) {
      durations = describeAccepted(option) || durations;
      nameRefusals(option, option.long ?? option.short ?? option.flags, command);
    }
    for (const argument of command.registeredArguments) {
      durations = describeAccepted(argument) || durations;
      nameRefusals(argument, `argument <${argument.name()}>`, command);
    }
    if (durations) command.addHelpText('after', `\nDurations: ${DURATION_SYNTAX}.`);
  }
}

function describeAccepted(target: Option | Argument): boolean {
  const parse = target.parseArg as FlagParser<unknown> | undefined;
  if (parse?.accepts === undefined) return false;
  const label = parse.choices !== undefined ? 'one of' : parse.isDuration === true ? 'duration' : 'range';
  const accepts = parse.choices !== undefined ? parse.choices.join(', ') : parse.accepts;
  if (!target.description.includes(`(${label}:`)) target.description = `${target.description} (${label}: ${accepts})`;
  return parse.isDuration === true;
}

function nameRefusals(target: Option | Argument, label: string, command: Command): void {
  const parse = target.parseArg as ParseArg | undefined;
  if (parse === undefined) return;
  const wrapped = (value: string, previous: unknown): unknown => {
    try {
      return parse(value, previous);
    } catch (error: unknown) {
      throw refusal(error, value, label, command);
    }
  };
  // Keep what the parser says it accepts (completion and the man page read it too).
  const { accepts, isDuration, choices } = parse as FlagParser<unknown>;
  // commander types parseArg as generic in its result; ours returns what the parser returns.
  target.parseArg = Object.assign(wrapped, { accepts, isDuration, choices }) as NonNullable<typeof target.parseArg>;
}

function refusal(error: unknown, value: string, label: string, command: Command): UsageError {
  const help = `see ${commandPath(command)} --help`;
  const quoted = showValue(value);
  // A parser that quotes the value itself in full (a 100 kB --addr): clip it here, once for all.
  const clip = (message: string): string =>
    value.length <= SHOWN_VALUE_CHARS ? message : message.split(`"${value}"`).join(quoted).split(value).join(quoted);
  if (error instanceof TcpdiagError) return new UsageError(`${label}: ${clip(error.message)}`, error.hint ?? help);
  // commander's InvalidArgumentError (choices) and parsers that throw plain errors: their message
  // may not quote the value, so quote it here, clipped.
  const message = clip(error instanceof Error ? error.message : String(error));
  return new UsageError(`${label}: ${message.includes(quoted) ? message : `${quoted}: ${message}`}`, help);
}
