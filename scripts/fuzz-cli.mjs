// The long run of the configuration and argument-vector fuzzers (test/cli-fuzz-support.ts; the
// test suite runs them briefly: 400 configs, 747 vectors, 40 through the bin). Build first:
//   npm run build && node scripts/fuzz-cli.mjs [--configs 20000] [--argv 50000] [--bin 400] [--seed 1]
// A failure prints the input's number and seed, so it replays. Exits 1 if any rule broke.
// The --bin vectors run the read-only commands (conns, listeners, stats, analyze, --help): no
// kernel state is changed, two at a time, each stopped after 3 s.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: '20000' },
    argv: { type: 'string', default: '50000' },
    bin: { type: 'string', default: '400' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
  },
});
const support = await import(fileURLToPath(new URL('../dist/test/cli-fuzz-support.js', import.meta.url)));
const seed = Number(values.seed);
const results = [];
const timed = async (name, run) => {
  const started = Date.now();
  const tally = await run();
  results.push(tally);
  console.log(`${support.describeTally(name, tally)}; ${((Date.now() - started) / 1000).toFixed(1)} s; seed ${seed}`);
  for (const failure of tally.failures) console.log(`  ${failure}`);
};
await timed('config fuzz', () => support.fuzzConfigs(Number(values.configs), seed));
await timed('argv fuzz (parsers)', async () => support.fuzzArgvInProcess(await support.argvVectors(Number(values.argv), seed)));
await timed('argv fuzz (bin)', async () => {
  const vectors = (await support.argvVectors(Number(values.bin) * 20, seed + 1)).filter(support.safeToRun).slice(0, Number(values.bin));
  return support.fuzzArgvThroughBin(vectors, 3000);
});
process.exitCode = results.some((t) => t.failures.length > 0) ? 1 : 0;
