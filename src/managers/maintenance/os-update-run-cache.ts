import type { Resource, ResourceOf } from '../../api/index.ts';
import { runOutcome } from '../../api/os-update-outcome.ts';
import type { Informer } from '../../client/index.ts';
import { InformerIndex } from '../shared/informer-index.ts';

export type OsUpdateRun = ResourceOf<'OsUpdateRun'> & Resource;

export { type RunOutcome, runOutcome } from '../../api/os-update-outcome.ts';

/**
 * The OsUpdateRuns of each policy: the shared informer's cache, corrected for the rollout's own
 * writes the cache has not caught up with yet. The rollout counts running updates from it, so a
 * run it just created counts at once (the peak never passes maxConcurrent because of a lagging
 * cache) and a run it just finished is not followed again (its command recreated).
 * @example const runs = new RunCache(informer); runs.put(await inventory.create(…)); runs.ofPolicy(policyId)
 */
export class RunCache {
  private readonly byPolicy: InformerIndex<OsUpdateRun>;
  /** Our writes, newer than the cache. */
  private readonly written = new Map<string, OsUpdateRun>();

  constructor(readonly informer: Informer<'OsUpdateRun', OsUpdateRun>) {
    this.byPolicy = new InformerIndex(informer, (r) => r.status.policyId);
    const caughtUp = (r: OsUpdateRun) => {
      const mine = this.written.get(r.id);
      if (mine && mine.revision <= r.revision) this.written.delete(r.id);
    };
    informer.on({ add: caughtUp, update: (_o, r) => caughtUp(r), delete: (r) => this.written.delete(r.id) });
  }

  /** Records a run the rollout created or wrote (the Inventory's answer). */
  put(run: OsUpdateRun): void {
    const cached = this.informer.get(run.id);
    if (!cached || cached.revision < run.revision) this.written.set(run.id, run);
  }

  get(id: string): OsUpdateRun | undefined {
    return this.written.get(id) ?? this.informer.get(id);
  }

  /** The policy's runs, oldest first. */
  ofPolicy(policyId: string): OsUpdateRun[] {
    const out = new Map<string, OsUpdateRun>();
    for (const r of this.byPolicy.get(policyId)) out.set(r.id, this.written.get(r.id) ?? r);
    for (const r of this.written.values()) if (r.status.policyId === policyId && !out.has(r.id)) out.set(r.id, r);
    return [...out.values()].sort((a, b) => a.revision - b.revision || (a.id < b.id ? -1 : 1));
  }
}
