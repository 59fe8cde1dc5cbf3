import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from './resolve.js';
import { ConfigError } from '../errors.js';
import { SECTION_NAMES } from './schema.js';

const emptyDir = (): string => mkdtempSync(join(tmpdir(), 'tcpdiag-config-'));

test('defaults apply when no file exists anywhere it is looked up', () => {
  const { config, file } = resolveConfig({ env: {}, cwd: emptyDir() });
  assert.equal(file, process.platform === 'linux' && safeExists('/etc/tcpdiag/tcp_diag.conf') ? '/etc/tcpdiag/tcp_diag.conf' : null);
  assert.equal(config.agent.listen, '127.0.0.1');
  assert.equal(config.capture.snaplen, 65535);
  assert.equal(config.thresholds.retrans_ratio_percent, 1);
});

test('the repository example file is complete and valid', () => {
  const example = join(import.meta.dirname, '..', '..', '..', 'tcp_diag.conf');
  const { config, file } = resolveConfig({ configPath: example, env: {} });
  assert.equal(file, example);
  assert.equal(config.capture.direction, 'both');
  assert.deepEqual(config.privacy.kinds, ['id_card', 'phone', 'email', 'bank_card']);
  // Every section of the schema appears in the example.
  const text = readFileSync(example, 'utf8');
  for (const section of Object.keys(config)) assert.match(text, new RegExp(`^\\[${section}\\]`, 'm'));
});

test('file < environment < flags', () => {
  const dir = emptyDir();
  writeFileSync(join(dir, 'tcp_diag.conf'), '[capture]\nsnaplen = 200\ninterface = "eth0"\n[agent]\nport = 9000\n');
  const { config } = resolveConfig({
    cwd: dir,
    env: { TCPDIAG_CAPTURE_SNAPLEN: '300', TCPDIAG_AGENT_PORT: '9100' },
    overrides: { agent: { port: 9200 } },
  });
  assert.equal(config.capture.interface, 'eth0');
  assert.equal(config.capture.snaplen, 300);
  assert.equal(config.agent.port, 9200);
});

test('an invalid file names the key path, the bad value and what is allowed', () => {
  const dir = emptyDir();
  const path = join(dir, 'bad.conf');
  writeFileSync(path, '[capture]\nsnaplen = "65k"\ndirection = "sideways"\n[nope]\nx = 1\n');
  assert.throws(
    () => resolveConfig({ configPath: path, env: {} }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /capture\.snaplen: expected number, got "65k"/);
      assert.match(error.message, /capture\.direction: expected one of "in", "out", "both", got "sideways"/);
      assert.match(error.message, /unknown key "nope"/);
      assert.equal(error.code, 'TCPDIAG_CONFIG_INVALID');
      return true;
    },
  );
});

test('out-of-range numbers say the allowed range', () => {
  const dir = emptyDir();
  const path = join(dir, 'bad.conf');
  writeFileSync(path, '[capture]\nsnaplen = 10\n');
  assert.throws(() => resolveConfig({ configPath: path, env: {} }), /capture\.snaplen: expected a value >= 64, got 10/);
});

test('broken TOML reports line and column', () => {
  const dir = emptyDir();
  const path = join(dir, 'broken.conf');
  writeFileSync(path, '[capture]\nsnaplen = = 3\n');
  assert.throws(() => resolveConfig({ configPath: path, env: {} }), /broken\.conf:2:\d+: not valid TOML/);
});

test('a named config file that does not exist is an error, not a silent default', () => {
  assert.throws(() => resolveConfig({ configPath: '/nonexistent/tcp_diag.conf', env: {} }), /does not exist/);
  assert.throws(() => resolveConfig({ env: { TCPDIAG_CONFIG: '/nonexistent/x.conf' } }), /\$TCPDIAG_CONFIG/);
});

test('environment values that do not parse warn and fall back', () => {
  const { config, warnings } = resolveConfig({
    cwd: emptyDir(),
    env: { TCPDIAG_CAPTURE_SNAPLEN: 'lots', TCPDIAG_PRIVACY_REDACT: 'yes', TCPDIAG_CAPTURE_DIRECTION: 'up' },
  });
  assert.equal(config.capture.snaplen, 65535);
  assert.equal(config.privacy.redact, true);
  assert.equal(config.capture.direction, 'both');
  assert.equal(warnings.length, 2);
  assert.match(warnings.join('\n'), /TCPDIAG_CAPTURE_SNAPLEN="lots" ignored/);
  assert.match(warnings.join('\n'), /TCPDIAG_CAPTURE_DIRECTION="up" ignored: capture\.direction: expected one of/);
});

test('custom redaction patterns must be valid regular expressions', () => {
  const dir = emptyDir();
  const path = join(dir, 'p.conf');
  writeFileSync(path, '[privacy]\npatterns = ["MRN-[0-9]{6}", "(unclosed"]\n');
  assert.throws(() => resolveConfig({ configPath: path, env: {} }), /privacy\.patterns\.1: not a valid regular expression/);
});

function safeExists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

test('a command reads the sections it uses: an error elsewhere warns and that section keeps its defaults', () => {
  const dir = emptyDir();
  const path = join(dir, 'mixed.conf');
  writeFileSync(path, '[agent]\nport = 70000\n[trace]\nbuffer_kb = 32768\n[nope]\nx = 1\n');
  const { config, warnings } = resolveConfig({ configPath: path, env: {}, sections: ['trace'] });
  assert.equal(config.trace.buffer_kb, 32768);
  assert.equal(config.agent.port, 9477, 'the broken section keeps its defaults');
  assert.equal(warnings.length, 2);
  assert.match(warnings.join('\n'), /\[agent\] is not used by this command and keeps its defaults: agent\.port: expected a value <= 65535, got 70000/);
  assert.ok(warnings.join('\n').includes(`unknown key "nope" (sections: ${SECTION_NAMES.join(', ')}): ignored`), warnings.join('\n'));
  assert.throws(() => resolveConfig({ configPath: path, env: {}, sections: ['agent'] }), /agent\.port: expected a value <= 65535, got 70000/);
});

test('a command that reads no section still fails on a missing or broken file', () => {
  assert.throws(() => resolveConfig({ configPath: '/nonexistent/tcp_diag.conf', env: {}, sections: [] }), /does not exist/);
  const dir = emptyDir();
  const path = join(dir, 'broken.conf');
  writeFileSync(path, '[capture\n');
  assert.throws(() => resolveConfig({ configPath: path, env: {}, sections: [] }), /not valid TOML/);
});

test('inf and nan are reported as what they are, not as null', () => {
  const dir = emptyDir();
  const path = join(dir, 'inf.conf');
  writeFileSync(path, '[agent]\nsample_interval_s = inf\n[thresholds]\nrtt_ms = nan\n');
  assert.throws(() => resolveConfig({ configPath: path, env: {} }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /agent\.sample_interval_s: expected number, got inf \(infinity\)/);
    assert.match(error.message, /thresholds\.rtt_ms: expected number, got nan \(not a number\)/);
    assert.doesNotMatch(error.message, /got null/);
    return true;
  });
});

test('a huge bad value is echoed clipped', () => {
  const dir = emptyDir();
  const path = join(dir, 'long.conf');
  writeFileSync(path, `[capture]\nsnaplen = "${'x'.repeat(900_000)}"\n`);
  assert.throws(() => resolveConfig({ configPath: path, env: {} }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.ok(error.message.length < 400, `${error.message.length} characters`);
    assert.match(error.message, /capture\.snaplen: expected number, got "x{60}"… \(900000 characters\)/);
    return true;
  });
});

test('environment numbers are decimal digits only, as flags', () => {
  const { config, warnings } = resolveConfig({ cwd: emptyDir(), env: { TCPDIAG_AGENT_PORT: '0x50', TCPDIAG_TRACE_BUFFER_KB: '1e5', TCPDIAG_CAPTURE_SNAPLEN: '128' } });
  assert.equal(config.agent.port, 9477);
  assert.equal(config.trace.buffer_kb, 16384);
  assert.equal(config.capture.snaplen, 128);
  assert.match(warnings.join('\n'), /TCPDIAG_AGENT_PORT="0x50" ignored: not a decimal number/);
  assert.match(warnings.join('\n'), /TCPDIAG_TRACE_BUFFER_KB="1e5" ignored: not a decimal number/);
});
