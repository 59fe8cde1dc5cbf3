import assert from 'node:assert/strict';
import test from 'node:test';
import cliArgs from './argv.cjs';

test('commandNameIn finds the command after global options and the value of --config', () => {
  assert.equal(cliArgs.commandNameIn(['stats', '--json']), 'stats');
  assert.equal(cliArgs.commandNameIn(['--config', 'stats.conf', 'conns']), 'conns');
  assert.equal(cliArgs.commandNameIn(['--config=stats.conf', 'conns']), 'conns');
  assert.equal(cliArgs.commandNameIn(['--help']), undefined);
  assert.equal(cliArgs.commandNameIn([]), undefined);
});

test('-c is no global flag: capture -c 5 is a count, not a config file named 5', () => {
  assert.equal(cliArgs.commandNameIn(['capture', '-c', '5']), 'capture');
  assert.equal(cliArgs.commandNameIn(['-c', '5', 'capture']), '5');
});
