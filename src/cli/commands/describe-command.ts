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
    .description('show one resource in full: spec next to status, status ages, generation vs observed, recent status changes and events')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<id>', 'the resource, by id or name')
    .option('--events <n>', 'how many recent events to show', positiveInt, 10)
    .addHelpText(
      'after',
      `
Ids of other resources show with their names: siteId: site-0a1b2c3d (berlin-1). "Status changes"
lists the recent changes of the status triples from the event log (each "retrying (attempt N): …",
each error and recovery); "Events" who changed what, when.

Examples:
  eim describe host host-0a1b2c3d
  eim describe instance edge-01
  eim describe site berlin-1 --events 30`,
    )
    .action((kind: string, id: string, o: { events: number }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        const inv = await ctx.client();
        const { findResource, listMatching } = await import('../resource-lookup.ts');
        const { StatusHistory } = await import('../output/status-history.ts');
        const { heartbeatOnly } = await import('../output/event-line.ts');
        const resource = await findResource(inv, ctx.project, def, id);
        // The events page runs oldest first: read the id's history, keep the tail and the triples' changes.
        const history = new StatusHistory();
        let recent: InventoryEvent[] = [];
        let previous: InventoryEvent | undefined;
        let heartbeats = 0;
        let count = 0;
        let since = 0;
        for (let page = 0; page < MAX_PAGES; page++) {
          const { events, revision } = await inv.events({ project: ctx.project, id: resource.id, since, limit: EVENTS_PAGE });
          count += events.length;
          for (const ev of events) history.add(ev);
          // A running host's once-a-minute lastSeenAt write is not news: left out, counted.
          const telling = events.filter((ev) => {
            const quiet = ev.type === 'UPDATED' && heartbeatOnly(previous?.object, ev.object);
            previous = ev;
            if (quiet) heartbeats++;
            return !quiet;
          });
          recent = [...recent, ...telling].slice(-o.events - 1);
          // A page may stop short of the limit at its byte budget: more follow while it ends at its last event.
          if (events.length === 0 || revision !== events[events.length - 1].revision) break;
          since = revision;
        }
        const { resolveKind } = await import('../kind-resolver.ts');
        const runs = def.kind === 'Instance' ? (await listMatching(inv, ctx.project, resolveKind('OsUpdateRun'), { filter: `status.instanceId = ${JSON.stringify(resource.id)}` })).items : [];
        const { ReferenceNames } = await import('../reference-names.ts');
        const names = new ReferenceNames(inv, ctx.project);
        names.remember([resource]);
        await names.load(idsIn([resource.spec, resource.status, ...runs.map((r) => r.status)], resource.id));

        const { printDescribe } = await import('../output/describe-view.ts');
        const sections = [];
        if (def.kind === 'Instance') {
          const { instanceOsSection } = await import('../output/os-view.ts');
          const os = instanceOsSection(resource, runs, names.nameOf);
          if (os) sections.push(os);
        }
        if (def.kind === 'Host') {
          const { hostWindowLines } = await import('../host-windows.ts');
          sections.push({ title: 'Maintenance windows', lines: await hostWindowLines(inv, resource as never) });
        }
        const changes = history.section(ctx.out);
        if (changes) sections.push(changes);
        const props = (s: unknown) => (s as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
        printDescribe(ctx.out, {
          resource,
          reconciled: 'observedGeneration' in props(def.status),
          hasStatus: def.status !== undefined,
          events: recent.slice(-o.events),
          // One more than shown was kept, so the oldest shown event's change can be named.
          previous: recent.length > o.events ? recent[0] : undefined,
          eventCount: count - heartbeats,
          heartbeatEvents: heartbeats,
          sections,
          nameOf: names.nameOf,
        });
      }),
    );
}

/** Every string in these values that is an id of some kind (bounded: a resource holds few). */
function idsIn(values: unknown[], self: string): Set<string> {
  const ids = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8 || ids.size > 500) return;
    if (typeof v === 'string') {
      if (/^[a-z]+-[0-9a-f]{8}$/.test(v) && v !== self) ids.add(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1);
  };
  for (const v of values) walk(v, 0);
  return ids;
}
