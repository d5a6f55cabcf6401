import { type KindDef, KINDS } from '../api/index.ts';
import { UsageError } from './usage-error.ts';

const singular = (path: string) => (path.endsWith('ies') ? `${path.slice(0, -3)}y` : path.replace(/s$/, ''));
const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

// Every spelling of every kind: REST path (`host-nics`), singular (`host-nic`), kind name
// (`HostNic`, any case, with or without dashes) and id prefix (`hostnic`, `os`, `inst`).
const aliases = new Map<string, KindDef>();
for (const def of KINDS) {
  for (const a of [def.path, singular(def.path), def.kind, `${def.kind}s`, def.idPrefix]) aliases.set(squash(a), def);
}

/**
 * The kind a user typed, in any of its spellings; a UsageError naming the kinds otherwise.
 * @example resolveKind('hosts') === resolveKind('host') && resolveKind('host') === resolveKind('Host')
 */
export function resolveKind(text: string): KindDef {
  const def = aliases.get(squash(text));
  if (!def) throw new UsageError(`unknown kind "${text}": use one of ${KINDS.map((d) => d.path).join(', ')}`);
  return def;
}

/**
 * How the CLI names a kind in its output: the singular of its REST path.
 * @example kindLabel(resolveKind('OsUpdatePolicy')) // 'os-update-policy'
 */
export function kindLabel(def: KindDef): string {
  return singular(def.path);
}
