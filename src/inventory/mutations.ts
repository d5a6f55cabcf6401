import { EimError, extractRefs, type KindDef, kindById, KINDS, newId, type RandomHex, type Resource, transitionAllowed } from '../api/index.ts';
import type { WriteTx } from '../store/index.ts';
import { jsonEqual } from './merge-patch.ts';

const refAt = (res: Pick<Resource, 'spec' | 'status'>, path: readonly string[]): unknown => {
  let v: unknown = res;
  for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
  return v;
};

/**
 * Fails with `failed_precondition` when an acyclic reference (a region's parent) would make the
 * resource its own ancestor, itself included. Runs inside the write transaction, which holds the
 * revision lock: two re-parentings at once (on any server) are checked one after the other.
 */
export async function assertNoCycle(tx: WriteTx, def: KindDef, res: Resource, before?: Resource): Promise<void> {
  for (const ref of def.refs) {
    if (!ref.acyclic) continue;
    let next = refAt(res, ref.path);
    if (before && next === refAt(before, ref.path)) continue;
    const chain = [res.id];
    while (typeof next === 'string') {
      chain.push(next);
      if (next === res.id) {
        throw new EimError('failed_precondition', `${ref.path.join('.')}: ${def.kind} ${res.id} would be its own ancestor (${chain.join(' → ')}); pick a parent outside its subtree`, {
          details: { cycle: chain },
        });
      }
      // A loop among other resources (stored before this check) is not ours to walk forever.
      if (chain.length > 1000 || chain.indexOf(next) < chain.length - 1) break;
      const parent = await tx.get(next);
      if (!parent || parent.kind !== def.kind || parent.project !== res.project) break;
      next = refAt(parent, ref.path);
    }
  }
}

/** Fails unless every id the resource refers to exists in its project and is of the right kind. */
export async function assertRefsExist(tx: WriteTx, def: KindDef, res: Resource, before?: Resource): Promise<boolean> {
  const refs = extractRefs(def, res);
  const old = before ? extractRefs(def, before) : [];
  const changed = refs.length !== old.length || refs.some((r, i) => r.id !== old[i].id || r.ref !== old[i].ref);
  if (!changed) return false;
  for (const { ref, id } of refs) {
    if (old.some((o) => o.id === id && o.ref === ref)) continue;
    const target = await tx.placeOf(id);
    if (!target || target.project !== res.project || target.kind !== ref.target) {
      throw new EimError(ref.missingIsInvalid ? 'invalid_argument' : 'failed_precondition', `${ref.path.join('.')}: ${ref.target} ${id} does not exist in project "${res.project}"; create it first or fix the id`);
    }
    if (id === res.id) throw new EimError('invalid_argument', `${ref.path.join('.')} may not refer to the resource itself`);
  }
  return true;
}

/**
 * Inserts a new resource under a fresh id, retrying on the (rare) id collision; a taken name is
 * `conflict`. One statement per try: the unique indexes do the checking.
 */
export async function insertFresh(tx: WriteTx, def: KindDef, draft: Omit<Resource, 'id' | 'revision' | 'createdAt' | 'updatedAt'>, actor: string, random?: RandomHex): Promise<Resource> {
  for (let i = 0; i < 8; i++) {
    const r = await tx.insertIfFree({ ...draft, id: newId(def.idPrefix, random) }, actor);
    if (r.resource) return r.resource;
    if (r.nameOwner) throw nameTaken(def, draft.project, draft.name, r.nameOwner);
  }
  throw new EimError('internal', `could not find a free ${def.kind} id after 8 tries`);
}

const nameTaken = (def: KindDef, project: string, name: string, owner: string) =>
  new EimError('conflict', `a ${def.kind} named "${name}" already exists in project "${project}" (${owner}); pick another name or update that one`, { details: { existingId: owner } });

/** Fails with `conflict` when another resource of the kind already has the name in the project. */
export async function assertNameFree(tx: WriteTx, def: KindDef, project: string, name: string, self?: string): Promise<void> {
  const other = await tx.getByName(project, def.kind, name);
  if (other && other.id !== self) throw nameTaken(def, project, name, other.id);
}

/** Loads the resource a call addresses; anything not visible as that kind in that project is `not_found`. */
export async function loadTarget(tx: WriteTx, def: KindDef, project: string, id: string, ifMatch?: number): Promise<Resource> {
  const cur = await tx.get(id);
  if (!cur || cur.project !== project || cur.kind !== def.kind) throw new EimError('not_found', `${def.kind} ${id} not found in project "${project}"`);
  if (ifMatch !== undefined && cur.revision !== ifMatch) {
    throw new EimError('conflict', `${def.kind} ${id} changed since revision ${ifMatch} (it is at ${cur.revision}); read it again and reapply your change`, { details: { currentRevision: cur.revision } });
  }
  return cur;
}

/** Fails unless the desired-state change is allowed from the current state. */
export function assertTransition(def: KindDef, before: Resource | undefined, next: Resource): void {
  if (!def.transitions) return;
  const desired = next.spec.desiredState as string;
  if (before && before.spec.desiredState === desired) return;
  const current = (before?.status.currentState as string | undefined) ?? 'unspecified';
  if (!transitionAllowed(def.transitions, current, desired)) {
    const allowed = def.transitions[current] ?? [];
    throw new EimError('failed_precondition', `${def.kind} ${next.id} is ${current}: desiredState "${desired}" is not allowed from there (allowed: ${allowed.join(', ') || 'none'})`);
  }
}

/** The kinds some kind refers to: only their resources can appear as a reference's target. */
const REFERABLE: ReadonlySet<string> = new Set(KINDS.flatMap((d) => d.refs.map((r) => r.target)));

/**
 * Removes a resource and, first, everything that belongs to it (owner references), children
 * before parents. Plain references from elsewhere block it with `failed_precondition`.
 */
export async function removeWithOwned(tx: WriteTx, root: Resource, actor: string): Promise<Resource[]> {
  const order: Resource[] = [];
  const seen = new Set<string>([root.id]);
  // A kind no kind refers to (a Command, say) has no referrers: nothing to look up.
  const referrers = (res: Resource, limit: number) => (REFERABLE.has(res.kind) ? tx.referrers(res.id, limit) : []);
  const visit = async (res: Resource): Promise<void> => {
    for (const r of await referrers(res, 10000)) {
      if (!r.owner || seen.has(r.id)) continue;
      seen.add(r.id);
      const child = await tx.get(r.id);
      if (child) await visit(child);
    }
    order.push(res);
  };
  await visit(root);
  for (const res of order) {
    const blockers = (await referrers(res, 50)).filter((r) => !seen.has(r.id));
    if (blockers.length > 0) {
      const names = blockers.slice(0, 5).map((b) => `${kindById(b.id)?.kind ?? 'resource'} ${b.id}`);
      throw new EimError('failed_precondition', `${res.kind} ${res.id} is still referenced by ${names.join(', ')}${blockers.length > 5 ? ' and more' : ''}; delete those or change their references first`, {
        details: { referencedBy: blockers.map((b) => b.id) },
      });
    }
  }
  const removed: Resource[] = [];
  for (const res of order) removed.push(await tx.remove(res, actor));
  return removed;
}

/** Whether the user-visible fields changed (a generation bump). */
export const userFieldsChanged = (a: Resource, b: Resource): boolean => a.name !== b.name || !jsonEqual(a.labels, b.labels) || !jsonEqual(a.spec, b.spec);
