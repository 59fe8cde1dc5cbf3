/**
 * `tcpdiag completion bash|zsh|fish` and `tcpdiag manpage`: both generated from the command
 * tree of every command, so they list exactly what the parser accepts.
 */
import type { Command } from 'commander';
import { Argument } from 'commander';
import { action, out } from '../run.js';
import type { Shell } from '../completion.js';
import type { CommandDoc, OptionDoc } from '../command-tree.js';

/** The whole tree, every command loaded (a run loads only the command it runs). */
async function fullTree(): Promise<{ root: CommandDoc; globals: OptionDoc[] }> {
  const { COMMANDS } = await import('./index.js');
  const { buildProgram } = await import('../program.js');
  const { describeCommand } = await import('../command-tree.js');
  const root = describeCommand(await buildProgram([], COMMANDS));
  return { root, globals: root.options.filter((o) => o.long === '--config') };
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag completion bash > /usr/share/bash-completion/completions/tcpdiag
  tcpdiag completion zsh > "\${fpath[1]}/_tcpdiag"
  tcpdiag completion fish > ~/.config/fish/completions/tcpdiag.fish
  source <(tcpdiag completion bash)             this shell only

scripts/setup.sh installs the bash completion and the man page.`,
    )
    .action(
      action(async (shell: Shell) => {
        const { completionScript } = await import('../completion.js');
        const { root, globals } = await fullTree();
        out(completionScript(shell, root, globals));
      }),
    );
}

export function registerManpage(program: Command): void {
  program
    .command('manpage')
    .description('print the tcpdiag(1) man page (roff)')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag manpage | man -l -                     read it
  tcpdiag manpage > /usr/local/share/man/man1/tcpdiag.1`,
    )
    .action(
      action(async () => {
        const { manPage } = await import('../manpage.js');
        const { VERSION } = await import('../program.js');
        const { root } = await fullTree();
        // SOURCE_DATE_EPOCH (reproducible-builds.org): the same page for the same sources.
        const epoch = Number(process.env.SOURCE_DATE_EPOCH);
        const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().slice(0, 10);
        out(manPage(root, { version: VERSION, date }));
      }),
    );
}
