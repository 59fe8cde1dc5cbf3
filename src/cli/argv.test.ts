import assert from 'node:assert/strict';
import test from 'node:test';
import cliArgs from './argv.cjs';

test('commandNameIn finds the command after global options and the value of --config', () => {
  assert.equal(cliArgs.commandNameIn(['stats', '--json']), 'stats');
  assert.equal(cliArgs.commandNameIn(['-c', 'stats.conf', 'conns']), 'conns');
  assert.equal(cliArgs.commandNameIn(['--help']), undefined);
  assert.equal(cliArgs.commandNameIn([]), undefined);
});
