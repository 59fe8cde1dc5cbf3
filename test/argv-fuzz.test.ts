/**
 * Garbage argument vectors (747 mutations of plausible command lines of every command, the
 * reviewers' corpus size) through the parsers with the actions stubbed, and a sample of the
 * read-only commands through the real bin. The long run: scripts/fuzz-cli.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argvVectors, describeTally, fuzzArgvInProcess, fuzzArgvThroughBin, safeToRun } from './cli-fuzz-support.js';

test('747 garbage argument vectors: every one parses or is a usage error; no other exception, short stderr, finite numbers', async () => {
  const t = await fuzzArgvInProcess(await argvVectors(747, 0xa76));
  console.log(describeTally('argv fuzz (parsers)', t));
  assert.equal(t.inputs, 747);
  assert.deepEqual(t.failures, []);
  assert.equal(t.outcomes.bug, undefined);
  assert.ok((t.outcomes.TCPDIAG_USAGE ?? 0) > 50, 'hostile values are refused by the flag parsers');
  // The vectors are seeded, so these counts move only when the command tree does (a new
  // command changes which mutations land where); the point is that both kinds occur in bulk.
  assert.ok((t.outcomes.parsed ?? 0) >= t.inputs * 0.05, 'some vectors are still valid');
});

test('40 garbage vectors of read-only commands through the bin: exit 0, 1 or 2, never "internal error", stop on Ctrl-C', async () => {
  const vectors = (await argvVectors(2000, 0xb1e)).filter(safeToRun).slice(0, 40);
  assert.equal(vectors.length, 40);
  const t = await fuzzArgvThroughBin(vectors, 3000);
  console.log(describeTally('argv fuzz (bin)', t));
  assert.deepEqual(t.failures, []);
});
