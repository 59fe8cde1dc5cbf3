/**
 * What applying a plan touches, behind one interface: nft, sysctls and the sysctl.d file. The
 * host's own, or a network namespace's: there nft and sysctl run through `nsenter --net=PATH`
 * (nsenter(1) execs the tool inside the namespace, whose nft ruleset and net.* sysctls are its
 * own: net/core/net_namespace.c), so a plan made for a namespace never changes the host.
 * Every tool runs through spawn with an argument array (assist/fault/nft.ts runTool): no shell.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TcpdiagError, ToolMissingError, UsageError } from '../../errors.js';
import { GUARD_TABLE, GUARD_TABLE_FAMILY } from '../../model/guard.js';
import { findExecutable, readSysctl } from '../../platform/capabilities.js';
import { runTool } from '../../assist/fault/nft.js';
import type { NftResult } from '../../assist/fault/nft.js';

export interface PlanSystem {
  /** Where changes land: "the host" or "network namespace NAME". */
  readonly where: string;
  /** The argv prefix shown in a plan's commands ("nsenter --net=PATH --" or nothing). */
  readonly prefix: readonly string[];
  nft(args: readonly string[], input?: string): Promise<NftResult>;
  /** `nft list table inet tcpdiag_guard`, or null when there is none. */
  guardTable(): Promise<string | null>;
  readSysctl(name: string): Promise<string | null>;
  writeSysctl(name: string, value: string): Promise<void>;
  readFile(path: string): string | null;
  writeFile(path: string, content: string): void;
  removeFile(path: string): void;
}

/** Dotted sysctl names only (no "..", no slashes): the name becomes a /proc/sys path. */
export function checkSysctlName(name: string): string {
  if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$/.test(name)) throw new UsageError(`plan: "${name.slice(0, 80)}" is not a sysctl name`, 'sysctl names look like net.ipv4.tcp_syncookies');
  return name;
}

/** Numbers and blanks (ranges such as "32768 60999") are all the settings the plans write. */
export function checkSysctlValue(value: string): string {
  if (!/^[0-9][0-9 \t]*$/.test(value) || value.length > 64) throw new UsageError(`plan: sysctl value "${value.slice(0, 80)}" is not a number or a list of numbers`);
  return value;
}

/** Values as the kernel prints them (tabs between numbers) and as written compare alike. */
export function sameSysctlValue(a: string | null, b: string | null): boolean {
  return (a ?? '').trim().replace(/\s+/g, ' ') === (b ?? '').trim().replace(/\s+/g, ' ');
}

function tool(name: string, pkg: string): string {
  const path = findExecutable(name);
  if (path === null) throw new ToolMissingError(name, pkg);
  return path;
}

export function planSystem(netns: { readonly path: string; readonly name: string | null } | null): PlanSystem {
  const prefix = netns === null ? [] : ['nsenter', `--net=${netns.path}`, '--'];
  const run = (file: string, pkg: string, args: readonly string[], input?: string): Promise<NftResult> =>
    netns === null ? runTool(tool(file, pkg), args, input) : runTool(tool('nsenter', 'util-linux'), [`--net=${netns.path}`, '--', tool(file, pkg), ...args], input);
  return {
    where: netns === null ? 'the host' : `network namespace ${netns.name ?? netns.path}`,
    prefix,
    nft: (args, input) => run('nft', 'nftables', args, input),
    async guardTable() {
      const r = await run('nft', 'nftables', ['list', 'table', GUARD_TABLE_FAMILY, GUARD_TABLE]);
      return r.code === 0 ? r.stdout : null;
    },
    async readSysctl(name) {
      checkSysctlName(name);
      if (netns === null) return readSysctl(name);
      const r = await run('sysctl', 'procps', ['-n', name]);
      return r.code === 0 ? r.stdout.trim().replace(/\s+/g, ' ') : null;
    },
    async writeSysctl(name, value) {
      checkSysctlName(name);
      checkSysctlValue(value);
      if (netns === null) {
        try {
          writeFileSync(join('/proc/sys', name.replace(/\./g, '/')), value);
        } catch (error: unknown) {
          throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', `cannot set ${name}=${value}: ${error instanceof Error ? error.message : String(error)}`, { hint: 'run as root: sudo tcpdiag plan apply FILE' });
        }
        return;
      }
      const r = await run('sysctl', 'procps', ['-q', '-w', `${name}=${value}`]);
      if (r.code !== 0) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', `cannot set ${name}=${value} in ${netns.name ?? netns.path}: ${r.stderr.trim()}`, { hint: 'run as root; only net.* sysctls belong to a namespace' });
    },
    readFile: (path) => (existsSync(path) ? readFileSync(path, 'utf8') : null),
    writeFile: (path, content) => writeFileSync(path, content, { mode: 0o644 }),
    removeFile: (path) => {
      if (existsSync(path)) unlinkSync(path);
    },
  };
}
