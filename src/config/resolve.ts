/**
 * resolveConfig: defaults < file < environment < flags (style guide, habit 9).
 *
 * The file is looked up at --config FILE, $TCPDIAG_CONFIG, ./tcp_diag.conf and
 * /etc/tcpdiag/tcp_diag.conf, first found wins. A named file (flag or env) that is missing is
 * an error; the implicit ones are optional. Environment variables are TCPDIAG_<SECTION>_<KEY>
 * (e.g. TCPDIAG_CAPTURE_SNAPLEN=128); one that does not parse warns and is ignored.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { FILE_LIMITS } from '../model/limits.js';
import { readBoundedFileSync } from '../platform/read-file.js';
import { configSchema } from './schema.js';
import type { ConfigOverrides, TcpdiagConfig } from './schema.js';

export const DEFAULT_CONFIG_PATHS = ['./tcp_diag.conf', '/etc/tcpdiag/tcp_diag.conf'] as const;

export interface ResolveOptions {
  /** --config FILE */
  readonly configPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags (highest precedence). */
  readonly overrides?: ConfigOverrides;
  readonly cwd?: string;
}

export interface ResolvedConfig {
  readonly config: TcpdiagConfig;
  /** The file that was read, or null when only defaults (and env/flags) apply. */
  readonly file: string | null;
  /** Environment values that were ignored, and why. */
  readonly warnings: readonly string[];
}

export function resolveConfig(options: ResolveOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = locateConfigFile(options.configPath, env, cwd);
  const fromFile = file === null ? {} : readConfigFile(file);
  const warnings: string[] = [];
  const fromEnv = configFromEnv(env, warnings);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), (options.overrides ?? {}));
  return { config: validateConfig(merged, file ?? 'configuration'), file, warnings };
}

function locateConfigFile(flagPath: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | null {
  const named = flagPath ?? env.TCPDIAG_CONFIG;
  if (named !== undefined && named !== '') {
    const path = resolvePath(cwd, named);
    if (!existsSync(path)) {
      const via = flagPath !== undefined ? '--config' : '$TCPDIAG_CONFIG';
      throw new ConfigError(`config file ${path} (from ${via}) does not exist`, {
        hint: 'copy the commented example: cp tcp_diag.conf /etc/tcpdiag/tcp_diag.conf',
      });
    }
    return path;
  }
  for (const candidate of DEFAULT_CONFIG_PATHS) {
    const path = resolvePath(cwd, candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

function readConfigFile(path: string): Record<string, unknown> {
  const text = readBoundedFileSync(path, FILE_LIMITS.config, 'config file').toString('utf8');
  try {
    return parseToml(text);
  } catch (error: unknown) {
    if (error instanceof TomlError) {
      throw new ConfigError(`${path}:${error.line}:${error.column}: not valid TOML: ${error.message.split('\n')[0] ?? ''}`, {
        hint: 'the file is TOML: `key = value` lines under `[section]` headers; strings in double quotes',
      });
    }
    throw error;
  }
}

/** Validate a merged object; the error lists every bad key path, its value and what is allowed. */
export function validateConfig(input: unknown, where: string): TcpdiagConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => describeIssue(issue, input));
  throw new ConfigError(`${where}: invalid configuration\n  ${lines.join('\n  ')}`, {
    hint: 'see the commented example tcp_diag.conf in the repository for every key and its allowed values',
  });
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? '' : `${path}: `;
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  const value = valueAt(input, issue.path);
  const got = value === undefined ? 'nothing' : JSON.stringify(value);
  return `${path}: ${allowedText(issue)}, got ${got}`;
}

function allowedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return `expected ${issue.origin === 'string' ? 'a string of length' : 'a value'} >= ${String(issue.minimum)}`;
    case 'too_big':
      return `expected ${issue.origin === 'string' ? 'a string of length' : 'a value'} <= ${String(issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cursor: unknown = input;
  for (const key of path) {
    if (cursor === null || typeof cursor !== 'object') return undefined;
    cursor = (cursor as Record<PropertyKey, unknown>)[key];
  }
  return cursor;
}

/**
 * TCPDIAG_<SECTION>_<KEY>=value. Values are typed by the default's type: numbers, booleans,
 * comma-separated lists. A value that does not parse is reported in `warnings` and skipped.
 */
function configFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): Record<string, unknown> {
  const defaults = configSchema.parse({}) as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(defaults)) {
    for (const [key, defaultValue] of Object.entries(keys)) {
      const name = `TCPDIAG_${section}_${key}`.toUpperCase();
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      const value = coerceEnvValue(raw, defaultValue);
      const candidate = { [section]: { [key]: value } };
      const check = configSchema.safeParse(candidate);
      if (value === undefined || !check.success) {
        warnings.push(`${name}=${JSON.stringify(raw)} ignored: ${check.success ? 'cannot parse' : describeIssue(check.error.issues[0]!, candidate)}`);
        continue;
      }
      (out[section] ??= {})[key] = value;
    }
  }
  return out;
}

function coerceEnvValue(raw: string, defaultValue: unknown): unknown {
  if (typeof defaultValue === 'number') {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  if (typeof defaultValue === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return undefined;
  }
  if (Array.isArray(defaultValue)) return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return raw;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
