/**
 * What every command gets from the global options: the resolved configuration (with its
 * warnings already printed). Importing this loads the config schema (zod): commands that read
 * no configuration import their output helpers from run.ts instead.
 */
import type { Command } from 'commander';
import { resolveConfig } from '../config/resolve.js';
import type { ConfigOverrides, TcpdiagConfig } from '../config/schema.js';
import { warn } from './run.js';

export function loadConfig(command: Command, overrides: ConfigOverrides = {}): TcpdiagConfig {
  const globals = command.optsWithGlobals<{ config?: string }>();
  const resolved = resolveConfig({ configPath: globals.config, overrides });
  for (const message of resolved.warnings) warn(message);
  return resolved.config;
}

// Kept here too so existing imports work; the functions live in run.ts, which loads no schema.
export { printJson, printJsonLine } from './run.js';
