import { type Command, Option } from 'commander';
import { printable } from '../../api/printable.ts';
import { CliContext } from '../cli-context.ts';
import { parseDuration } from '../duration.ts';
import { jsonForTerminal } from '../output/structured-output.ts';

/** `eim alert-receiver test NAME`: one test notification now, and what the receiver answered. */
export function registerAlertReceiverCommand(program: Command): void {
  const cmd = program.command('alert-receiver').description('alert receivers: send a test notification');
  cmd
    .command('test')
    .description('send one test notification to a receiver now and print what it answered')
    .argument('<receiver>', 'the receiver, by name or id')
    .addHelpText('after', `
Example:
  eim alert-receiver test ops-webhook`)
    .action((name: string, _o: unknown, c: Command) =>
      CliContext.run(c, async (ctx) => {
        const inv = await ctx.client();
        const { findResource } = await import('../resource-lookup.ts');
        const { kindByName } = await import('../../api/index.ts');
        const receiver = await findResource(inv, ctx.project, kindByName('AlertReceiver')!, name);
        const r = await inv.transport.json<{ ok: boolean; detail: string }>({
          method: 'POST',
          path: `/v1/projects/${encodeURIComponent(ctx.project)}/alert-receivers/${receiver.id}:test`,
        });
        // The detail quotes the receiver's answer: another party's text.
        ctx.out.line(printable(`${r.ok ? 'delivered' : 'NOT delivered'} to ${receiver.name}: ${r.detail}`));
        if (!r.ok) process.exitCode = 1;
      }),
    );
}

/** `eim silence create|expire`. */
export function registerSilenceCommand(program: Command): void {
  const cmd = program.command('silence').description('silences: mute the alerts a filter matches for a while (they stay firing, nothing is sent)');
  cmd
    .command('create')
    .description('mute the alerts a filter matches, from now for a duration')
    .requiredOption('--filter <filter>', 'AIP-160 filter over alerts, e.g. labels.site = "berlin-1" or labels.alertname = host-connection-lost')
    .option('--duration <d>', 'how long (30m, 2h, 1d)', '2h')
    .requiredOption('--comment <text>', 'why (shown with the silence; who made it is in the event log)')
    .option('--name <name>', 'its name (default: silence-<time>)')
    .addOption(new Option('-o, --output <format>', 'name or json').choices(['name', 'json']).default('name'))
    .addHelpText('after', `
Examples:
  eim silence create --filter 'labels.site = "berlin-1"' --duration 2h --comment "power work at berlin-1"
  eim get alerts --filter 'status.state = firing'
  eim silence expire silence-20261206-1200`)
    .action((o: { filter: string; duration: string; comment: string; name?: string; output: string }, c: Command) =>
      CliContext.run(c, async (ctx) => {
        const seconds = parseDuration(o.duration);
        const now = Date.now();
        const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
        const inv = await ctx.client();
        const s = await inv.create(ctx.project, 'Silence', {
          name: o.name ?? `silence-${stamp}`,
          spec: { filter: o.filter, startsAt: new Date(now).toISOString(), endsAt: new Date(now + seconds * 1000).toISOString(), comment: o.comment },
        });
        if (o.output === 'json') return ctx.out.line(jsonForTerminal(JSON.stringify(s)));
        ctx.out.line(`silence/${s.name} (${s.id}) until ${s.spec.endsAt}`);
      }),
    );
  cmd
    .command('expire')
    .description('end a silence now')
    .argument('<silence>', 'the silence, by name or id')
    .action((name: string, _o: unknown, c: Command) =>
      CliContext.run(c, async (ctx) => {
        const inv = await ctx.client();
        const { findResource } = await import('../resource-lookup.ts');
        const { kindByName } = await import('../../api/index.ts');
        const s = await findResource(inv, ctx.project, kindByName('Silence')!, name);
        const now = new Date().toISOString();
        const spec = s.spec as { startsAt?: string; endsAt: string };
        if (Date.parse(spec.endsAt) <= Date.now()) return ctx.out.line(`silence/${s.name} ended already (${spec.endsAt})`);
        const startsAt = spec.startsAt && Date.parse(spec.startsAt) >= Date.now() ? new Date(Date.now() - 1000).toISOString() : spec.startsAt;
        await inv.update(ctx.project, 'Silence', s.id, { spec: { endsAt: now, ...(startsAt !== spec.startsAt ? { startsAt } : {}) } }, { ifMatch: s.revision });
        ctx.out.line(`silence/${s.name} expired`);
      }),
    );
}
