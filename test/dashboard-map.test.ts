/**
 * The dashboard's Map page end to end in Debian's Chromium (playwright-core): a real server
 * process listening, a client process holding connections to it, and connects refused by a
 * closed port (the kernel answers the SYN with a RST). The page must show the server's process
 * behind its listener, both peers, and the edge to the refused destination coloured as a
 * failed connect, with numbers equal to ss's and to the kernel's AttemptFails.
 *
 * The agent runs as root in the host namespace: its event collector traces tracepoints, which
 * carry no network namespace, so inside one it does not start (sessions/event-collector.ts)
 * and a map there has connections but no failed connects or resets. The traffic stays on
 * loopback addresses of this test's own (127.0.0.61-64), which nothing else on the host uses,
 * so ss filtered on them and the map's nodes for them are this test's alone.
 *
 * The second test is the Connections page's details of one connection whose packets an nft
 * rule dropped for a while (127.0.0.65-66): its list of the agent's kernel events must hold one
 * retransmission for each that the socket's tcp_info counted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { rootSkipReason, startProcess, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { until } from './serve-support.js';
import { ARTIFACTS, CHROMIUM, englishLeft, eventCollectorRunning, visibleText } from './dashboard-support.js';
import { ZH_CN } from '../web/src/catalogue.js';

const PYTHON = '/usr/bin/python3';
const SERVER_ADDR = '127.0.0.61';
const CLIENT_ADDR = '127.0.0.62';
const REFUSED_FROM = '127.0.0.63';
const CLOSED_ADDR = '127.0.0.64';
const HELD = 6;
const REFUSED = 4;
const CONFIG = '[agent]\ncounters_interval_s = 1\nsample_interval_s = 1\ndiagnose_interval_s = 0\n';

/** Listens, accepts and holds every connection; prints its port. */
const SERVER = `
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(64)
print('port', s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
`;
/** Opens N connections from ADDR and holds them until stdin closes. */
const CLIENT = `
import socket, sys
held = []
for _ in range(int(sys.argv[4])):
    c = socket.socket(); c.bind((sys.argv[1], 0)); c.connect((sys.argv[2], int(sys.argv[3]))); held.append(c)
print('held', len(held), flush=True)
sys.stdin.read()
`;
/** A port on ADDR that nothing listens on: bound, then closed (a wildcard listener on it would have refused the bind). */
const FREE_PORT = `
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1]); s.close()
`;
/** N connects to a closed port; prints how many the kernel refused (ECONNREFUSED: the RST answering the SYN). */
const REFUSER = `
import socket, sys
refused = 0
for _ in range(int(sys.argv[4])):
    c = socket.socket(); c.bind((sys.argv[1], 0))
    try:
        c.connect((sys.argv[2], int(sys.argv[3])))
    except ConnectionRefusedError:
        refused += 1
    c.close()
print(refused)
`;

function python(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

/** ESTABLISHED sockets as ss counts them, with an ss filter. */
function ssEstablished(filter: readonly string[]): number {
  const r = spawnSync('ss', ['-Htn', 'state', 'established', ...filter], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

function attemptFails(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('Tcp: ') && l.includes('AttemptFails'));
  const names = lines[i]!.split(/\s+/);
  return Number(lines[i + 1]!.split(/\s+/)[names.indexOf('AttemptFails')]);
}

/** The numbers the details panel shows for the selected node, by counter. */
function detailCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(`(() => {
    const out = {};
    for (const tr of document.querySelectorAll('[data-testid=map-node-counts] tr[data-count]')) out[tr.dataset.count] = Number(tr.querySelector('td').textContent.replace(/[^0-9]/g, ''));
    return out;
  })()`);
}

test('the map shows the server process behind its listener, its peers, and the refused destination as failed connects, as ss and the kernel count them', { timeout: 180_000 }, async (t) => {
  const skip = rootSkipReason('ss', PYTHON);
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const dir = tempDir(t, 'web-map');
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, CONFIG), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')]);
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]}`;
  await eventCollectorRunning(url);

  // Bad parameters are refused like every API route's: 400, the CLI's code, one line that says what to give.
  for (const [query, message] of [['window=soon', /query parameter window: "soon" is not a duration/], ['window=1s', /window: "1s" is out of range: expected 10s-168h/], ['top=0', /top="0": expected 1-500/], ['window=5m&window=1h', /window is given 2 times/]] as const) {
    const r = await fetch(`${url}/api/v1/map?${query}`);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, query);
    assert.equal(body.error.code, 'TCPDIAG_USAGE', query);
    assert.match(body.error.message, message);
  }

  const server = await startProcess(t, [PYTHON, '-u', '-c', SERVER, SERVER_ADDR]);
  const port = Number((await server.waitFor(/port (\d+)/))[1]);
  const client = await startProcess(t, [PYTHON, '-u', '-c', CLIENT, CLIENT_ADDR, SERVER_ADDR, String(port), String(HELD)]);
  await client.waitFor(/held \d+/);
  const closedPort = python(FREE_PORT, CLOSED_ADDR);
  const failsBefore = attemptFails();
  const refused = Number(python(REFUSER, REFUSED_FROM, CLOSED_ADDR, closedPort, String(REFUSED)));
  const failsAfter = attemptFails();
  assert.equal(refused, REFUSED, 'every connect to the closed port was refused');
  // AttemptFails counts SYN_SENT -> CLOSE (tcp_done, net/ipv4/tcp.c): the kernel's own count of
  // these refusals; nothing else on the host failed a connect in those milliseconds.
  assert.equal(failsAfter - failsBefore, REFUSED, 'the kernel counted the refusals as failed connects');

  // What one refresh costs the agent here: the socket table with owners (a /proc fd walk) off-thread, and the window's events.
  const asked = performance.now();
  const reply = (await (await fetch(`${url}/api/v1/map?window=5m&top=500`)).json()) as { nodes: unknown[]; edges: unknown[] };
  t.diagnostic(`GET /api/v1/map: ${(performance.now() - asked).toFixed(0)} ms for ${reply.nodes.length} nodes and ${reply.edges.length} edges`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  mkdirSync(ARTIFACTS, { recursive: true });

  const listenerId = `listener:${SERVER_ADDR}:${port}`;
  const refusedPeer = `peer:out:${CLOSED_ADDR}:${closedPort}`;
  const refusedEdge = `process:?>${refusedPeer}`;
  // top=500: the host's other peers must not push this test's into "other".
  await page.goto(`${url}/?lang=en#/map?window=5m&top=500`);
  const node = (id: string) => page.locator(`svg [data-node="${id}"]`);
  await node(listenerId).waitFor({ timeout: 15_000 });
  // The refused connects reach the page within a refresh once the collector has stored them (about a second).
  await page.locator(`svg path[data-edge="${refusedEdge}"]`).waitFor({ timeout: 15_000 });

  // The server's process behind its listener, named as /proc names it.
  await node(`process:${server.pid}`).waitFor();
  assert.equal(await node(`process:${server.pid}`).getAttribute('aria-label'), `${server.comm} (${server.pid})`);
  assert.equal(await page.locator(`svg path[data-edge="${listenerId}>process:${server.pid}"]`).count(), 1);
  // Both peers: the client connecting in, and the server as the client process's destination.
  const inbound = `peer:in:${CLIENT_ADDR}`;
  await node(inbound).waitFor();
  await node(`process:${client.pid}`).waitFor();
  assert.equal(await page.locator(`svg path[data-edge="process:${client.pid}>peer:out:${SERVER_ADDR}:${port}"]`).count(), 1);
  assert.equal(await page.locator(`svg path[data-edge="${inbound}>${listenerId}"]`).getAttribute('data-problem'), 'none');
  // The edge to the refused destination is coloured as its worst: failed connects.
  assert.equal(await page.locator(`svg path[data-edge="${refusedEdge}"]`).getAttribute('data-problem'), 'failed');
  assert.equal(await node(refusedPeer).getAttribute('data-problem'), 'failed');

  // Click the listener: its numbers are ss's.
  await node(listenerId).click();
  await page.waitForURL(new RegExp(`node=${encodeURIComponent(listenerId).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const listenerCounts = await detailCounts(page);
  assert.equal(listenerCounts.connections, ssEstablished(['src', `${SERVER_ADDR}:${port}`]));
  assert.equal(listenerCounts.connections, HELD);
  assert.equal(listenerCounts.failedConnects, 0);
  // Keyboard: focus the refused destination and press Enter. Its failed connects are the refusals
  // the kernel counted, and each came with the RST that refused it.
  await node(refusedPeer).focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-testid=map-details-name]', { hasText: `${CLOSED_ADDR}:${closedPort}` }).waitFor();
  const refusedCounts = await detailCounts(page);
  assert.equal(refusedCounts.failedConnects, failsAfter - failsBefore);
  assert.equal(refusedCounts.resetsReceived, REFUSED);
  assert.equal(refusedCounts.connections, 0);
  assert.match(page.url(), /window=5m/);
  assert.match(page.url(), /top=500/);
  await page.screenshot({ path: join(ARTIFACTS, 'map-en.png'), fullPage: true });

  // The shared URL opens the same view, in Chinese: no English label left.
  const shared = page.url().replace('lang=en', 'lang=zh-CN');
  await page.goto(shared);
  await page.locator('[data-testid=map-details-name]', { hasText: `${CLOSED_ADDR}:${closedPort}` }).waitFor({ timeout: 15_000 });
  assert.deepEqual(englishLeft(await visibleText(page)), []);
  assert.match(await page.locator('[data-testid=map-legend]').innerText(), new RegExp(ZH_CN['map.problem.failed']));
  await page.screenshot({ path: join(ARTIFACTS, 'map-zh-CN.png'), fullPage: true });

  // The agent gone: the page says it is unreachable instead of keeping a stale map silently.
  await serve.stop();
  await page.locator('[role=alert]', { hasText: ZH_CN['status.unreachable'] }).first().waitFor({ timeout: 15_000 });
  assert.deepEqual(errors, []);
});

/** Connects from ADDR to HOST:PORT, prints its port, and sends 1,000 bytes for each line read on stdin. */
const SENDER = `
import socket, sys
c = socket.socket(); c.bind((sys.argv[1], 0)); c.connect((sys.argv[2], int(sys.argv[3])))
print('port', c.getsockname()[1], flush=True)
for line in sys.stdin:
    c.sendall(b'x' * 1000); print('sent', flush=True)
`;
const LOSSY_SERVER = '127.0.0.65';
const LOSSY_CLIENT = '127.0.0.66';

/** A socket's total retransmissions as ss reads tcp_info (retrans:CURRENT/TOTAL), with an ss filter. */
function ssTotalRetrans(filter: readonly string[]): number {
  const r = spawnSync('ss', ['-Htni', 'state', 'established', ...filter], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  return Number(/retrans:\d+\/(\d+)/.exec(r.stdout)?.[1] ?? 0);
}

test('a connection\'s details list the retransmissions the agent kept of it, as many as its tcp_info counts', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ss', 'nft', PYTHON);
  if (skip !== null) return t.skip(skip);
  if (!existsSync(CHROMIUM)) return t.skip(`needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh lists it)`);
  const dir = tempDir(t, 'web-conn-events');
  const serve = await tcpdiagProcess(t, ['--config', writeConfig(dir, CONFIG), 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')]);
  const url = `http://127.0.0.1:${(await serve.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/, 20_000))[1]}`;
  await eventCollectorRunning(url);

  const server = await startProcess(t, [PYTHON, '-u', '-c', SERVER, LOSSY_SERVER]);
  const port = Number((await server.waitFor(/port (\d+)/))[1]);
  const sender = await startProcess(t, [PYTHON, '-u', '-c', SENDER, LOSSY_CLIENT, LOSSY_SERVER, String(port)]);
  const clientPort = Number((await sender.waitFor(/port (\d+)/))[1]);
  // Every packet of this one connection towards the server dropped for 1.5 s (on loopback this
  // test's own addresses; the table is removed whatever happens): the data goes out again at each
  // RTO (200 ms, doubling), each a tcp_retransmit_skb event.
  const table = `tcpdiag_conn_events_${process.pid}`;
  const nft = (input: string | null, ...args: string[]) => spawnSync('nft', input === null ? args : ['-f', '-'], { encoding: 'utf8', ...(input === null ? {} : { input }) });
  const added = nft(`table ip ${table} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr ${LOSSY_CLIENT} ip daddr ${LOSSY_SERVER} tcp sport ${clientPort} tcp dport ${port} drop\n  }\n}\n`);
  assert.equal(added.status, 0, `nft: ${added.stderr}`);
  let removed = false;
  t.after(() => {
    if (!removed) nft(null, 'delete', 'table', 'ip', table);
  });
  sender.child.stdin.write('go\n');
  await sender.waitFor(/sent/);
  await sleep(1500);
  assert.equal(nft(null, 'delete', 'table', 'ip', table).status, 0);
  removed = true;
  const local = `${LOSSY_CLIENT}:${clientPort}`;
  const remote = `${LOSSY_SERVER}:${port}`;
  // Acknowledged once the next retransmission gets through: then tcp_info's count is final.
  await until('the data acknowledged', 10_000, async () => {
    const r = spawnSync('ss', ['-Htni', 'state', 'established', 'src', local], { encoding: 'utf8' });
    return /unacked:/.test(r.stdout) ? sleep(200).then(() => undefined) : true;
  });
  const retrans = ssTotalRetrans(['src', local]);
  assert.ok(retrans >= 2, `ss counted ${retrans} retransmissions`);
  // The API's answer for this connection, once the collector stored them, is what the page lists.
  await until(`the agent's ${retrans} retransmit events`, 10_000, async () => {
    const r = (await (await fetch(`${url}/api/v1/events?local=${local}&remote=${remote}&kind=retransmit`)).json()) as { events: unknown[] };
    return r.events.length >= retrans ? true : sleep(300).then(() => undefined);
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/?lang=en#/connections?addr=${LOSSY_CLIENT}`);
  // The client's socket (its local end is LOSSY_CLIENT's): the server's row has the same endpoints the other way round.
  const clientRow = () => page.locator('.vt-row').filter({ has: page.locator('.vt-cell:nth-child(2)', { hasText: new RegExp(`^${local.replace(/\./g, '\\.')}$`) }) });
  const row = clientRow();
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  await page.locator('aside.details h3', { hasText: `${local} → ${remote}` }).waitFor({ timeout: 10_000 });
  const list = page.locator('[data-testid=conn-events]');
  await list.waitFor({ timeout: 10_000 }).catch(async (e: unknown) => assert.fail(`${String(e)}; the details say: ${await page.locator('aside.details').innerText().catch(() => '(no details)')}`));
  const kinds = await page.evaluate<string[]>("[...document.querySelectorAll('[data-testid=conn-events] tbody tr')].map((tr) => tr.dataset.kind)");
  console.log(`connection ${local} -> ${remote}: ss retrans ${retrans}; the details list ${JSON.stringify(kinds)}`);
  assert.equal(kinds.filter((k) => k === 'retransmit').length, retrans, 'one retransmit row per retransmission tcp_info counted');
  // Its states, every transition the kernel made since the agent started: opened here, still open.
  const states = await page.evaluate<string[]>("[...document.querySelectorAll('[data-testid=conn-history] tbody tr')].map((tr) => tr.dataset.state)");
  assert.deepEqual(states, ['SYN_SENT', 'ESTABLISHED'], 'the client socket\'s states in the details');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'connection-events-en.png'), fullPage: true });
  await page.selectOption('#lang', 'zh-CN');
  await clientRow().click();
  await page.locator('[data-testid=conn-events]').waitFor({ timeout: 10_000 });
  assert.deepEqual(englishLeft(await visibleText(page)), [], 'the details in 中文');

  // A bad endpoint is refused like every parameter: 400 with the CLI's code and what to give.
  const bad = await fetch(`${url}/api/v1/events?local=nowhere:1&remote=${remote}`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /local="nowhere:1" is not an endpoint/);
  const half = await fetch(`${url}/api/v1/events?local=${local}`);
  assert.equal(half.status, 400);

  // order=newest: the limit keeps the newest events of the connection, newest first.
  type EventsReply = { events: { ts: number }[]; history: { origin: string; states: { state: string; sinceMs: number | null; durationMs: number | null }[]; handedOver: boolean } | null };
  const eventsOf = async (query: string) => (await (await fetch(`${url}/api/v1/events?${query}`)).json()) as EventsReply;
  const oldest = await eventsOf(`local=${local}&remote=${remote}&kind=retransmit&limit=1`);
  const newest = await eventsOf(`local=${local}&remote=${remote}&kind=retransmit&limit=${retrans}&order=newest`);
  assert.equal(newest.events.length, retrans);
  assert.ok(newest.events[0]!.ts > oldest.events[0]!.ts, 'the newest retransmission first');
  assert.deepEqual(newest.events.map((e) => e.ts), [...newest.events.map((e) => e.ts)].sort((a, b) => b - a));

  // The client closes: its socket goes through FIN_WAIT1 and FIN_WAIT2 to a time-wait
  // mini-socket (the server never closes, so an orphan's FIN_WAIT2 is handed over at once,
  // tcp_rcv_state_process); the server's side is left in CLOSE_WAIT. Both histories, kept in
  // memory, say so, with each state's duration once the next one began.
  sender.child.stdin.end();
  await until('the client socket closed into a time-wait mini-socket', 10_000, async () => {
    const h = (await eventsOf(`local=${local}&remote=${remote}`)).history;
    return h !== null && h.states.at(-1)?.state === 'CLOSE' ? true : sleep(200).then(() => undefined);
  });
  const client = (await eventsOf(`local=${local}&remote=${remote}`)).history!;
  console.log(`client history: ${JSON.stringify(client)}`);
  assert.equal(client.origin, 'active');
  assert.deepEqual(client.states.map((s) => s.state), ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE']);
  assert.equal(client.handedOver, true);
  for (const s of client.states.slice(0, -1)) assert.ok(s.sinceMs !== null && s.durationMs !== null && s.durationMs >= 0, JSON.stringify(s));
  // ESTABLISHED lasted through the 1.5 s of drops.
  assert.ok(client.states[1]!.durationMs! >= 1500, `ESTABLISHED for ${client.states[1]!.durationMs} ms`);
  const serverSide = (await eventsOf(`local=${remote}&remote=${local}`)).history;
  assert.ok(serverSide !== null);
  assert.equal(serverSide.origin, 'passive');
  assert.deepEqual(serverSide.states.map((s) => s.state), ['SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT']);
  assert.equal(serverSide.states[2]!.durationMs, null, 'still in CLOSE_WAIT');
  assert.equal((await eventsOf(`local=${local}&remote=${LOSSY_SERVER}:1`)).history, null, 'a connection never seen has no history');
  assert.deepEqual(errors, [], 'no page errors');
});
