import { type Inventory, type Resource, type StatusTriple, TERMINAL_SUFFIX } from '../api/index.ts';

export { TERMINAL_SUFFIX };
import type { Clock } from './clock.ts';


/** The longest message a status triple holds (api/common.ts). */
const MAX_MESSAGE = 1024;

export interface StatusReporterOptions {
  inventory: Inventory;
  /** The status triple the controller owns; without one nothing is written and parking is in memory only. */
  statusField?: string;
  clock: Clock;
}

interface Parked {
  generation: number;
  message: string;
  written: boolean;
}

/**
 * Writes a controller's `retry` and `terminal` outcomes into the status triple it owns, and decides
 * which resources are parked after a terminal failure (not reconciled until their generation changes).
 * Besides the stateless mark it remembers parked ids in memory: the informer cache shows our own write
 * only after its event arrives, and a failed status write must not lead to reconciling again.
 * @example const r = new StatusReporter({ inventory, statusField: 'hostStatus', clock }); if (!r.isParked(host)) …; await r.terminal(host, err)
 */
export class StatusReporter {
  private readonly parked = new Map<string, Parked>();

  constructor(private readonly o: StatusReporterOptions) {}

  /** Whether a terminal outcome holds for this generation of the resource. */
  isParked(obj: Resource): boolean {
    const p = this.parked.get(obj.id);
    if (p && p.generation === obj.generation) return true;
    if (p) this.parked.delete(obj.id);
    const triple = this.tripleOf(obj);
    return triple?.indicator === 'error' && obj.status?.observedGeneration === obj.generation && typeof triple.message === 'string' && triple.message.endsWith(TERMINAL_SUFFIX);
  }

  /** Writes a parked resource's terminal status if the earlier write failed (throws if it fails again). */
  async flush(obj: Resource): Promise<void> {
    const p = this.parked.get(obj.id);
    if (!p || p.written || p.generation !== obj.generation) return;
    await this.write(obj, { [this.o.statusField!]: this.triple('error', p.message), observedGeneration: obj.generation });
    p.written = true;
  }

  /** Shows `in_progress` with the attempt number and reason (skipped when that message is already there). */
  async retrying(obj: Resource, attempt: number, error: Error): Promise<void> {
    if (!this.o.statusField) return;
    const message = clip(`retrying (attempt ${attempt}): ${reasonOf(error)}`, MAX_MESSAGE);
    const cur = this.tripleOf(obj);
    if (cur?.indicator === 'in_progress' && cur.message === message) return;
    await this.write(obj, { [this.o.statusField]: this.triple('in_progress', message) });
  }

  /** Parks the resource at its generation and shows `error` with the error's message. */
  async terminal(obj: Resource, error: Error): Promise<void> {
    const message = clip(reasonOf(error), MAX_MESSAGE - TERMINAL_SUFFIX.length) + TERMINAL_SUFFIX;
    const p: Parked = { generation: obj.generation, message, written: !this.o.statusField };
    this.parked.set(obj.id, p);
    if (p.written) return;
    const cur = this.tripleOf(obj);
    if (cur?.indicator === 'error' && cur.message === message && obj.status?.observedGeneration === obj.generation) {
      p.written = true;
      return;
    }
    await this.write(obj, { [this.o.statusField!]: this.triple('error', message), observedGeneration: obj.generation });
    p.written = true;
  }

  /** Forgets a resource (it was deleted). */
  release(id: string): void {
    this.parked.delete(id);
  }

  /** How many resources are parked in memory. */
  get size(): number {
    return this.parked.size;
  }

  private tripleOf(obj: Resource): Partial<StatusTriple> | undefined {
    const v = this.o.statusField ? (obj.status as Record<string, unknown> | undefined)?.[this.o.statusField] : undefined;
    return v && typeof v === 'object' ? (v as Partial<StatusTriple>) : undefined;
  }

  private triple(indicator: StatusTriple['indicator'], message: string): StatusTriple {
    return { indicator, message, timestamp: new Date(this.o.clock.now()).toISOString() };
  }

  private async write(obj: Resource, patch: Record<string, unknown>): Promise<void> {
    await this.o.inventory.updateStatus(obj.project, obj.kind, obj.id, patch);
  }
}

function reasonOf(e: Error): string {
  return e.message || e.name || 'unknown error';
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
