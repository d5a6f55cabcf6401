import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { addFieldFlags, FIELD_FLAGS_HELP, type FieldFlags } from '../field-flags.ts';
import { revision } from '../option-parsers.ts';
import { printStructured } from '../output/structured-output.ts';
import { UsageError } from '../usage-error.ts';

interface PatchOptions extends FieldFlags {
  ifMatch?: number;
  output?: 'json' | 'yaml';
}

/** `eim patch KIND ID`: a JSON merge patch of name, labels and spec. */
export function registerPatchCommand(program: Command): void {
  const cmd = program
    .command('patch')
    .description('change fields of one resource (a JSON merge patch); --if-match makes it conditional')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<id>', 'the resource, by id or name');
  addFieldFlags(cmd, 'patch')
    .option('--if-match <revision>', 'only if the resource is still at this revision (else a conflict, exit 1)', revision)
    .addOption(new Option('-o, --output <format>', 'print the patched resource as json or yaml instead of one line').choices(['json', 'yaml']))
    .addHelpText(
      'after',
      `${FIELD_FLAGS_HELP}

Examples:
  eim patch host edge-01 --set spec.desiredPowerState=off
  eim patch host host-0a1b2c3d --label line=4 --label obsolete-
  eim patch host edge-01 --set spec.siteId=name:berlin-2
  eim patch site berlin-1 --set spec.dnsServers='["10.0.0.53"]' --if-match 1042
  eim patch host edge-01 --set spec.serialNumber=null         # remove the field`,
    )
    .action((kind: string, id: string, o: PatchOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        if (!o.set?.length && !o.setString?.length && !o.label?.length) throw new UsageError('nothing to change: give --set or --label');
        const inv = await ctx.client();
        const { fieldsFromFlags } = await import('../field-flags.ts');
        const fields = await fieldsFromFlags(inv, ctx.project, def, o, 'patch');
        const { findResource } = await import('../resource-lookup.ts');
        const target = await findResource(inv, ctx.project, def, id);
        const patched = await inv.update(ctx.project, def.kind, target.id, fields, { ifMatch: o.ifMatch });
        if (o.output) return printStructured(ctx.out, patched, o.output);
        const { kindLabel } = await import('../kind-resolver.ts');
        const what = patched.revision === target.revision ? 'unchanged' : 'patched';
        ctx.out.line(`${kindLabel(def)}/${patched.name} ${what} (revision ${patched.revision}, generation ${patched.generation})`);
      }),
    );
}
