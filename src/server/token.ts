/**
 * The agent's bearer token. Loopback needs none (only local processes reach it); any other
 * address does, so the API is never open to the network by accident. The token comes from the
 * configuration, else from `token` in the data directory, which `--new-token` writes once (mode
 * 0600, 256 random bits) and the agent prints once, when it is made.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

export interface TokenChoice {
  readonly token: string | null;
  /** Set when this start generated it: the only time it is shown. */
  readonly generated: boolean;
  readonly file: string;
}

export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const a = address.toLowerCase();
  return a === '::1' || a.startsWith('::ffff:127.');
}

export function resolveToken(configured: string, dataDir: string, listen: string, generate: boolean): TokenChoice {
  const file = join(dataDir, 'token');
  if (configured !== '') return { token: configured, generated: false, file };
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (text !== '') return { token: text, generated: false, file };
  }
  if (generate) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const token = randomBytes(32).toString('base64url');
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true, file };
  }
  if (!isLoopbackAddress(listen)) {
    throw new UsageError(
      `refusing to listen on ${listen} without a token: anyone who reaches it could read every connection of this host`,
      `set agent.token in the configuration, or run once with --new-token (it is kept in ${file}, mode 0600), or listen on 127.0.0.1`,
    );
  }
  return { token: null, generated: false, file };
}

/** Constant-time check of an `Authorization: Bearer TOKEN` header. */
export function authorized(header: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (m === null) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
