/**
 * What every command gets from the global options: the resolved configuration (with its
 * warnings already printed) and how to print JSON.
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

export function printJson(value: unknown, pretty = false): void {
  process.stdout.write(JSON.stringify(value, null, pretty ? 2 : undefined) + '\n');
}

/** JSON for one event per line (trace, capture --json). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
