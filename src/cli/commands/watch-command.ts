import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { revision } from '../option-parsers.ts';
import { jsonForTerminal } from '../output/structured-output.ts';

interface WatchOptions {
  since?: number;
  allProjects?: boolean;
  output: 'line' | 'json';
}

/** `eim watch [KINDS…]`: the project's changes as they happen. */
export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('stream changes as they happen, one line per event (Ctrl-C ends)')
    .argument('[kinds...]', 'only these kinds (hosts, site, Instance, …); every kind when none')
    .option('--since <revision>', 'start after this revision (replays the retained history from there); from now when absent', revision)
    .option('-A, --all-projects', 'every project (cluster admins and managers)')
    .addOption(new Option('-o, --output <format>', 'line: REV TYPE KIND NAME (ID) by ACTOR: what changed; json: one event JSON per line').choices(['line', 'json']).default('line'))
    .addHelpText(
      'after',
      `
An UPDATED line says what changed: each status triple as its message and indicator, states as
from → to, larger parts (hardware) by name. The first update of a resource the watch has not
seen before shows its states now instead. A running host's once-a-minute status.lastSeenAt update
is left out once the watch has seen the host (it remembers the last 10,000 resources; every update
is in -o json).

The stream resumes by itself after a lost connection or a server restart, without losing or
repeating an event. If the server no longer holds the asked-for history (revision_compacted),
it ends with exit 1: list again (eim get) and watch from the list's revision.

Examples:
  eim watch
  eim watch hosts instances
  eim watch --since 0 -o json | jq -c 'select(.type == "DELETED")'`,
    )
    .action((kinds: string[], o: WatchOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const defs = await Promise.all(kinds.map((k) => ctx.kind(k)));
        const inv = await ctx.client();
        const { ALL_PROJECTS, kindByName } = await import('../../api/index.ts');
        const { kindLabel } = await import('../kind-resolver.ts');
        const { eventLine, heartbeatOnly, LastSeen } = await import('../output/event-line.ts');
        const seen = new LastSeen();
        const watch = inv.watch({ project: o.allProjects ? ALL_PROJECTS : ctx.project, kinds: defs.length ? defs.map((d) => d.kind) : undefined, since: o.since });
        for await (const item of watch) {
          if (item.type !== 'event') continue;
          if (o.output === 'json') {
            ctx.out.line(jsonForTerminal(item.json));
            continue;
          }
          const ev = item.event();
          const def = kindByName(ev.kind);
          const before = seen.swap(ev);
          if (ev.type === 'UPDATED' && heartbeatOnly(before, ev.object)) continue;
          ctx.out.line(eventLine(ctx.out, ev, def ? kindLabel(def) : ev.kind, before));
        }
      }),
    );
}
