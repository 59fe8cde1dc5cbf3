/**
 * resolveConfig: defaults < file < environment < flags (style guide, habit 9).
 *
 * The file is looked up at --config FILE, $TCPDIAG_CONFIG, ./tcp_diag.conf and
 * /etc/tcpdiag/tcp_diag.conf, first found wins. A named file (flag or env) that is missing is
 * an error; the implicit ones are optional. Environment variables are TCPDIAG_<SECTION>_<KEY>
 * (e.g. TCPDIAG_CAPTURE_SNAPLEN=128); one that does not parse warns and is ignored.
 *
 * Each section is validated on its own: the command names the sections it reads, and a bad
 * value in another one is a warning (that section keeps its defaults), so a broken [agent] key
 * never stops `analyze`. The file itself (missing, not regular, too large, not TOML) is an
 * error for every command.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type * as z from 'zod/mini';
import { ConfigError } from '../errors.js';
import { FILE_LIMITS } from '../model/limits.js';
import { readBoundedFileSync } from '../platform/read-file.js';
import { SECTION_NAMES, SECTION_SCHEMAS, configSchema } from './schema.js';
import type { ConfigOverrides, SectionName, TcpdiagConfig } from './schema.js';
import { clipQuoted, showValue } from '../model/show-value.js';

export const DEFAULT_CONFIG_PATHS = ['./tcp_diag.conf', '/etc/tcpdiag/tcp_diag.conf'] as const;

export interface ResolveOptions {
  /** --config FILE */
  readonly configPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags (highest precedence). */
  readonly overrides?: ConfigOverrides;
  readonly cwd?: string;
  /**
   * The sections the command reads. A bad value in one of them stops it (ConfigError); one in
   * another section is a warning and that section keeps its defaults, so a broken [agent] key
   * does not stop `analyze`. Undefined: every section, strictly (unknown sections are errors).
   */
  readonly sections?: readonly SectionName[];
}

export interface ResolvedConfig {
  readonly config: TcpdiagConfig;
  /** The file that was read, or null when only defaults (and env/flags) apply. */
  readonly file: string | null;
  /** What was ignored, and why: environment values that do not parse, sections the command does not read. */
  readonly warnings: readonly string[];
}

export function resolveConfig(options: ResolveOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = locateConfigFile(options.configPath, env, cwd);
  const fromFile = file === null ? {} : readConfigFile(file);
  const where = file ?? 'configuration';
  const strict = options.sections === undefined;
  const used = new Set<SectionName>(options.sections ?? SECTION_NAMES);
  const warnings: string[] = [];
  const errors: string[] = [];

  const unknown = Object.keys(fromFile).filter((key) => !(SECTION_NAMES as readonly string[]).includes(key));
  if (unknown.length > 0) {
    const line = `unknown key${unknown.length > 1 ? 's' : ''} ${listSome(unknown.map((k) => clipQuoted(k)))} (sections: ${SECTION_NAMES.join(', ')})`;
    if (strict) errors.push(line);
    else warnings.push(`${where}: ${line}: ignored`);
  }

  const fromEnv = configFromEnv(env, warnings);
  const config: Partial<Record<SectionName, unknown>> = {};
  for (const name of SECTION_NAMES) {
    const input = sectionInput(fromFile[name], fromEnv[name], options.overrides?.[name]);
    const result = SECTION_SCHEMAS[name].safeParse(input);
    if (result.success) {
      config[name] = result.data;
      continue;
    }
    const lines = result.error.issues.map((issue) => describeIssue(issue, input, [name]));
    if (used.has(name)) {
      errors.push(...lines);
    } else {
      warnings.push(`${where}: [${name}] is not used by this command and keeps its defaults: ${listSome(lines, 2, '; ')}`);
      config[name] = SECTION_SCHEMAS[name].parse({});
    }
  }
  if (errors.length > 0) {
    throw new ConfigError(`${where}: invalid configuration\n  ${errors.join('\n  ')}`, {
      hint: 'see the commented example tcp_diag.conf in the repository for every key and its allowed values',
    });
  }
  return { config: config as TcpdiagConfig, file, warnings };
}

/** The first few items, and how many more: a message stays one readable line. */
function listSome(items: readonly string[], max = 5, separator = ', '): string {
  return items.length <= max ? items.join(separator) : `${items.slice(0, max).join(separator)}${separator}and ${items.length - max} more`;
}

/** A section's file value, overlaid with the environment's and the flags'; a non-table as it is (the schema names it). */
function sectionInput(fileValue: unknown, envValue: unknown, flagValue: unknown): unknown {
  if (fileValue !== undefined && !isPlainObject(fileValue)) return fileValue;
  return deepMerge(deepMerge(asRecord(fileValue), asRecord(envValue)), asRecord(flagValue));
}

function asRecord(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
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

/** Validate a whole merged configuration strictly; the error lists every bad key path, its value and what is allowed. */
export function validateConfig(input: unknown, where: string): TcpdiagConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => describeIssue(issue, input));
  throw new ConfigError(`${where}: invalid configuration\n  ${lines.join('\n  ')}`, {
    hint: 'see the commented example tcp_diag.conf in the repository for every key and its allowed values',
  });
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown, prefix: readonly PropertyKey[] = []): string {
  const path = [...prefix, ...issue.path].map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? '' : `${path}: `;
    return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${listSome(issue.keys.map((k) => clipQuoted(k)))}`;
  }
  // The value as written: inf and nan named (JSON would print null), long text clipped.
  return `${path}: ${allowedText(issue)}, got ${showValue(valueAt(input, issue.path))}`;
}

function allowedText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'expected an integer' : `expected ${issue.expected}`;
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
function configFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): Partial<Record<SectionName, Record<string, unknown>>> {
  const out: Partial<Record<SectionName, Record<string, unknown>>> = {};
  // Start-up time: most runs set no TCPDIAG_<SECTION>_* variable at all.
  const names = Object.keys(env).filter((name) => name.startsWith('TCPDIAG_'));
  if (names.length === 0) return out;
  for (const section of SECTION_NAMES) {
    if (!names.some((name) => name.startsWith(`TCPDIAG_${section.toUpperCase()}_`))) continue;
    const schema = SECTION_SCHEMAS[section];
    for (const [key, defaultValue] of Object.entries(schema.parse({}) as Record<string, unknown>)) {
      const name = `TCPDIAG_${section}_${key}`.toUpperCase();
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      const value = coerceEnvValue(raw, defaultValue);
      const candidate = { [key]: value };
      const check = value === undefined ? null : schema.safeParse(candidate);
      if (check === null || !check.success) {
        const why = check === null ? `not ${typeof defaultValue === 'number' ? 'a decimal number' : typeof defaultValue === 'boolean' ? 'true or false' : 'a value'}` : describeIssue(check.error.issues[0]!, candidate, [section]);
        warnings.push(`${name}=${clipQuoted(raw)} ignored: ${why}`);
        continue;
      }
      (out[section] ??= {})[key] = value;
    }
  }
  return out;
}

function coerceEnvValue(raw: string, defaultValue: unknown): unknown {
  if (typeof defaultValue === 'number') {
    // Decimal digits only, as flags (model/units.ts): Number() would take 0x50, 1e3 and Infinity.
    return /^-?\d+(?:\.\d+)?$/.test(raw.trim()) ? Number(raw) : undefined;
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
