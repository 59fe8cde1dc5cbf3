/**
 * nftables tables for tests: created with a unique name, always deleted. Rules are built from
 * numbers the test controls, never from outside input.
 */
import { spawnSync } from 'node:child_process';
import { isRoot, findExecutable } from '../../src/platform/capabilities.js';

export function nftUsable(): string | null {
  if (!isRoot()) return 'needs root (nftables)';
  if (findExecutable('nft') === null) return 'needs nft (apt-get install -y nftables)';
  return null;
}

export class NftTable {
  readonly name: string;
  constructor(purpose: string) {
    this.name = `tcpdiag_test_${purpose}_${process.pid}`;
  }

  /** Create the table with one input-hook chain holding `rules` (nft syntax lines). */
  create(rules: readonly string[]): void {
    const ruleset = `table inet ${this.name} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;
    const result = spawnSync('nft', ['-f', '-'], { input: ruleset, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`nft -f failed: ${result.stderr}\n${ruleset}`);
  }

  delete(): void {
    spawnSync('nft', ['delete', 'table', 'inet', this.name], { encoding: 'utf8' });
  }
}
