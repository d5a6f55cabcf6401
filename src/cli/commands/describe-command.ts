import type { Command } from 'commander';
import type { InventoryEvent } from '../../api/index.ts';
import { CliContext } from '../cli-context.ts';
import { positiveInt } from '../option-parsers.ts';

const EVENTS_PAGE = 1000;
/** Pages of history read at most: describe must stay quick on a resource with a long past. */
const MAX_PAGES = 20;

/** `eim describe KIND ID`: one resource in full, with its recent events (who changed what, when). */
export function registerDescribeCommand(program: Command): void {
  program
    .command('describe')
    .description('show one resource in full: spec next to status, status ages, generation vs observed, recent events')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<id>', 'the resource, by id or name')
    .option('--events <n>', 'how many recent events to show', positiveInt, 10)
    .addHelpText('after', '\nExamples:\n  eim describe host host-0a1b2c3d\n  eim describe site berlin-1 --events 30')
    .action((kind: string, id: string, o: { events: number }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        const inv = await ctx.client();
        const { findResource } = await import('../resource-lookup.ts');
        const resource = await findResource(inv, ctx.project, def, id);
        // The events page runs oldest first: read the id's history and keep the tail.
        let recent: InventoryEvent[] = [];
        let count = 0;
        let since = 0;
        for (let page = 0; page < MAX_PAGES; page++) {
          const { events, revision } = await inv.events({ project: ctx.project, id: resource.id, since, limit: EVENTS_PAGE });
          count += events.length;
          recent = [...recent, ...events].slice(-o.events - 1);
          if (events.length < EVENTS_PAGE) break;
          since = revision;
        }
        const { printDescribe } = await import('../output/describe-view.ts');
        const sections = [];
        if (def.kind === 'Host') {
          const { hostWindowLines } = await import('../host-windows.ts');
          sections.push({ title: 'Maintenance windows', lines: await hostWindowLines(inv, resource as never) });
        }
        const props = (s: unknown) => (s as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
        printDescribe(ctx.out, {
          resource,
          reconciled: 'observedGeneration' in props(def.status),
          hasStatus: def.status !== undefined,
          events: recent.slice(-o.events),
          // One more than shown was kept, so the oldest shown event's change can be named.
          previous: recent.length > o.events ? recent[0] : undefined,
          eventCount: count,
          sections,
        });
      }),
    );
}
