import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';

/** `eim completion bash|zsh`: a completion script for commands, kinds and flags. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, kinds, flags)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExamples:\n  source <(eim completion bash)          # in ~/.bashrc\n  source <(eim completion zsh)           # in ~/.zshrc, after compinit')
    .action(async (shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion for "${shell}": use bash or zsh`);
      const { KINDS, PowerState } = await import('../../api/index.ts');
      const { completionScript } = await import('../completion-script.ts');
      const kinds = KINDS.map((k) => k.path);
      process.stdout.write(completionScript(program, shell, { kind: kinds, kinds, state: PowerState.enum as string[], shell: ['bash', 'zsh'] }));
    });
}
