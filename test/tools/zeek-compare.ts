/**
 * Compare tcpdiag's connection states and histories with Zeek's own test baselines: for each
 * btest whose Baseline holds a conn.log, read the trace its `zeek -r $TRACES/...` line names,
 * analyse it and compare every TCP row (conn_state, history) by 4-tuple, in log order.
 *
 *   node dist/test/tools/zeek-compare.js /path/to/zeek/testing/btest [--verbose] [--only substring]
 *
 * Zeek is not needed: its baselines are its verdicts. Tests run in bare mode (`zeek -b`) load
 * fewer analyzers, so fewer likely server ports: those are reported apart, as are tests whose
 * script redefines TCP settings.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptureFile } from '../../src/sessions/capture-file.js';

interface Row {
  orig: string;
  resp: string;
  state: string;
  history: string;
}

function parseConnLog(text: string): Row[] | null {
  const lines = text.split('\n');
  const fieldsLine = lines.find((l) => l.startsWith('#fields'));
  if (fieldsLine === undefined) return null;
  const fields = fieldsLine.split('\t').slice(1);
  const ix = (name: string): number => fields.indexOf(name);
  const [oh, op, rh, rp, proto, st, hi] = ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'conn_state', 'history'].map(ix);
  if ([oh, op, rh, rp, proto, st, hi].some((i) => i === undefined || i < 0)) return null;
  const rows: Row[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const c = line.split('\t');
    if (c[proto!] !== 'tcp') continue;
    rows.push({ orig: `${c[oh!]}:${c[op!]}`, resp: `${c[rh!]}:${c[rp!]}`, state: c[st!] ?? '', history: c[hi!] === '-' ? '' : (c[hi!] ?? '') });
  }
  return rows;
}

function testScript(btest: string, name: string): string | null {
  const base = join(btest, ...name.split('.'));
  for (const ext of ['.zeek', '.test', '']) {
    const f = base + ext;
    if (existsSync(f) && statSync(f).isFile()) return readFileSync(f, 'utf8');
  }
  return null;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const btest = args.find((a) => !a.startsWith('--'));
  if (btest === undefined) throw new Error('usage: zeek-compare.js ZEEK/testing/btest [--verbose] [--only SUBSTRING]');
  const verbose = args.includes('--verbose');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  const baselines = join(btest, 'Baseline');
  const totals = { tests: 0, rows: 0, stateOk: 0, historyOk: 0, missing: 0, extra: 0, bare: { rows: 0, ok: 0 }, full: { rows: 0, ok: 0 } };
  const wrong: string[] = [];
  for (const name of readdirSync(baselines).sort()) {
    if (only !== undefined && !name.includes(only)) continue;
    const log = join(baselines, name, 'conn.log');
    if (!existsSync(log)) continue;
    const expected = parseConnLog(readFileSync(log, 'utf8'));
    if (expected === null || expected.length === 0) continue;
    const script = testScript(btest, name);
    // The last zeek run over a trace is the one that wrote the conn.log compared.
    const runs = [...(script ?? '').matchAll(/zeek\b([^\n]*?)-r\s+\$TRACES\/(\S+)/g)];
    const m = runs.at(-1);
    if (script === null || script === undefined || m === null || m === undefined) continue;
    const trace = join(btest, 'Traces', m[2]!);
    if (!existsSync(trace)) continue;
    const bare = /\s-b\b/.test(m[1] ?? '') || /zeek -b/.test(script);
    let report;
    try {
      report = await analyzeCaptureFile(trace, { maxConnections: 1_000_000 });
    } catch (error: unknown) {
      wrong.push(`${name}: analyze failed: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    totals.tests++;
    const ours = new Map<string, Row[]>();
    for (const c of report.connections) {
      const fmt = (e: { address: string; port: number }): string => `${e.address}:${e.port}`;
      const row: Row = { orig: fmt(c.client), resp: fmt(c.server), state: c.state, history: c.history };
      const key = [row.orig, row.resp].sort().join(' ');
      const list = ours.get(key) ?? [];
      list.push(row);
      ours.set(key, list);
    }
    for (const e of expected) {
      totals.rows++;
      const bucket = bare ? totals.bare : totals.full;
      bucket.rows++;
      const key = [e.orig, e.resp].sort().join(' ');
      const list = ours.get(key);
      const o = list?.shift();
      if (o === undefined) {
        totals.missing++;
        wrong.push(`${name}: ${e.orig} > ${e.resp} ${e.state} ${e.history}: not found`);
        continue;
      }
      const dirOk = o.orig === e.orig;
      const stateOk = o.state === e.state && dirOk;
      const historyOk = o.history === e.history && dirOk;
      if (stateOk) totals.stateOk++;
      if (historyOk) totals.historyOk++;
      if (stateOk && historyOk) bucket.ok++;
      else wrong.push(`${name}${bare ? ' (bare)' : ''}: ${e.orig} > ${e.resp}: zeek ${e.state} ${e.history} | tcpdiag ${o.orig === e.orig ? '' : `(${o.orig} > ${o.resp}) `}${o.state} ${o.history}`);
    }
    for (const rest of ours.values()) {
      totals.extra += rest.length;
      for (const o of rest) wrong.push(`${name}${bare ? ' (bare)' : ''}: tcpdiag only: ${o.orig} > ${o.resp} ${o.state} ${o.history}`);
    }
  }
  if (verbose) for (const w of wrong) console.log(w);
  console.log(JSON.stringify(totals));
}

await main();
