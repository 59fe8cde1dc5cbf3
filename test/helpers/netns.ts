/**
 * Network namespaces for tests (`ip netns`): a unique name, loopback up with the addresses the
 * test asks for, always deleted (also when the test fails: call delete() from `after`).
 * Traffic inside stays inside: the namespace has no interface but its own lo.
 */
import { spawnSync } from 'node:child_process';
import { isRoot, findExecutable } from '../../src/platform/capabilities.js';

export function netnsUsable(): string | null {
  if (!isRoot()) return 'needs root (ip netns add)';
  if (findExecutable('ip') === null) return 'needs iproute2 (apt-get install -y iproute2)';
  return null;
}

function ip(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

let made = 0;

export class TestNetns {
  readonly name: string;
  private deleted = false;

  private constructor(name: string) {
    this.name = name;
  }

  get path(): string {
    return `/run/netns/${this.name}`;
  }

  /** A namespace with lo up and `addresses` (e.g. "10.1.2.3/8", "2001:db8::5/64") on it. */
  static create(purpose: string, addresses: readonly string[] = []): TestNetns {
    const ns = new TestNetns(`tcpdiag-${purpose}-${process.pid}-${made++}`);
    ip(['netns', 'add', ns.name]);
    try {
      ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
      // nodad: an IPv6 address on lo is usable at once instead of "tentative" for a second.
      for (const a of addresses) ip(['-n', ns.name, 'addr', 'add', a, 'dev', 'lo', ...(a.includes(':') ? ['nodad'] : [])]);
    } catch (error: unknown) {
      ns.delete();
      throw error;
    }
    return ns;
  }

  /** argv that runs `command` inside the namespace. */
  exec(command: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...command];
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    spawnSync('ip', ['netns', 'delete', this.name], { encoding: 'utf8' });
  }
}
