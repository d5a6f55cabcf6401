import type { Command } from 'commander';
import type { Resource } from '../../api/index.ts';
import { CliContext } from '../cli-context.ts';
import { confirm } from '../confirm.ts';
import { printBulkSummary } from '../output/bulk-summary.ts';
import { plural } from '../output/plural.ts';
import { ProgressBar } from '../output/progress-bar.ts';
import { runBounded } from '../run-bounded.ts';
import { UsageError } from '../usage-error.ts';

const CONCURRENCY = 8;

interface DeleteOptions {
  filter?: string;
  force?: boolean;
  dryRun?: boolean;
  yes?: boolean;
}

/** `eim delete KIND ID… | --filter EXPR`: delete named resources, or every match after confirming. */
export function registerDeleteCommand(program: Command): void {
  program
    .command('delete')
    .description('delete resources by id or name, or every resource matching --filter (after listing them and asking)')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('[ids...]', 'resources by id or name')
    .option('--filter <expr>', 'delete every match of this AIP-160 filter instead of named resources')
    .option('--force', 'hosts and instances: remove at once instead of asking their manager to clean up (admin)')
    .option('--dry-run', 'print what would be deleted and delete nothing')
    .option('-y, --yes', 'do not ask before deleting what --filter matched (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
Hosts and instances are deleted in two phases: the server marks them deleted and their manager
removes them once cleaned up; --force removes them at once, also when the node is gone.
A --filter deletion is conditional on each resource's listed revision: what changed since is
left alone and reported as failed.

Examples:
  eim delete host edge-01
  eim delete hosts host-0a1b2c3d host-1b2c3d4e --force
  eim delete hosts --filter 'labels.decommissioned = "true"' --dry-run
  eim delete hosts --filter 'spec.siteId = site-0a1b2c3d' --yes`,
    )
    .action((kind: string, ids: string[], o: DeleteOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        if (ids.length > 0 && o.filter !== undefined) throw new UsageError('give IDs or --filter, not both');
        if (ids.length === 0 && o.filter === undefined) throw new UsageError('name what to delete: IDs, or --filter EXPR');
        const def = await ctx.kind(kind);
        const inv = await ctx.client();
        const { findResource, listMatching } = await import('../resource-lookup.ts');
        const { kindLabel } = await import('../kind-resolver.ts');
        const label = (r: Resource) => `${kindLabel(def)}/${r.name} (${r.id})`;

        const targets = o.filter !== undefined ? (await listMatching(inv, ctx.project, def, { filter: o.filter })).items : await Promise.all(ids.map((id) => findResource(inv, ctx.project, def, id)));
        if (targets.length === 0) return ctx.out.line(`no ${kindLabel(def)} matches the filter in project ${ctx.project}: nothing to delete`);
        if (o.filter !== undefined || o.dryRun) {
          for (const r of targets) ctx.out.line(`${o.dryRun ? 'would delete' : 'to delete'}: ${label(r)}`);
        }
        if (o.dryRun) return ctx.out.line(`${targets.length} would be deleted (dry run: nothing was deleted)`);
        if (o.filter !== undefined && !(await confirm(`delete ${plural(targets.length, kindLabel(def))} in project ${ctx.project}?`, o.yes))) {
          ctx.err.line('aborted: nothing was deleted');
          process.exitCode = 1;
          return;
        }

        const bar = new ProgressBar(ctx.err, targets.length, 20);
        const deleteOne = async (r: Resource): Promise<'changed'> => {
          // Delete exactly what was listed: a resource changed since is left alone (conflict).
          const res = await inv.delete(ctx.project, def.kind, r.id, { force: o.force, ifMatch: o.filter !== undefined ? r.revision : undefined });
          bar.done();
          ctx.out.line(res.removed ? `${kindLabel(def)}/${r.name} deleted` : `${kindLabel(def)}/${r.name} deletion requested (its manager removes it; --force removes it at once)`);
          return 'changed';
        };
        // One named resource: its error is the command's error, printed as such.
        if (o.filter === undefined && targets.length === 1) return void (await deleteOne(targets[0]));
        const outcome = await runBounded(targets, CONCURRENCY, deleteOne, () => bar.tick());
        bar.done();
        if (!printBulkSummary(ctx.out, ctx.err, outcome, label, 'deleted')) process.exitCode = 1;
      }),
    );
}
