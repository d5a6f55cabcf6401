import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';
import { confirm } from '../confirm.ts';
import type { HostChange } from '../host-change.ts';
import type { HostSelector } from '../host-selection.ts';
import { printBulkSummary } from '../output/bulk-summary.ts';
import { plural } from '../output/plural.ts';
import { ProgressBar } from '../output/progress-bar.ts';
import { runBounded } from '../run-bounded.ts';
import { UsageError } from '../usage-error.ts';
import { RETRY_HELP } from './instance-command.ts';

const CONCURRENCY = 8;

interface BulkOptions {
  filter?: string;
  site?: string;
  region?: string;
  dryRun?: boolean;
  yes?: boolean;
}

const SELECTION_HELP = `
Hosts are named by id or name, or selected with --filter, --site and --region (together: all
must hold). Selected hosts are listed and, unless --yes, confirmed on a terminal; without a
terminal the command refuses (exit 2). Each write is conditional on the revision read (If-Match),
8 at a time, with a progress bar on a terminal; the summary says what changed, what already was
so, and why anything failed (exit 1).`;

/** `eim host onboard|invalidate|power`: one desired-state change over many hosts. */
export function registerHostCommand(program: Command): void {
  const host = program
    .command('host')
    .description('bulk operations on hosts: onboard, invalidate, power, retry')
    .addHelpText('after', '\nExamples:\n  eim host onboard --site berlin-1 --dry-run\n  eim host invalidate host-0a1b2c3d\n  eim host power reset --region eu --yes\n  eim host retry --dry-run');
  const bulk = (name: string, description: string, examples: string) =>
    host
      .command(name)
      .description(description)
      .option('--filter <expr>', 'hosts matching this AIP-160 filter')
      .option('--site <site>', 'hosts of this site (id or name)')
      .option('--region <region>', "hosts of this region's sites (id or name)")
      .option('--dry-run', 'print each host and its change (from → to); write nothing')
      .option('-y, --yes', 'do not ask before changing selected hosts')
      .addHelpText('after', `${SELECTION_HELP}\n\nExamples:\n${examples}`);

  bulk('onboard', 'onboard hosts: set spec.desiredState to onboarded', '  eim host onboard edge-01 edge-02\n  eim host onboard --site berlin-1 --dry-run\n  eim host onboard --region eu --filter \'labels.line = "3"\' --yes')
    .argument('[hosts...]', 'hosts by id or name')
    .action((ids: string[], o: BulkOptions, cmd: Command) => run(cmd, { field: 'desiredState', value: 'onboarded' }, ids, o));
  bulk('invalidate', 'invalidate hosts (no longer trusted): set spec.desiredState to untrusted', '  eim host invalidate host-0a1b2c3d\n  eim host invalidate --filter \'labels.stolen = "true"\' --yes')
    .argument('[hosts...]', 'hosts by id or name')
    .action((ids: string[], o: BulkOptions, cmd: Command) => run(cmd, { field: 'desiredState', value: 'untrusted' }, ids, o));
  bulk('power', 'set spec.desiredPowerState of hosts: on, off, reset or power-cycle', '  eim host power off edge-01\n  eim host power reset --site berlin-1 --dry-run')
    .argument('<state>', 'on, off, reset or power-cycle')
    .argument('[hosts...]', 'hosts by id or name')
    .action(async (state: string, ids: string[], o: BulkOptions, cmd: Command) => {
      const { PowerState } = await import('../../api/index.ts');
      const states = PowerState.enum as readonly string[];
      if (!states.includes(state)) throw new UsageError(`power state "${state}": use one of ${states.join(', ')}`);
      await run(cmd, { field: 'desiredPowerState', value: state }, ids, o);
    });
  registerRetry(host);
}

/** `eim host retry`: the hosts a manager left in an unrecoverable error (a power command refused for good). */
function registerRetry(host: Command): void {
  host
    .command('retry')
    .description('try again every selected host a manager left in an unrecoverable error (all of them when nothing is selected)')
    .argument('[hosts...]', 'hosts by id or name')
    .option('--filter <expr>', 'hosts matching this AIP-160 filter')
    .option('--site <site>', 'hosts of this site (id or name)')
    .option('--region <region>', "hosts of this region's sites (id or name)")
    .option('--dry-run', 'list what would be retried and why it failed; write nothing')
    .option('-y, --yes', 'do not ask before retrying selected hosts')
    .addHelpText('after', `${RETRY_HELP}\n\nExamples:\n  eim host retry --dry-run\n  eim host retry --site berlin-1 --yes`)
    .action((ids: string[], o: BulkOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        const { selectHosts } = await import('../host-selection.ts');
        const { errorFilter } = await import('../retry.ts');
        const { bulkRetry } = await import('../bulk-retry.ts');
        const errors = errorFilter(['onboardingStatus', 'powerStatus']);
        const filter = ids.length > 0 ? o.filter : o.filter?.trim() ? `(${o.filter}) AND (${errors})` : errors;
        const hosts = await selectHosts(inv, ctx.project, { ids, filter, site: o.site, region: o.region });
        await bulkRetry(ctx, 'Host', 'host', hosts, { dryRun: o.dryRun, yes: o.yes, bySelector: ids.length === 0 });
      }),
    );
}

function run(cmd: Command, change: HostChange, ids: string[], o: BulkOptions): Promise<void> {
  return CliContext.run(cmd, async (ctx) => {
    const inv = await ctx.client();
    const { selectHosts, bySelector } = await import('../host-selection.ts');
    const { applyHostChange, describeChange } = await import('../host-change.ts');
    const selector: HostSelector = { ids, filter: o.filter, site: o.site, region: o.region };
    const hosts = await selectHosts(inv, ctx.project, selector);
    const label = (h: { name: string; id: string }) => `host/${h.name} (${h.id})`;
    if (hosts.length === 0) return ctx.out.line(`no host matches in project ${ctx.project}: nothing to do`);

    const plan = hosts.map((h) => ({ h, ...describeChange(h, change) }));
    const changing = plan.filter((p) => p.changes).length;
    if (o.dryRun) {
      for (const p of plan) ctx.out.line(`${label(p.h)}: ${p.text}`);
      return ctx.out.line(`${changing} would change, ${hosts.length - changing} unchanged (dry run: nothing was written)`);
    }
    if (changing > 0 && bySelector(selector) && !(await confirm(`set spec.${change.field} = ${change.value} on ${plural(changing, 'host')} in project ${ctx.project}?`, o.yes))) {
      ctx.err.line('aborted: nothing was changed');
      process.exitCode = 1;
      return;
    }
    const bar = new ProgressBar(ctx.err, hosts.length, 20);
    const outcome = await runBounded(hosts, CONCURRENCY, (h) => applyHostChange(inv, ctx.project, h, change), () => bar.tick());
    bar.done();
    if (!printBulkSummary(ctx.out, ctx.err, outcome, label)) process.exitCode = 1;
  });
}
