/**
 * The country of a peer address, from a MaxMind DB file (`agent.geoip_file`): GeoLite2 or
 * GeoIP2 Country/City (`country.iso_code`) or the free ip-location-db/DB-IP country files
 * (`country_code`). Read with the `maxmind` package (the reader MaxMind's own docs list for
 * Node; pure JavaScript, the file is memory-held and looked up by its binary trie in µs).
 * The lookup is the agent's, not the page's: the file is tens of MB and the bundle stays small.
 */
import { readFileSync, statSync } from 'node:fs';
import { Reader } from 'maxmind';
import type { Response } from 'maxmind';
import { FileRefusedError, TcpdiagError, describeSystemError } from '../errors.js';

interface CountryRecord {
  readonly country?: { readonly iso_code?: string };
  readonly registered_country?: { readonly iso_code?: string };
  readonly country_code?: string;
}

/** A GeoIP country database the size of a full City file (~70 MB) and some room, at most. */
const MAX_BYTES = 512 * 1024 * 1024;

const HINT = 'set agent.geoip_file to a MaxMind DB (.mmdb) country file (GeoLite2-Country, DB-IP or ip-location-db), or "" for none';

function unreadable(file: string, cause: unknown): TcpdiagError {
  return new TcpdiagError('TCPDIAG_FILE_UNREADABLE', `agent.geoip_file: cannot read ${file}: ${describeSystemError(cause)}`, { hint: HINT, cause });
}

export class GeoIp {
  private readonly cache = new Map<string, string | null>();

  private constructor(private readonly reader: Reader<Response>, readonly file: string, readonly databaseType: string) {}

  /** Open `file`; a clear error when it is missing, too large or not a MaxMind DB. */
  static open(file: string): GeoIp {
    let size: number;
    try {
      size = statSync(file).size;
    } catch (error: unknown) {
      throw unreadable(file, error);
    }
    if (size > MAX_BYTES) throw new FileRefusedError(file, `${size} bytes is more than a GeoIP country database`, HINT);
    let buffer: Buffer;
    try {
      buffer = readFileSync(file);
    } catch (error: unknown) {
      throw unreadable(file, error);
    }
    try {
      const reader = new Reader<Response>(buffer);
      return new GeoIp(reader, file, reader.metadata.databaseType);
    } catch (error: unknown) {
      throw new FileRefusedError(file, `not a MaxMind DB file (${error instanceof Error ? error.message : String(error)})`, HINT);
    }
  }

  /** The ISO 3166-1 alpha-2 code of the address's country; null when the database has none (private ranges, unlisted). */
  country(address: string): string | null {
    const cached = this.cache.get(address);
    if (cached !== undefined) return cached;
    let code: string | null = null;
    try {
      const r = this.reader.get(address.replace(/^::ffff:(?=\d+\.)/i, '')) as CountryRecord | null;
      code = r?.country?.iso_code ?? r?.country_code ?? r?.registered_country?.iso_code ?? null;
    } catch {
      // Not an IP address (the rollups' "other" row): no country.
      code = null;
    }
    // Bounded: a scan from many sources must not grow this without end.
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(address, code);
    return code;
  }
}
