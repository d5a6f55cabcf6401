import type { Command } from 'commander';
import type { CompletionHints, Shell } from '../completion-script.ts';
import { UsageError } from '../usage-error.ts';

const SHELL_NAMES = ['bash', 'zsh', 'fish'];

/** `eim completion bash|zsh|fish`: a completion script for commands, kinds, flags and resource names. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, kinds, flags, resource names)')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText(
      'after',
      `
Resource names complete too (eim describe host <TAB>, --site <TAB>): the script asks the server
with your login, for at most 200 names and 2 s; without a server it completes the rest.

Examples:
  source <(eim completion bash)          # in ~/.bashrc
  source <(eim completion zsh)           # in ~/.zshrc, after compinit
  eim completion fish | source           # in ~/.config/fish/config.fish`,
    )
    .action(async (shell: string) => {
      if (!SHELL_NAMES.includes(shell)) throw new UsageError(`completion for "${shell}": use bash, zsh or fish`);
      const { KINDS, PowerState } = await import('../../api/index.ts');
      const { completionScript } = await import('../completion-script.ts');
      const kinds = KINDS.map((k) => k.path);
      const hints: CompletionHints = {
        argumentValues: { kind: kinds, kinds, state: PowerState.enum as string[], shell: SHELL_NAMES },
        names: {
          'eim get': { kind: '$1', from: 1 },
          'eim describe': { kind: '$1', from: 1 },
          'eim delete': { kind: '$1', from: 1 },
          'eim patch': { kind: '$1', from: 1 },
          'eim host onboard': { kind: 'hosts', from: 0 },
          'eim host invalidate': { kind: 'hosts', from: 0 },
          'eim host retry': { kind: 'hosts', from: 0 },
          'eim host power': { kind: 'hosts', from: 1 },
          'eim instance retry': { kind: 'instances', from: 0 },
          'eim update start': { kind: 'instances', from: 0 },
          'eim update abort': { kind: 'instances', from: 0 },
        },
        flagNames: { '--site': 'sites', '--region': 'regions', '--host': 'hosts', '--policy': 'os-update-policies' },
      };
      process.stdout.write(completionScript(program, shell as Shell, hints));
    });
}
