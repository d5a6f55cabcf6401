import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { printStructured } from '../output/structured-output.ts';
import { applyLabel, applySet, collect, type WritableFields } from '../set-values.ts';

interface CreateOptions {
  set?: string[];
  setString?: string[];
  label?: string[];
  output?: 'json' | 'yaml';
}

/** `eim create KIND NAME`: one resource from flags. */
export function registerCreateCommand(program: Command): void {
  program
    .command('create')
    .description('create one resource; spec fields from --set, labels from --label')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<name>', 'its name, unique per kind in the project')
    .option('--set <path=value>', 'a spec field (repeatable); nested paths with dots; the value is JSON when it parses, else a string', collect)
    .option('--set-string <path=value>', 'like --set, but the value is always a string (serial numbers of digits)', collect)
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .addOption(new Option('-o, --output <format>', 'print the created resource as json or yaml instead of one line').choices(['json', 'yaml']))
    .addHelpText(
      'after',
      `
Examples:
  eim create region eu
  eim create site berlin-1 --set spec.regionId=region-0a1b2c3d --set spec.address="Alexanderplatz 1"
  eim create host edge-01 --set spec.siteId=site-0a1b2c3d --set-string spec.serialNumber=0042 --label line=3
  eim create schedule nightly --set spec.purpose=maintenance --set spec.target.siteId=site-0a1b2c3d \\
      --set 'spec.repeated={"cron":"0 2 * * *","durationSeconds":3600}'`,
    )
    .action((kind: string, name: string, o: CreateOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        const fields: WritableFields = {};
        for (const s of o.set ?? []) applySet(fields, s);
        for (const s of o.setString ?? []) applySet(fields, s, true);
        for (const l of o.label ?? []) applyLabel(fields, l, false);
        const inv = await ctx.client();
        const created = await inv.create(ctx.project, def.kind, {
          name: fields.name ?? name,
          labels: fields.labels as Record<string, string> | undefined,
          spec: fields.spec ?? {},
        });
        if (o.output) return printStructured(ctx.out, created, o.output);
        const { kindLabel } = await import('../kind-resolver.ts');
        ctx.out.line(`${kindLabel(def)}/${created.name} created (${created.id})`);
      }),
    );
}
