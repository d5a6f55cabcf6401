import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { revision } from '../option-parsers.ts';
import { printStructured } from '../output/structured-output.ts';
import { applyLabel, applySet, collect, type WritableFields } from '../set-values.ts';
import { UsageError } from '../usage-error.ts';

interface PatchOptions {
  set?: string[];
  setString?: string[];
  label?: string[];
  ifMatch?: number;
  output?: 'json' | 'yaml';
}

/** `eim patch KIND ID`: a JSON merge patch of name, labels and spec. */
export function registerPatchCommand(program: Command): void {
  program
    .command('patch')
    .description('change fields of one resource (a JSON merge patch); --if-match makes it conditional')
    .argument('<kind>', 'kind: REST path (hosts), singular (host) or kind name (Host)')
    .argument('<id>', 'the resource, by id or name')
    .option('--set <path=value>', 'set a field (repeatable): spec.x.y, labels.KEY or name; JSON when it parses, else a string; null removes it', collect)
    .option('--set-string <path=value>', 'like --set, but the value is always a string', collect)
    .option('--label <key=value|key->', 'set a label, or remove it with a trailing "-" (repeatable)', collect)
    .option('--if-match <revision>', 'only if the resource is still at this revision (else a conflict, exit 1)', revision)
    .addOption(new Option('-o, --output <format>', 'print the patched resource as json or yaml instead of one line').choices(['json', 'yaml']))
    .addHelpText(
      'after',
      `
Examples:
  eim patch host edge-01 --set spec.desiredPowerState=off
  eim patch host host-0a1b2c3d --label line=4 --label obsolete-
  eim patch site berlin-1 --set spec.dnsServers='["10.0.0.53"]' --if-match 1042
  eim patch host edge-01 --set spec.serialNumber=null         # remove the field`,
    )
    .action((kind: string, id: string, o: PatchOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const def = await ctx.kind(kind);
        const fields: WritableFields = {};
        for (const s of o.set ?? []) applySet(fields, s);
        for (const s of o.setString ?? []) applySet(fields, s, true);
        for (const l of o.label ?? []) applyLabel(fields, l, true);
        if (Object.keys(fields).length === 0) throw new UsageError('nothing to change: give --set or --label');
        const inv = await ctx.client();
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
