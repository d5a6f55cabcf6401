import type { Command } from 'commander';
import type { KindDef } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { applyLabel, applySet, collect, type WritableFields } from './set-values.ts';

/** The flags `eim create` and `eim patch` share. */
export interface FieldFlags {
  set?: string[];
  setString?: string[];
  label?: string[];
}

/**
 * Adds --set, --set-string and --label to a command. `patch` also documents removing (null, KEY-).
 * @example addFieldFlags(program.command('create'), 'create')
 */
export function addFieldFlags(cmd: Command, verb: 'create' | 'patch'): Command {
  const removal = verb === 'patch' ? '; null removes it' : '';
  return cmd
    .option('--set <path=value>', `a field (repeatable): spec.x.y, labels.KEY or name; read by the field's type (text, number, true/false, JSON for objects and lists); a reference may name its target: name:<name>${removal}`, collect)
    .option('--set-string <path=value>', 'like --set, but the value is the text as typed whatever the field', collect)
    .option(verb === 'patch' ? '--label <key=value|key->' : '--label <key=value>', verb === 'patch' ? 'set a label, or remove it with a trailing "-" (repeatable)' : 'a label (repeatable)', collect);
}

/** The --set/--label part of `eim create`'s and `eim patch`'s help. */
export const FIELD_FLAGS_HELP = `
--set reads each value by the type of the field it sets: spec.profileVersion=22.04 is the text
"22.04" (a string field), spec.latitude=52.5 a number, spec.autoProvision=true a boolean,
spec.dnsServers='["10.0.0.53"]' (or 10.0.0.53,10.0.0.54) a list; objects take JSON. A reference
field takes an id or name:<name> (spec.siteId=name:berlin-1), as in eim apply.`;

/**
 * The name, labels and spec the flags say, with `name:` references resolved to ids (one lookup
 * per name). Throws a UsageError for a malformed flag, an EimError (not_found) for a name that
 * names nothing.
 * @example const fields = await fieldsFromFlags(inv, 'default', osDef, { set: ['spec.profileVersion=22.04'] }, 'create')
 */
export async function fieldsFromFlags(inv: InventoryClient, project: string, def: KindDef, o: FieldFlags, verb: 'create' | 'patch'): Promise<WritableFields> {
  const fields: WritableFields = {};
  for (const s of o.set ?? []) applySet(fields, s, { spec: def.spec });
  for (const s of o.setString ?? []) applySet(fields, s, { asString: true });
  for (const l of o.label ?? []) applyLabel(fields, l, verb === 'patch');
  if (fields.spec) {
    const { ReferenceResolver } = await import('./reference-resolver.ts');
    fields.spec = await new ReferenceResolver(inv).resolveSpec(def, project, fields.spec);
  }
  return fields;
}
