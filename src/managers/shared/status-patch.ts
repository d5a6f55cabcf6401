import { type Indicator, type Inventory, isEimError, type Resource, type StatusTriple } from '../../api/index.ts';
import type { Clock } from '../../reconcile/index.ts';

type Scalar = string | number | boolean;

/**
 * The status fields one reconcile wants, reduced to those that differ from what the resource has,
 * written in one merge patch (or not at all). Triples compare by indicator and message only: the
 * timestamp says when a triple last changed, so an unchanged triple is not rewritten.
 * @example const p = new StatusPatch(host, clock); p.set('currentState', 'onboarded'); p.triple('onboardingStatus', 'idle', 'onboarded'); await p.write(inventory)
 */
export class StatusPatch {
  private readonly fields: Record<string, unknown> = {};
  private readonly current: Record<string, unknown>;
  private readonly held = new Set<string>();

  constructor(
    private readonly resource: Resource,
    private readonly clock: Clock,
  ) {
    this.current = resource.status as Record<string, unknown>;
  }

  /** Wants `field` to hold `value`; a later call for the same field wins. */
  set(field: string, value: Scalar): this {
    if (this.current[field] === value) delete this.fields[field];
    else this.fields[field] = value;
    return this;
  }

  /** Wants the status triple `field` to say `message` with `indicator`. */
  triple(field: string, indicator: Indicator, message: string): this {
    const cur = this.current[field] as Partial<StatusTriple> | undefined;
    if (cur?.indicator === indicator && cur.message === message) delete this.fields[field];
    else this.fields[field] = { indicator, message: clip(message), timestamp: new Date(this.clock.now()).toISOString() };
    return this;
  }

  /**
   * Fields whose change alone is not worth a write now: the patch is written only when some other
   * field differs too (a reconcile that will look again soon writes them then, if still due).
   */
  hold(...fields: string[]): this {
    for (const f of fields) this.held.add(f);
    return this;
  }

  /** Whether nothing differs. */
  get empty(): boolean {
    return Object.keys(this.fields).length === 0;
  }

  /** Whether write() would write nothing: nothing differs, or only held fields do. */
  get idle(): boolean {
    if (this.held.size === 0) return this.empty;
    return Object.keys(this.fields).every((f) => this.held.has(f));
  }

  /** The fields that differ, as a merge patch of status. */
  get patch(): Readonly<Record<string, unknown>> {
    return this.fields;
  }

  /**
   * Writes what differs (nothing when nothing does, or only held fields do). A resource removed meanwhile (a forced delete)
   * is no failure: its DELETED event is on its way and brings the reconcile that cleans up.
   */
  async write(inventory: Inventory): Promise<void> {
    if (this.idle) return;
    const r = this.resource;
    try {
      await inventory.updateStatus(r.project, r.kind, r.id, { ...this.fields });
    } catch (e) {
      if (!(isEimError(e) && e.code === 'not_found')) throw e;
    }
  }
}

/** The longest message a status triple holds (api/common.ts). */
const MAX_MESSAGE = 1024;

function clip(s: string): string {
  return s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE - 1)}…`;
}
