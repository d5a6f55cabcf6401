import type { Resource } from '../api/resource.ts';
import { HOST_CATEGORIES, type HostCategory, hostCategory, isUnallocated } from './host-category.ts';

export type CountKey = HostCategory | 'unallocated' | 'total';

/**
 * The overview's counts, kept incrementally: each change moves one host between tiles, so an
 * event costs O(1) however large the fleet.
 * @example const c = new HostCounts(); c.change(undefined, host); c.get('running')
 */
export class HostCounts {
  private readonly counts = new Map<CountKey, number>();

  constructor() {
    this.clear();
  }

  clear(): void {
    for (const k of [...HOST_CATEGORIES, 'unallocated', 'total'] as const) this.counts.set(k, 0);
  }

  /** A host went from `before` to `after` (undefined: absent). */
  change(before: Resource | undefined, after: Resource | undefined): void {
    if (before) this.add(before, -1);
    if (after) this.add(after, 1);
  }

  get(key: CountKey): number {
    return this.counts.get(key) ?? 0;
  }

  private add(host: Resource, d: number): void {
    this.bump(hostCategory(host), d);
    if (isUnallocated(host)) this.bump('unallocated', d);
    this.bump('total', d);
  }

  private bump(k: CountKey, d: number): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + d);
  }
}
