/**
 * 24 h of the agent's history at 1 s stays under the configured size: the agent's own series
 * (connections by state, the counter rates, the listener figures, as Agent writes them each
 * counters tick) written one sample a simulated second through HistoryStore.writeSample, with
 * the agent's maintenance (rollup into 1 min and 1 h, then enforceRetention) every simulated
 * minute; time is fast-forwarded, the code paths are the agent's. Prints the largest size the
 * file reached (database + WAL, measured after each maintenance, as the agent would see it), the
 * final size, each as a ratio to the cap, the rows of each tier, and the time it took.
 *
 * The reference is the cap itself (storage.max_size_mb, 512 MB by default; retention from
 * [storage]): the target is largest / cap <= 1.
 *
 * Usage: node dist/bench/store-24h.js [hours=24] [maxSizeMb=storage.max_size_mb] [extraSeries=0]
 * (extraSeries adds that many more series per sample, for a host the agent exports more for.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../src/config/resolve.js';
import { TCP_STATES } from '../src/model/tcp-state.js';
import { RATE_SERIES } from '../src/server/agent.js';
import { HistoryStore, TIERS, TIER_NAMES } from '../src/store/history.js';

const defaults = validateConfig({}, 'defaults').storage;
const hours = Number(process.argv[2] ?? 24);
const maxSizeMb = Number(process.argv[3] ?? defaults.max_size_mb);
const extraSeries = Number(process.argv[4] ?? 0);
if (!(hours > 0) || !(maxSizeMb > 0) || !(extraSeries >= 0)) {
  process.stderr.write('usage: node dist/bench/store-24h.js [hours>0] [maxSizeMb>0] [extraSeries>=0]\n');
  process.exit(2);
}

const maxBytes = maxSizeMb * 1024 * 1024;
const retention = {
  keepMs: { '1s': defaults.retention_1s_h * 3_600_000, '1m': defaults.retention_1m_days * 86_400_000, '1h': defaults.retention_days * 86_400_000 },
  maxBytes,
};
// The names Agent.seriesValues() writes (src/server/agent.ts).
const names = [
  ...TCP_STATES.map((s) => `connections.${s}`),
  ...Object.keys(RATE_SERIES),
  'listeners.accept_queue_max',
  'listeners.syn_recv',
  ...Array.from({ length: extraSeries }, (_, i) => `extra.${i}`),
];

/** A busy host's figures: gauges that drift, rates with fractions (8-byte REALs, the larger case). */
function sample(s: number, values: Map<string, number>): void {
  for (let i = 0; i < names.length; i++) {
    const wave = Math.sin((s / 600 + i) * 0.7);
    const v = names[i]!.startsWith('connections.') ? Math.round(1000 + 400 * wave + ((s * 7919 + i * 104729) % 37)) : 250 + 240 * wave + ((s * 31 + i) % 97) / 7;
    values.set(names[i]!, v);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-store24h-'));
try {
  const store = HistoryStore.open(join(dir, 'history.db'));
  const seconds = Math.round(hours * 3600);
  const start = Date.UTC(2026, 0, 1);
  const values = new Map<string, number>();
  let largest = 0;
  const began = performance.now();
  for (let s = 0; s < seconds; s++) {
    sample(s, values);
    store.writeSample(start + s * 1000, values);
    if (s % 60 === 59 || s === seconds - 1) {
      const now = start + (s + 1) * 1000;
      store.rollup(now);
      store.enforceRetention(now, retention);
      largest = Math.max(largest, store.sizeBytes());
    }
  }
  const tookS = (performance.now() - began) / 1000;
  const end = start + seconds * 1000;
  const rows = TIER_NAMES.map((tier) => `${tier} ${store.series(names[0]!, tier, 0, end, 10_000_000).length}`).join(', ');
  const final = store.sizeBytes();
  store.close();
  const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
  process.stdout.write(
    [
      `store-24h: ${hours} h at 1 s, ${names.length} series per sample (${seconds} samples, maintenance every ${TIERS['1m'] / 1000} s), cap ${maxSizeMb} MB`,
      `  largest ${mb(largest)} MB = ${(largest / maxBytes).toFixed(3)}x the cap; final ${mb(final)} MB = ${(final / maxBytes).toFixed(3)}x`,
      `  rows of ${names[0]}: ${rows}`,
      `  took ${tookS.toFixed(1)} s (${Math.round(seconds / tookS)} samples/s)`,
      `  ${largest <= maxBytes ? 'under the cap' : 'OVER THE CAP'}`,
      '',
    ].join('\n'),
  );
  process.exitCode = largest <= maxBytes ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
