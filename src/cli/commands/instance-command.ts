import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';

interface RetryOptions {
  filter?: string;
  site?: string;
  region?: string;
  host?: string;
  dryRun?: boolean;
  yes?: boolean;
}

export const RETRY_HELP = `
A manager leaves a resource whose work failed for good (a checksum mismatch, a power controller
that refuses) in an error status and does not try again until the resource changes. retry is
that change: it sets the label eim.io/retry to the time of asking (a user write, so the
generation moves on and the manager tries once more; the event log says who retried and when).
Only selected resources in such an error are retried; the others are left alone.`;

/** `eim instance retry`: try again the instances a manager gave up on. */
export function registerInstanceCommand(program: Command): void {
  const instance = program
    .command('instance')
    .description('bulk operations on instances: retry those in an unrecoverable error')
    .addHelpText('after', '\nExamples:\n  eim instance retry --site berlin-1 --dry-run\n  eim instance retry --filter \'name = "edge-*"\' --yes');
  instance
    .command('retry')
    .description('try again every selected instance a manager left in an unrecoverable error (all of them when nothing is selected)')
    .argument('[instances...]', 'instances by id or name')
    .option('--filter <expr>', 'instances matching this AIP-160 filter')
    .option('--site <site>', 'instances on the hosts of this site (id or name)')
    .option('--region <region>', 'instances on the hosts of this region, nested regions included (id or name)')
    .option('--host <host>', 'the instances of this host (id or name)')
    .option('--dry-run', 'list what would be retried and why it failed; write nothing')
    .option('-y, --yes', 'do not ask before retrying selected instances')
    .addHelpText('after', `${RETRY_HELP}\n\nExamples:\n  eim instance retry --dry-run\n  eim instance retry --region eu --filter 'labels.line = "3"' --yes\n  eim instance retry edge-01`)
    .action((ids: string[], o: RetryOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        const { selectInstances } = await import('../update-selection.ts');
        const { errorFilter } = await import('../retry.ts');
        const { bulkRetry } = await import('../bulk-retry.ts');
        const errors = errorFilter(['provisioningStatus', 'instanceStatus']);
        const filter = ids.length > 0 ? o.filter : o.filter?.trim() ? `(${o.filter}) AND (${errors})` : errors;
        const { instances } = await selectInstances(inv, ctx.project, { ids, filter, site: o.site, region: o.region, host: o.host });
        await bulkRetry(ctx, 'Instance', 'instance', instances, { dryRun: o.dryRun, yes: o.yes, bySelector: ids.length === 0 });
      }),
    );
}
