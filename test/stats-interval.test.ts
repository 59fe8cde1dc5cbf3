/** `stats --interval` shows what moved, as nstat does; `--all` shows every counter and the sysctls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { runCli } from './helpers/cli.js';

async function connections(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  }
}

test('stats --interval lists the counters our connections moved and leaves out those that cannot move; --all lists them too', async () => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    for (const all of [false, true]) {
      const run = runCli(['stats', '--interval', '1', '--count', '1', ...(all ? ['--all'] : [])]);
      await new Promise((r) => setTimeout(r, 300));
      await connections(port, 5);
      const result = await run;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^ActiveOpens +\d+ +[1-9]\d* +[\d.]+$/m, 'ActiveOpens moved, with its delta and rate');
      // RtoAlgorithm is a constant (Linux reports 1, "other" in RFC 1213's tcpRtoAlgorithm), so it never moves.
      if (all) {
        assert.match(result.stdout, /^RtoAlgorithm +1 +/m);
        assert.match(result.stdout, /^SYSCTL +VALUE/m);
      } else {
        assert.doesNotMatch(result.stdout, /^RtoAlgorithm/m);
        assert.doesNotMatch(result.stdout, /^SYSCTL/m, 'a live view does not reprint the sysctls');
      }
    }
  } finally {
    server.close();
  }
});
