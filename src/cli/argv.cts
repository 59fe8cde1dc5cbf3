/**
 * The command name in argv, shared by the launcher (CommonJS, so that it can pick a bundle
 * before any ES module loads) and program.ts. CommonJS because the launcher must not pay for
 * Node's ES module loader: see launcher.cts.
 */

/** Global options that take a value: their value is not the command name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--config']);

/**
 * The command name in argv, skipping global options (and the value of --config), or undefined
 * for `tcpdiag`, `tcpdiag --help` and the like.
 */
function commandNameIn(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

export = { commandNameIn };
