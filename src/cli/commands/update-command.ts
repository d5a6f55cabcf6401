import type { Command } from 'commander';
import type { Resource, ResourceOf } from '../../api/index.ts';
import { printable } from '../../api/printable.ts';
import type { InventoryClient } from '../../client/index.ts';
import { CliContext } from '../cli-context.ts';
import { confirm } from '../confirm.ts';
import { plural } from '../output/plural.ts';
import { ProgressBar } from '../output/progress-bar.ts';
import type { Terminal } from '../output/terminal.ts';
import { UsageError } from '../usage-error.ts';
import type { InstanceSelector } from '../update-selection.ts';

const CONCURRENCY = 8;

interface SelectOptions {
  policy?: string;
  filter?: string;
  selector?: string;
  site?: string;
  region?: string;
  host?: string;
  dryRun?: boolean;
  yes?: boolean;
}

const SELECTION_HELP = `
Instances are named by id or name, or selected with --filter (on instances), --selector (on their
hosts, e.g. 'inheritedLabels.env = "canary"': inherited labels included), --site, --region
(its sites and those of the regions nested in it) and --host; together, all must hold. Selected
instances are listed and, unless --yes, confirmed on a terminal; without a terminal the command
refuses (exit 2). Each write is conditional on the revision read (If-Match).`;

/** `eim update start|status|abort`: OS update policies attached to instances, and their rollouts. */
export function registerUpdateCommand(program: Command): void {
  const update = program
    .command('update')
    .description('OS updates: attach an update policy to instances, watch its rollout, abort it')
    .addHelpText(
      'after',
      `
Updates start only inside an os-update or maintenance window of the instance's host, at most
rollout.maxConcurrent at once per policy; the rollout halts once rollout.maxFailures updates failed.

Examples:
  eim update start --policy to-24-04 --site berlin-1 --dry-run
  eim update start --policy to-24-04 --selector 'inheritedLabels.env = "canary"' --dry-run
  eim update status --policy to-24-04 --watch
  eim update abort --policy to-24-04 --region eu --yes`,
    );
  const selecting = (name: string, description: string) =>
    update
      .command(name)
      .description(description)
      .argument('[instances...]', 'instances by id or name')
      .requiredOption('--policy <policy>', 'the OsUpdatePolicy (id or name)')
      .option('--filter <expr>', 'instances matching this AIP-160 filter')
      .option('--selector <expr>', 'instances on the hosts this AIP-160 filter over hosts matches (labels.<key>, inheritedLabels.<key>, spec.…, status.…)')
      .option('--site <site>', 'instances on the hosts of this site (id or name)')
      .option('--region <region>', 'instances on the hosts of this region, nested regions included (id or name)')
      .option('--host <host>', 'the instances of this host (id or name)')
      .option('--dry-run', 'print what would change and when each host can update; write nothing')
      .option('-y, --yes', 'do not ask before changing selected instances')
      .addHelpText('after', SELECTION_HELP);
  selecting('start', 'attach an update policy to instances (spec.osUpdatePolicyId); the rollout starts them in their windows')
    .addHelpText('after', '\nExamples:\n  eim update start --policy to-24-04 --region eu --dry-run\n  eim update start --policy to-24-04 --filter \'labels.ring = "canary"\' --yes')
    .action((ids: string[], o: SelectOptions, cmd: Command) => CliContext.run(cmd, (ctx) => start(ctx, ids, o)));
  selecting('abort', 'stop a rollout where it has not started: detach the policy from those instances; running updates finish, updated and failed ones are reported and left as they are')
    .addHelpText('after', '\nExamples:\n  eim update abort --policy to-24-04 --site berlin-1 --yes')
    .action((ids: string[], o: SelectOptions, cmd: Command) => CliContext.run(cmd, (ctx) => abort(ctx, ids, o)));
  update
    .command('status')
    .description('the rollout of each policy (or one): progress, counts, halted and why')
    .option('--policy <policy>', 'one OsUpdatePolicy (id or name)')
    .option('-w, --watch', 'keep showing the rollout until it is done or halted with nothing running (Ctrl-C stops)')
    .option('--interval <seconds>', 'how often --watch looks', '1')
    .addHelpText('after', '\nExamples:\n  eim update status\n  eim update status --policy to-24-04 --watch')
    .action((o: { policy?: string; watch?: boolean; interval: string }, cmd: Command) => CliContext.run(cmd, (ctx) => status(ctx, o)));
}

type Ctx = CliContext;

async function policyOf(inv: InventoryClient, project: string, policy: string): Promise<Resource> {
  const { findResource } = await import('../resource-lookup.ts');
  const { resolveKind } = await import('../kind-resolver.ts');
  return findResource(inv, project, resolveKind('OsUpdatePolicy'), policy);
}

async function select(ctx: Ctx, ids: string[], o: SelectOptions) {
  const inv = await ctx.client();
  const { selectInstances } = await import('../update-selection.ts');
  const policy = await policyOf(inv, ctx.project, o.policy!);
  const selector: InstanceSelector = { ids, filter: o.filter, selector: o.selector, site: o.site, region: o.region, host: o.host };
  const { instances, hosts } = await selectInstances(inv, ctx.project, selector);
  return { inv, policy, instances, hosts, bySelector: ids.length === 0 };
}

const label = (r: Resource) => `instance/${r.name} (${r.id})`;

/** "in a window now (os-update, until …)", "next window at …", or "no window scheduled". */
function windowText(host: Resource | undefined): string {
  const m = (host?.status as { maintenance?: { inWindow: boolean; purposes: string[]; windowEndsAt?: string; nextWindowAt?: string } } | undefined)?.maintenance;
  if (!m) return 'no window covers it';
  const usable = m.inWindow && m.purposes.some((p) => p === 'os-update' || p === 'maintenance');
  if (usable) return `in a window now (${m.purposes.join(', ')}${m.windowEndsAt ? `, until ${m.windowEndsAt}` : ''})`;
  return m.nextWindowAt ? `next window opens at ${m.nextWindowAt}` : 'no window scheduled';
}

async function start(ctx: Ctx, ids: string[], o: SelectOptions): Promise<void> {
  const { inv, policy, instances, hosts, bySelector } = await select(ctx, ids, o);
  if (instances.length === 0) return ctx.out.line(`no instance matches in project ${ctx.project}: nothing to do`);
  const changing = instances.filter((i) => i.spec.osUpdatePolicyId !== policy.id);
  if (o.dryRun) {
    for (const i of instances) {
      const from = (i.spec.osUpdatePolicyId as string | undefined) ?? '(none)';
      const change = from === policy.id ? `already attached to ${policy.name}` : `osUpdatePolicyId ${from} → ${policy.id} (${policy.name})`;
      const host = hosts.get(i.spec.hostId as string);
      ctx.out.line(printable(`${label(i)}: ${change}; host ${host?.name ?? i.spec.hostId}: ${windowText(host)}`));
    }
    return ctx.out.line(`${changing.length} would change, ${instances.length - changing.length} unchanged (dry run: nothing was written)`);
  }
  if (changing.length > 0 && bySelector && !(await confirm(`attach update policy ${policy.name} to ${plural(changing.length, 'instance')} in project ${ctx.project}?`, o.yes))) {
    ctx.err.line('aborted: nothing was changed');
    process.exitCode = 1;
    return;
  }
  await write(ctx, inv, instances, policy.id, 'attached');
  const open = changing.filter((i) => windowText(hosts.get(i.spec.hostId as string)).startsWith('in a window')).length;
  ctx.out.line(`${open} of ${changing.length} newly attached ${open === 1 ? 'is' : 'are'} in a window now; follow the rollout with: eim update status --policy ${policy.name} --watch`);
}

async function abort(ctx: Ctx, ids: string[], o: SelectOptions): Promise<void> {
  const { inv, policy, instances, bySelector } = await select(ctx, ids, o);
  const { listMatching } = await import('../resource-lookup.ts');
  const { resolveKind } = await import('../kind-resolver.ts');
  const { abortPlan } = await import('../abort-plan.ts');
  const [runs, systems] = await Promise.all([
    listMatching(inv, ctx.project, resolveKind('OsUpdateRun'), { filter: `status.policyId = ${JSON.stringify(policy.id)}` }),
    listMatching(inv, ctx.project, resolveKind('OperatingSystem'), {}),
  ]);
  const plan = abortPlan(policy as never, instances, runs.items as never, systems.items as never);
  const others = (out: Terminal) => {
    for (const i of plan.running) out.line(`${label(i)}: its update is running: left attached to finish (or roll back); an update in flight is never cut off`);
    for (const i of plan.updated) out.line(`${label(i)}: already updated: left as it is`);
    for (const f of plan.failed) out.line(printable(`${label(f.instance)}: its update failed (${(f.run.status.runStatus as { message?: string } | undefined)?.message ?? f.run.status.phase}): left as it is; it is not tried again for this update`));
  };
  const counts = (detached: string) =>
    `${detached}, ${plural(plan.running.length, 'running update')} left to finish, ${plan.updated.length} already updated, ${plan.failed.length} failed${plan.notAttached.length ? `, ${plan.notAttached.length} not attached to ${policy.name}` : ''}`;
  if (o.dryRun) {
    for (const i of plan.notStarted) ctx.out.line(`${label(i)}: update not started: would be detached (osUpdatePolicyId ${policy.id} → none)`);
    others(ctx.out);
    return ctx.out.line(`${counts(`${plan.notStarted.length} would be detached`)} (dry run: nothing was written)`);
  }
  const n = plan.notStarted.length;
  if (n > 0 && bySelector && !(await confirm(`detach update policy ${policy.name} from ${plural(n, 'instance')} whose update has not started, in project ${ctx.project}?`, o.yes))) {
    ctx.err.line('aborted: nothing was changed');
    process.exitCode = 1;
    return;
  }
  if (n > 0) await write(ctx, inv, plan.notStarted, null, 'detached');
  others(ctx.out);
  ctx.out.line(counts(`${n} detached (not started)`));
}

async function write(ctx: Ctx, inv: InventoryClient, instances: Resource[], policyId: string | null, verb: string): Promise<void> {
  const { runBounded } = await import('../run-bounded.ts');
  const { printBulkSummary } = await import('../output/bulk-summary.ts');
  const { isEimError } = await import('../../api/index.ts');
  const bar = new ProgressBar(ctx.err, instances.length, 20);
  const outcome = await runBounded(
    instances,
    CONCURRENCY,
    async (inst) => {
      let i = inst;
      for (let attempt = 1; ; attempt++) {
        if ((i.spec.osUpdatePolicyId ?? null) === policyId) return 'unchanged';
        try {
          await inv.update(ctx.project, 'Instance', i.id, { spec: { osUpdatePolicyId: policyId } }, { ifMatch: i.revision });
          return 'changed';
        } catch (e) {
          if (!(isEimError(e) && e.code === 'conflict') || attempt >= 3) throw e;
          i = await inv.get(ctx.project, 'Instance', i.id);
        }
      }
    },
    () => bar.tick(),
  );
  bar.done();
  if (!printBulkSummary(ctx.out, ctx.err, outcome, label, verb)) process.exitCode = 1;
}

/** What the maintenance manager writes to a policy's status.rollout. */
type RolloutView = NonNullable<ResourceOf<'OsUpdatePolicy'>['status']['rollout']>;

/** Two lines per policy: name, bar and counts; then its rollout status message. */
export function renderRollout(p: Resource): string[] {
  const r = (p.status as { rollout?: RolloutView }).rollout;
  const s = (p.status as { rolloutStatus?: { indicator: string; message: string } }).rolloutStatus;
  const spec = p.spec as { rollout: { maxConcurrent: number; maxFailures: number } };
  if (!r) return [`${p.name}: no rollout yet (the maintenance manager has not looked at it)`];
  return [
    `${p.name}  ${ProgressBar.render(r.upToDate, r.total)}  up to date ${r.upToDate}, running ${r.running} (peak ${r.peakRunning} of max ${spec.rollout.maxConcurrent}), pending ${r.pending}, failed ${r.failed} (max ${spec.rollout.maxFailures})${r.halted ? '  HALTED' : ''}`,
    `  ${printable(s?.message ?? '')}`,
  ];
}

async function status(ctx: Ctx, o: { policy?: string; watch?: boolean; interval: string }): Promise<void> {
  const inv = await ctx.client();
  const every = Number(o.interval);
  if (!(every > 0)) throw new UsageError(`--interval: a number of seconds > 0 (got "${o.interval}")`);
  const one = o.policy ? (await policyOf(inv, ctx.project, o.policy)).id : undefined;
  const load = async () => {
    if (one) return [await inv.get(ctx.project, 'OsUpdatePolicy', one)];
    const { listMatching } = await import('../resource-lookup.ts');
    const { resolveKind } = await import('../kind-resolver.ts');
    return (await listMatching(inv, ctx.project, resolveKind('OsUpdatePolicy'), { orderBy: 'name' })).items;
  };
  let last = '';
  for (;;) {
    const policies = await load();
    if (policies.length === 0) return ctx.out.line(`no OS update policy in project ${ctx.project}`);
    const text = policies.flatMap(renderRollout).join('\n');
    if (text !== last) print(ctx.out, text, !!o.watch && last !== '');
    last = text;
    if (!o.watch) return;
    // Settled by its counts, and those counts are of the rollout asked for now: a watch started
    // right after `update start` or a policy change may first read the rollout from before it.
    if (policies.every(settled) && (await current(inv, ctx.project, policies))) return;
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}

/** Done, or halted (or waiting for windows) with nothing running: nothing will move without a change or a window. */
function settled(p: Resource): boolean {
  const r = (p.status as { rollout?: RolloutView }).rollout;
  return !!r && r.running === 0 && (r.halted || r.upToDate + r.failed >= r.total);
}

/**
 * Whether each policy's status.rollout is of what the policy asks now (its updateKey is the
 * policy's rollout key over today's OS profiles) and, for a policy without a selector, counts every
 * instance that names it now.
 */
async function current(inv: InventoryClient, project: string, policies: Resource[]): Promise<boolean> {
  const { listMatching } = await import('../resource-lookup.ts');
  const { resolveKind } = await import('../kind-resolver.ts');
  const { rolloutKey } = await import('../../api/index.ts');
  // Only a `latest` policy's key reads the OS profiles.
  const latest = policies.some((p) => (p.spec as { policy?: string }).policy === 'latest');
  const oses = latest ? ((await listMatching(inv, project, resolveKind('OperatingSystem'), {})).items as ResourceOf<'OperatingSystem'>[]) : [];
  const byId = new Map(oses.map((os) => [os.id, os]));
  const catalog = { get: (id: string) => byId.get(id), list: () => oses };
  for (const p of policies) {
    const r = (p.status as { rollout?: RolloutView }).rollout!;
    if (r.updateKey !== rolloutKey(p as ResourceOf<'OsUpdatePolicy'>, catalog)) return false;
    // A policy with a selector also has the matched hosts' instances, which the manager alone
    // counts: its total is taken as it is. Without one, the total is the instances naming it.
    if ((p.spec as { target?: unknown }).target) continue;
    const attached = await inv.list(project, 'Instance', { filter: `spec.osUpdatePolicyId = ${JSON.stringify(p.id)}`, pageSize: 1 });
    if (attached.totalSize !== r.total) return false;
  }
  return true;
}

function print(out: Terminal, text: string, again: boolean): void {
  if (again && out.isTTY) out.write('\n');
  out.line(text);
}
