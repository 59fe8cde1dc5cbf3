/**
 * The command tree as plain data, read from commander's own objects: the one source of the
 * shell completions (completion.ts) and the man page (manpage.ts), so neither can drift from
 * what the parser accepts.
 */
import type { EventEmitter } from 'node:events';
import type { Argument, Command, Option } from 'commander';
import type { FlagParser } from './options.js';

export interface OptionDoc {
  /** "-c, --count <n>" */
  readonly flags: string;
  readonly short: string | null;
  readonly long: string | null;
  /** The value's name ("n", "file"), or null for a switch. */
  readonly value: string | null;
  readonly description: string;
  readonly choices: readonly string[];
  /** The value is a path: shells complete file names. */
  readonly isFile: boolean;
}

export interface ArgumentDoc {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly description: string;
  readonly choices: readonly string[];
  readonly isFile: boolean;
}

export interface CommandDoc {
  readonly name: string;
  /** Names from the root: ["fault", "loss"]; [] for tcpdiag itself. */
  readonly path: readonly string[];
  readonly description: string;
  readonly options: readonly OptionDoc[];
  readonly arguments: readonly ArgumentDoc[];
  readonly subcommands: readonly CommandDoc[];
  /** The text --help prints after the options (examples, JSON fields). */
  readonly helpAfter: string;
}

const FILE_VALUE = /^(file|path|dir|directory)$/i;

function optionDoc(option: Option): OptionDoc {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1] ?? null;
  const choices = option.argChoices ?? (option.parseArg as FlagParser<unknown> | undefined)?.choices ?? [];
  return {
    flags: option.flags,
    short: option.short ?? null,
    long: option.long ?? null,
    value,
    description: option.description,
    choices,
    isFile: value !== null && choices.length === 0 && FILE_VALUE.test(value) && (option.parseArg as FlagParser<unknown> | undefined)?.accepts === undefined,
  };
}

function argumentDoc(argument: Argument): ArgumentDoc {
  return {
    name: argument.name(),
    required: argument.required,
    variadic: argument.variadic,
    description: argument.description,
    choices: argument.argChoices ?? [],
    isFile: FILE_VALUE.test(argument.name()),
  };
}

/** The text a command adds after its help ("Examples: ..."), as --help prints it. */
function helpAfter(command: Command): string {
  let text = '';
  const events = ['afterHelp'];
  // commander keeps addHelpText() as listeners on these events: emit them into a string.
  for (const event of events) {
    // commander's Command is an EventEmitter at run time; its type declarations omit it.
    for (const listener of (command as unknown as EventEmitter).listeners(event) as Array<(context: { error: boolean; command: Command; write: (s: string) => void }) => void>) {
      // addHelpText's listener writes through context.write.
      listener({ error: false, command, write: (s: string) => (text += s) });
    }
  }
  return text.replace(/^\n+/, '').trimEnd();
}

export function describeCommand(command: Command, path: readonly string[] = []): CommandDoc {
  const help = command.createHelp();
  return {
    name: path.length === 0 ? command.name() : path[path.length - 1]!,
    path,
    description: command.description(),
    // Help's visibleOptions adds -h/--help (and -V/--version on the root) as --help lists them.
    options: help.visibleOptions(command).map(optionDoc),
    arguments: command.registeredArguments.map(argumentDoc),
    subcommands: command.commands.map((sub) => describeCommand(sub, [...path, sub.name()])),
    helpAfter: helpAfter(command),
  };
}

/** Every command below `doc` (itself included), parents first. */
export function flatten(doc: CommandDoc): CommandDoc[] {
  return [doc, ...doc.subcommands.flatMap(flatten)];
}
