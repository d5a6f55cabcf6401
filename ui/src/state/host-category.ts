import type { Resource, StatusTriple } from '../api/resource.ts';

/** The status tiles of the overview. Each host is in exactly one; `unallocated` (no site) is counted apart. */
export const HOST_CATEGORIES = ['running', 'no-connection', 'error', 'in-progress', 'maintenance', 'not-seen'] as const;
export type HostCategory = (typeof HOST_CATEGORIES)[number];

export const CATEGORY_LABELS: Record<HostCategory | 'unallocated', string> = {
  running: 'Running',
  'no-connection': 'No connection',
  error: 'Error',
  'in-progress': 'In progress',
  maintenance: 'Maintenance',
  'not-seen': 'Not seen yet',
  unallocated: 'Unallocated',
};

const TRIPLES = ['hostStatus', 'onboardingStatus', 'registrationStatus', 'powerStatus'] as const;

/**
 * Where a host stands, for the tiles and the status column: a host in a maintenance window is in
 * maintenance; else a lost connection, then any error triple, then work under way (a triple in
 * progress, or a spec the manager has not reconciled yet), then a heartbeating host is running.
 * A host whose agent never reported is "not seen yet".
 * @example hostCategory({ status: { hostStatus: { indicator: 'idle', message: 'running' } } }) // 'running'
 */
export function hostCategory(host: Pick<Resource, 'status' | 'generation'>): HostCategory {
  const s = host.status ?? {};
  const hs = s.hostStatus as StatusTriple | undefined;
  if (s.maintenance?.inWindow === true || hs?.message === 'maintenance') return 'maintenance';
  if (hs?.message === 'no connection') return 'no-connection';
  if (TRIPLES.some((t) => (s[t] as StatusTriple | undefined)?.indicator === 'error')) return 'error';
  if (TRIPLES.some((t) => (s[t] as StatusTriple | undefined)?.indicator === 'in_progress')) return 'in-progress';
  if (typeof s.observedGeneration === 'number' && s.observedGeneration < host.generation) return 'in-progress';
  if (hs?.indicator === 'idle' && hs.message === 'running') return 'running';
  return 'not-seen';
}

/** A host no site is assigned to. */
export const isUnallocated = (host: Pick<Resource, 'spec'>): boolean => !host.spec?.siteId;
