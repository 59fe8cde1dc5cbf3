/**
 * Hostile configuration files (400 mutations of tcp_diag.conf, the reviewers' corpus size):
 * resolveConfig ends normally or with a TcpdiagError, with short messages that name values as
 * they were written. The long run: scripts/fuzz-cli.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTally, fuzzConfigs } from './cli-fuzz-support.js';

test('400 mutated configs: no crash, no hang, short messages, no "got null"', () => {
  const t = fuzzConfigs(400, 0x5eed);
  console.log(describeTally('config fuzz', t));
  assert.equal(t.inputs, 400);
  assert.deepEqual(t.failures, []);
  assert.ok((t.outcomes.ok ?? 0) + (t.outcomes['ok with warnings'] ?? 0) > 20, 'some mutations are still valid files');
  assert.ok((t.outcomes.TCPDIAG_CONFIG_INVALID ?? 0) > 100, 'most are refused by the schema or the TOML parser');
});
