import type { KindDef } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { kindLabel, resolveKind } from './kind-resolver.ts';
import type { Manifest } from './manifest.ts';
import { ReferenceResolver } from './reference-resolver.ts';
import { findByName } from './resource-lookup.ts';
import { UsageError } from './usage-error.ts';

export type ApplyResult = 'created' | 'configured' | 'unchanged';

/**
 * Applies manifests one at a time, idempotently by name: creates what is missing, patches (with
 * If-Match of what it read) what differs, leaves the rest. A reference field (`spec.regionId`,
 * any `refs` entry of the registry) may name its target instead of giving its id —
 * `regionId: name:eu` or `regionId: { name: eu }` — so one file can hold a region, its sites and
 * their hosts. Fields a manifest leaves out are left as they are (merge semantics); `null`
 * removes one.
 * @example const applier = new Applier(inv, 'default'); for (const m of manifests) out.line(`${applier.label(m)} ${await applier.apply(m)}`)
 */
export class Applier {
  /** Knows the id of everything seen or created during this run. */
  private readonly refs: ReferenceResolver;

  constructor(private readonly inv: InventoryClient, private readonly defaultProject: string) {
    this.refs = new ReferenceResolver(inv);
  }

  /** `site/berlin-1`, for output lines. */
  label(m: Manifest): string {
    return `${kindLabel(resolveKind(m.kind))}/${m.name}`;
  }

  /** Throws a UsageError for a manifest that can never apply (unknown kind, a discovered kind): check all before applying any. */
  check(m: Manifest): KindDef {
    const def = resolveKind(m.kind);
    if (def.origin !== 'user') throw new UsageError(`${m.source}: ${def.path} are created by managers from discovery, not applied`);
    return def;
  }

  async apply(m: Manifest): Promise<ApplyResult> {
    const def = this.check(m);
    const project = m.project ?? this.defaultProject;
    const spec = m.spec === undefined ? undefined : await this.refs.resolveSpec(def, project, m.spec);
    const existing = await findByName(this.inv, project, def, m.name);
    if (!existing) {
      const created = await this.inv.create(project, def.kind, { name: m.name, labels: dropNulls(m.labels), spec: spec ?? {} });
      this.refs.remember(project, def.kind, m.name, created.id);
      return 'created';
    }
    this.refs.remember(project, def.kind, m.name, existing.id);
    const patch: { spec?: unknown; labels?: Record<string, string | null> } = {};
    if (spec !== undefined && changes(existing.spec, spec)) patch.spec = spec;
    if (m.labels !== undefined && changes(existing.labels, m.labels)) patch.labels = m.labels;
    if (Object.keys(patch).length === 0) return 'unchanged';
    await this.inv.update(project, def.kind, existing.id, patch, { ifMatch: existing.revision });
    return 'configured';
  }
}

/** Would merging `patch` into `target` (RFC 7386) change it? */
export function changes(target: unknown, patch: unknown): boolean {
  if (!isPlainObject(patch)) return JSON.stringify(target) !== JSON.stringify(patch);
  // Merging an object into anything else replaces it with an object.
  if (!isPlainObject(target)) return true;
  return Object.entries(patch).some(([k, v]) => (v === null ? k in target : changes(target[k], v)));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dropNulls(labels: Record<string, string | null> | undefined): Record<string, string> | undefined {
  return labels && (Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== null)) as Record<string, string>);
}
