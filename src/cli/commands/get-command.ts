import { type Command, Option } from 'commander';
import type { KindDef, Resource } from '../../api/index.ts';
import type { InventoryClient } from '../../client/index.ts';
import { CliContext } from '../cli-context.ts';
import { positiveInt } from '../option-parsers.ts';
import { printResourceTable } from '../output/resource-table.ts';
import { jsonForTerminal, OUTPUT_FORMATS, type OutputFormat, printStructured } from '../output/structured-output.ts';
import type { Cell } from '../output/table.ts';
import type { Style } from '../output/terminal.ts';
import { UsageError } from '../usage-error.ts';

interface GetOptions {
  filter?: string;
  orderBy?: string;
  limit?: number;
  allProjects?: boolean;
  watch?: boolean;
  summary?: boolean;
  groupBy?: string;
  output: OutputFormat;
}

/** `eim get KIND [ID]`: list or show resources; `--watch` streams changes after the list. */
export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('list resources of a kind, or show one by id or name')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('[id]', 'one resource, by id or name')
    .option('--filter <expr>', 'AIP-160 filter, e.g. \'spec.desiredState = onboarded AND labels.line = "3"\'')
    .option('--order-by <fields>', 'AIP-132 order, e.g. "name desc, createdAt"')
    .option('--limit <n>', 'show at most n resources', positiveInt)
    .option('-A, --all-projects', 'list across every project (cluster admins and managers)')
    .option('-w, --watch', 'after the list, stream changes as they happen (Ctrl-C ends)')
    .option('--summary', 'hosts only: count them per category (running, no connection, …) instead of listing them, counted by the server')
    .option('--group-by <group>', 'with --summary: a row per site, region, label.<key> or inheritedLabel.<key>')
    .addOption(new Option('-o, --output <format>', 'table, wide (more columns and labels), json or yaml').choices(OUTPUT_FORMATS).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  eim get hosts
  eim get host edge-01 -o yaml
  eim get hosts --filter 'spec.siteId = site-0a1b2c3d AND status.hostStatus.indicator = error' -o wide
  eim get sites --order-by 'name desc' --limit 10
  eim get hosts -A -o json
  eim get hosts --watch
  eim get hosts --summary --group-by site
  eim get hosts --summary --group-by inheritedLabel.env --filter 'inheritedLabels.region = "eu"'`,
    )
    .action((kind: string, id: string | undefined, o: GetOptions, cmd: Command) => CliContext.run(cmd, (ctx) => get(ctx, kind, id, o)));
}

async function get(ctx: CliContext, kindText: string, id: string | undefined, o: GetOptions): Promise<void> {
  const def = await ctx.kind(kindText);
  if (id !== undefined && (o.filter || o.orderBy || o.limit)) throw new UsageError('give an ID or --filter/--order-by/--limit, not both');
  if (o.groupBy !== undefined && !o.summary) throw new UsageError('--group-by goes with --summary');
  if (o.summary) {
    if (def.kind !== 'Host') throw new UsageError('--summary counts hosts: eim get hosts --summary');
    if (id !== undefined || o.orderBy || o.limit || o.watch || o.allProjects) throw new UsageError('--summary takes --filter and --group-by only');
    const summary = await (await ctx.client()).summarizeHosts(ctx.project, { filter: o.filter, groupBy: o.groupBy });
    if (o.output === 'json' || o.output === 'yaml') return printStructured(ctx.out, summary, o.output);
    const { printSummaryTable } = await import('../output/summary-table.ts');
    return printSummaryTable(ctx.out, summary);
  }
  const inv = await ctx.client();
  const { findResource, listMatching } = await import('../resource-lookup.ts');
  const { ALL_PROJECTS } = await import('../../api/index.ts');
  const project = o.allProjects ? ALL_PROJECTS : ctx.project;
  const table = { wide: o.output === 'wide', allProjects: !!o.allProjects };

  if (id === undefined && !o.watch && (o.output === 'table' || o.output === 'wide')) return printPages(ctx, inv, project, def, o, table);

  let items: Resource[];
  let revision: number;
  let filter = o.filter;
  if (id !== undefined) {
    const r = await findResource(inv, ctx.project, def, id);
    if (!o.watch) {
      if (o.output === 'json' || o.output === 'yaml') return printStructured(ctx.out, r, o.output);
      const names = await namesFor(inv, ctx.project, def, [r], table);
      printResourceTable(ctx.out, def, [r], { ...table, nameOf: names.nameOf, ...(await reachFor(inv, ctx.project, def, table)) });
      return;
    }
    items = [r];
    revision = r.revision;
    filter = `id = ${JSON.stringify(r.id)}`;
  } else {
    let more: { total: number } | undefined;
    ({ items, revision, more } = await listMatching(inv, project, def, o));
    if (more && !o.watch) tellMore(ctx, items.length, more.total);
  }

  if (!o.watch) return printStructured(ctx.out, { items, revision }, o.output === 'yaml' ? 'yaml' : 'json');
  await watchAfterList(ctx, inv, def, { project, items, revision, filter, output: o.output, table });
}

/** A table printed page by page as pages arrive: later pages line up under the first. */
async function printPages(ctx: CliContext, inv: InventoryClient, project: string, def: KindDef, o: GetOptions, table: { wide: boolean; allProjects: boolean }): Promise<void> {
  const { listPages } = await import('../resource-lookup.ts');
  const { ReferenceNames } = await import('../reference-names.ts');
  const { referencedIds } = await import('../output/resource-table.ts');
  const names = new ReferenceNames(inv, project);
  let widths: number[] | undefined;
  let shown = 0;
  const reach = await reachFor(inv, project, def, table);
  for await (const page of listPages(inv, project, def, { ...o, firstPageSize: 200 })) {
    if (page.items.length > 0) {
      await names.load(referencedIds(def, page.items, table));
      widths = printResourceTable(ctx.out, def, page.items, { ...table, after: widths, nameOf: names.nameOf, ...reach });
    }
    shown += page.items.length;
    if (page.more) tellMore(ctx, shown, page.more.total);
  }
  if (!widths) {
    const { kindLabel } = await import('../kind-resolver.ts');
    ctx.err.line(`no ${kindLabel(def)} found${o.allProjects ? '' : ` in project ${ctx.project}`}${o.filter ? ' matching the filter' : ''}`);
  }
}

/** -o wide of local accounts and custom configs: how many hosts each reached (one list of the hosts). */
async function reachFor(inv: InventoryClient, project: string, def: KindDef, table: { wide: boolean; allProjects: boolean }) {
  if (!table.wide || table.allProjects || (def.kind !== 'LocalAccount' && def.kind !== 'CustomConfig')) return {};
  const { nodeConfigReach } = await import('../node-config-reach.ts');
  const reach = await nodeConfigReach(inv, project);
  return { reach: (id: string) => reach.get(id) };
}

/** Names for the reference columns of these rows (one list per referenced kind). */
async function namesFor(inv: InventoryClient, project: string, def: KindDef, items: Resource[], table: { wide: boolean; allProjects: boolean }) {
  const { ReferenceNames } = await import('../reference-names.ts');
  const { referencedIds } = await import('../output/resource-table.ts');
  const names = new ReferenceNames(inv, project);
  await names.load(referencedIds(def, items, table));
  return names;
}

/** On stderr, so stdout stays the rows alone: `--limit` cut the list short. */
function tellMore(ctx: CliContext, shown: number, total: number): void {
  ctx.err.line(`showing ${shown} of ${total}: more match (raise --limit, or leave it out for all)`);
}

/** Prints the listed items, then every change of the kind (matching the filter) from the list's revision. */
async function watchAfterList(
  ctx: CliContext,
  inv: InventoryClient,
  def: KindDef,
  w: { project: string; items: Resource[]; revision: number; filter?: string; output: OutputFormat; table: { wide: boolean; allProjects: boolean } },
): Promise<void> {
  const { parseFilter, evaluateFilter } = await import('../../api/filter.ts');
  const node = w.filter ? parseFilter(w.filter, def) : undefined;
  const matches = (r: Resource) => !node || evaluateFilter(node, r);
  // Ids shown so far: a resource that stops matching is shown once more, so the change is seen.
  const shown = new Set(w.items.map((r) => r.id));
  const structured = w.output === 'json' || w.output === 'yaml';
  const { ReferenceNames } = await import('../reference-names.ts');
  const { referencedIds } = await import('../output/resource-table.ts');
  const names = new ReferenceNames(inv, w.project);
  const emit = async (type: string, objects: Resource[], widths?: readonly number[]): Promise<number[] | undefined> => {
    if (!structured) {
      const lead = { header: 'EVENT', values: objects.map((): Cell => ({ text: type, style: STYLE[type] })), width: 'CREATED'.length };
      // A name we cannot fetch (the referenced resource went meanwhile) shows as its id.
      await names.load(referencedIds(def, objects, w.table)).catch(() => undefined);
      return printResourceTable(ctx.out, def, objects, { ...w.table, lead, after: widths, nameOf: names.nameOf });
    }
    for (const object of objects) {
      if (w.output === 'json') ctx.out.line(jsonForTerminal(JSON.stringify({ type, object })));
      else {
        ctx.out.line('---');
        await printStructured(ctx.out, { type, object }, 'yaml');
      }
    }
    return undefined;
  };
  let widths = await emit('LISTED', w.items);
  for await (const item of inv.watch({ project: w.project, kinds: [def.kind], since: w.revision })) {
    if (item.type !== 'event') continue;
    const ev = item.event();
    const relevant = ev.type === 'DELETED' ? shown.has(ev.id) : matches(ev.object) || shown.has(ev.id);
    if (!relevant) continue;
    if (ev.type !== 'DELETED' && matches(ev.object)) shown.add(ev.id);
    else shown.delete(ev.id);
    widths = (await emit(ev.type, [ev.object], widths)) ?? widths;
  }
}

const STYLE: Record<string, Style | undefined> = { CREATED: 'green', UPDATED: 'yellow', DELETED: 'red' };
