import type { Static } from 'typebox';
import type { HostMaintenance } from '../../api/kinds.ts';

/** What a schedule's window is for (ARCHITECTURE.md §4, Schedule.spec.purpose). */
export type WindowPurpose = 'maintenance' | 'os-update';

/** A host's windows now, as `status.maintenance` shows them. */
export type HostWindows = Static<typeof HostMaintenance>;

/**
 * Which maintenance and os-update windows are open for which host, kept current from the
 * schedule, host, site and region events and from the clock (a window opening or closing).
 * The maintenance manager keeps one; the OS update rollout and the southbound lease tracker read it.
 */
export interface WindowView {
  /** Resolves once the first lists of schedules, hosts, sites and regions are in. */
  readonly synced: Promise<void>;
  /**
   * Whether a window covering the host (its own schedules, its site's, its regions' up the tree)
   * is open now, of one of `purposes` (default: any purpose).
   */
  isOpen(hostId: string, purposes?: readonly WindowPurpose[]): boolean;
  /** The host's windows now; undefined for a host the view does not know. */
  ofHost(hostId: string): HostWindows | undefined;
  /**
   * Calls `fn` after windows opened or closed or coverage changed: with the hosts whose windows may
   * differ, or 'all'. Returns a function that removes the listener.
   */
  onChange(fn: (hostIds: ReadonlySet<string> | 'all') => void): () => void;
}
