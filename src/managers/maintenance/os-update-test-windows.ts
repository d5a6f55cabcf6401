import type { HostWindows, WindowPurpose, WindowView } from './window-view.ts';

/**
 * A WindowView a unit test opens and closes by hand (tests of the rollout logic only; the
 * end-to-end tests use the real schedules).
 * @example const w = new TestWindows(); w.open(['host-0a1b2c3d']); … w.close('all')
 */
export class TestWindows implements WindowView {
  readonly synced = Promise.resolve();
  private readonly openHosts = new Map<string, WindowPurpose>();
  private readonly listeners = new Set<(hosts: ReadonlySet<string> | 'all') => void>();

  open(hostIds: readonly string[], purpose: WindowPurpose = 'os-update'): void {
    for (const h of hostIds) this.openHosts.set(h, purpose);
    this.notify(new Set(hostIds));
  }

  close(hostIds: readonly string[] | 'all'): void {
    if (hostIds === 'all') this.openHosts.clear();
    else for (const h of hostIds) this.openHosts.delete(h);
    this.notify(hostIds === 'all' ? 'all' : new Set(hostIds));
  }

  isOpen(hostId: string, purposes?: readonly WindowPurpose[]): boolean {
    const p = this.openHosts.get(hostId);
    return p !== undefined && (!purposes || purposes.includes(p));
  }

  ofHost(hostId: string): HostWindows | undefined {
    const p = this.openHosts.get(hostId);
    return { inWindow: p !== undefined, purposes: p ? [p] : [], scheduleIds: [] };
  }

  onChange(fn: (hostIds: ReadonlySet<string> | 'all') => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(hosts: ReadonlySet<string> | 'all'): void {
    for (const fn of this.listeners) fn(hosts);
  }
}
