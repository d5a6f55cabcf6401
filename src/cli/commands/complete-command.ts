import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';

/** Names printed at most: a completion menu, not a listing. */
export const MAX_COMPLETIONS = 200;
/** Completion must never hang a shell: after this the command prints what it has (nothing) and ends. */
export const COMPLETION_TIMEOUT_MS = 2000;

/**
 * `eim __complete names KIND [PREFIX]` (hidden): the names of a kind that start with PREFIX, one
 * per line, for the completion scripts. At most 200 names, at most 2 s (EIM_COMPLETION_TIMEOUT_MS
 * changes it), and silent on any error (no server, no login, an unknown kind): completion then
 * simply offers no names.
 */
export function registerCompleteCommand(program: Command): void {
  program
    .command('__complete', { hidden: true })
    .argument('<what>', 'names')
    .argument('<kind>', 'a kind')
    .argument('[prefix]', 'what the user typed so far', '')
    .action(async (what: string, kind: string, prefix: string, _o: unknown, cmd: Command) => {
      const timeoutMs = Number(process.env.EIM_COMPLETION_TIMEOUT_MS) > 0 ? Number(process.env.EIM_COMPLETION_TIMEOUT_MS) : COMPLETION_TIMEOUT_MS;
      const timer = setTimeout(() => process.exit(0), timeoutMs);
      try {
        if (what !== 'names') return;
        await CliContext.run(cmd, async (ctx) => {
          const def = await ctx.kind(kind);
          const inv = await ctx.client({ retries: 0 });
          // The prefix reaches the filter only as a quoted literal; * is the filter's wildcard.
          const filter = prefix ? `name = ${JSON.stringify(`${prefix.slice(0, 128).replace(/\*/g, '')}*`)}` : undefined;
          const page = await inv.list(ctx.project, def.kind, { filter, orderBy: 'name', pageSize: MAX_COMPLETIONS });
          for (const r of page.items) ctx.out.line(r.name);
        });
      } catch {
        // Completion offers nothing rather than an error in the middle of a command line.
      } finally {
        clearTimeout(timer);
      }
    });
}
