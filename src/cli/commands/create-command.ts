import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { addFieldFlags, FIELD_FLAGS_HELP, type FieldFlags } from '../field-flags.ts';
import { printStructured } from '../output/structured-output.ts';

interface CreateOptions extends FieldFlags {
  output?: 'json' | 'yaml';
}

/** `eim create KIND NAME`: one resource from flags. */
export function registerCreateCommand(program: Command): void {
  const cmd = program
    .command('create')
    .description('create one resource; spec fields from --set, labels from --label')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<name>', 'its name, unique per kind in the project');
  addFieldFlags(cmd, 'create')
    .addOption(new Option('-o, --output <format>', 'print the created resource as json or yaml instead of one line').choices(['json', 'yaml']))
    .addHelpText(
      'after',
      `${FIELD_FLAGS_HELP}

Examples:
  eim create region eu
  eim create site berlin-1 --set spec.regionId=name:eu --set spec.address="Alexanderplatz 1"
  eim create host edge-01 --set spec.siteId=name:berlin-1 --set spec.serialNumber=0042 --label line=3
  eim create operating-system ubuntu-22.04 --set spec.profileName=ubuntu --set spec.profileVersion=22.04 …
  eim create schedule nightly --set spec.purpose=maintenance --set spec.target.siteId=name:berlin-1 \\
      --set 'spec.repeated={"cron":"0 2 * * *","durationSeconds":3600}'`,
    )
    .action((kind: string, name: string, o: CreateOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        const inv = await ctx.client();
        const { fieldsFromFlags } = await import('../field-flags.ts');
        const fields = await fieldsFromFlags(inv, ctx.project, def, o, 'create');
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
