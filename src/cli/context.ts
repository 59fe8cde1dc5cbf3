/**
 * What every command gets from the global options: the resolved configuration, with its
 * warnings printed. Each command names the sections it reads: a bad value there stops it, one
 * elsewhere in the file is a warning (resolve.ts). Commands that read no section still call
 * this, so a --config that names a missing, unreadable or broken file fails everywhere alike.
 */
import type { Command } from 'commander';
import { resolveConfig } from '../config/resolve.js';
import type { ConfigOverrides, SectionName, TcpdiagConfig } from '../config/schema.js';
import { warn } from './run.js';

export interface LoadConfigOptions {
  /** The sections this command reads (none: it only checks the file). */
  readonly sections: readonly SectionName[];
  /** Flag values, already checked by their parsers against the same ranges (model/limits.ts). */
  readonly overrides?: ConfigOverrides;
}

export function loadConfig(command: Command, options: LoadConfigOptions): TcpdiagConfig {
  const globals = command.optsWithGlobals<{ config?: string }>();
  const resolved = resolveConfig({ configPath: globals.config, sections: options.sections, ...(options.overrides === undefined ? {} : { overrides: options.overrides }) });
  for (const message of resolved.warnings) warn(message);
  return resolved.config;
}

// Kept here too so existing imports work; the functions live in run.ts.
export { printJson, printJsonLine } from './run.js';
