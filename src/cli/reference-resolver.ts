import { EimError, type KindDef, kindByName, type RefDef } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { kindLabel } from './kind-resolver.ts';
import { findByName } from './resource-lookup.ts';

const NAME_PREFIX = 'name:';

/**
 * Turns references that name their target into ids: a reference field (`spec.regionId`, any
 * `refs` entry of the registry under spec) may hold `name:<name>` or `{ name: <name> }` instead of
 * the id. Shared by `eim apply` and `--set` (create, patch). Remembers every name it resolved or
 * was told about, so a file that defines a region and then its sites asks once per name.
 * @example await new ReferenceResolver(inv).resolveSpec(siteDef, 'default', { regionId: 'name:eu' }) // { regionId: 'region-…' }
 */
export class ReferenceResolver {
  /** `project/Kind/name` → id. */
  private readonly ids = new Map<string, string>();

  constructor(private readonly inv: InventoryClient) {}

  /** Records an id learned otherwise (a resource just created). */
  remember(project: string, kind: string, name: string, id: string): void {
    this.ids.set(key(project, kind, name), id);
  }

  /** A copy of `spec` with every `name:<name>` reference replaced by that resource's id. */
  async resolveSpec(def: KindDef, project: string, spec: Record<string, unknown>): Promise<Record<string, unknown>> {
    const out = structuredClone(spec);
    for (const ref of def.refs) {
      if (ref.path[0] !== 'spec') continue;
      const parent = ref.path.slice(1, -1).reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined), out);
      const field = ref.path[ref.path.length - 1];
      if (!parent || typeof parent !== 'object' || !(field in parent)) continue;
      const holder = parent as Record<string, unknown>;
      const value = holder[field];
      if (ref.many && Array.isArray(value)) holder[field] = await Promise.all(value.map((v) => this.resolveOne(ref, project, v)));
      else holder[field] = await this.resolveOne(ref, project, value);
    }
    return out;
  }

  private async resolveOne(ref: RefDef, project: string, value: unknown): Promise<unknown> {
    const name =
      typeof value === 'string' && value.startsWith(NAME_PREFIX) ? value.slice(NAME_PREFIX.length).trim()
      : value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && typeof (value as { name?: unknown }).name === 'string' ? (value as { name: string }).name
      : undefined;
    if (name === undefined) return value;
    const target = kindByName(ref.target)!;
    const k = key(project, target.kind, name);
    let id = this.ids.get(k);
    if (id === undefined) {
      const found = await findByName(this.inv, project, target, name);
      if (!found) throw new EimError('not_found', `${ref.path.join('.')} names ${kindLabel(target)} "${name}", which does not exist in project ${project} (create it first; in an apply file, define it above)`);
      id = found.id;
      this.ids.set(k, id);
    }
    return id;
  }
}

const key = (project: string, kind: string, name: string) => `${project}/${kind}/${name}`;
