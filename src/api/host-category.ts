import { HOST_NO_CONNECTION, HOST_NO_CONNECTION_IN_MAINTENANCE, HOST_RUNNING } from './host-conditions.ts';
import type { Resource } from './resource.ts';

// Where a host stands, in one word: the console's tiles and status column, the server's
// `eim_hosts{status}` gauge and whatever else counts hosts read it from here, so they agree.

/** The categories, each host in exactly one; in the order the console shows them. */
export const HOST_CATEGORIES = ['running', 'no-connection', 'error', 'in-progress', 'maintenance', 'not-seen'] as const;
export type HostCategory = (typeof HOST_CATEGORIES)[number];

/** Each category in words, for people. */
export const HOST_CATEGORY_LABELS: Record<HostCategory, string> = {
  running: 'Running',
  'no-connection': 'No connection',
  error: 'Error',
  'in-progress': 'In progress',
  maintenance: 'Maintenance',
  'not-seen': 'Not seen yet',
};

/** The hostStatus message the southbound layer writes for a silent agent inside a maintenance window, during the maintenance grace. */
export const HOST_MAINTENANCE = 'maintenance';

const TRIPLES = ['hostStatus', 'onboardingStatus', 'registrationStatus', 'powerStatus'] as const;

/**
 * Every field `hostCategory` reads, as paths. Whoever counts hosts in the store groups by exactly
 * these and asks `hostCategory` about each group (a test checks that nothing else matters).
 */
export const HOST_CATEGORY_FIELDS: readonly (readonly string[])[] = [
  ['generation'],
  ['status', 'observedGeneration'],
  ['status', 'maintenance', 'inWindow'],
  ['status', 'hostStatus', 'message'],
  ...TRIPLES.map((t) => ['status', t, 'indicator']),
];

interface Triple {
  indicator?: unknown;
  message?: unknown;
}

/**
 * Where a host stands: a lost connection first (also inside a maintenance window: "no connection
 * (in maintenance)" once the grace for a reboot has passed), then a host in a maintenance window
 * is in maintenance, then any error triple, then work under way (a triple in progress, or a spec the manager has not
 * reconciled yet), then a heartbeating host is running. A host whose agent never reported is
 * "not seen yet".
 * @example hostCategory({ generation: 1, status: { hostStatus: { indicator: 'idle', message: 'running' } } }) // 'running'
 */
export function hostCategory(host: Pick<Resource, 'generation'> & { status?: Record<string, unknown> }): HostCategory {
  const s = host.status ?? {};
  const triple = (t: (typeof TRIPLES)[number]) => (s[t] ?? undefined) as Triple | undefined;
  const hs = triple('hostStatus');
  if (hs?.message === HOST_NO_CONNECTION || hs?.message === HOST_NO_CONNECTION_IN_MAINTENANCE) return 'no-connection';
  if ((s.maintenance as { inWindow?: unknown } | undefined)?.inWindow === true || hs?.message === HOST_MAINTENANCE) return 'maintenance';
  if (TRIPLES.some((t) => triple(t)?.indicator === 'error')) return 'error';
  if (TRIPLES.some((t) => triple(t)?.indicator === 'in_progress')) return 'in-progress';
  if (typeof s.observedGeneration === 'number' && s.observedGeneration < host.generation) return 'in-progress';
  if (hs?.indicator === 'idle' && hs.message === HOST_RUNNING) return 'running';
  return 'not-seen';
}

/**
 * A host rebuilt from the values of `HOST_CATEGORY_FIELDS` (in that order), enough for `hostCategory`.
 * @example hostCategory(hostFromCategoryFields([3, 3, null, 'running', 'idle', null, null, null]))
 */
export function hostFromCategoryFields(values: readonly unknown[]): Pick<Resource, 'generation'> & { status: Record<string, unknown> } {
  const host: Record<string, unknown> = { status: {} };
  HOST_CATEGORY_FIELDS.forEach((path, i) => {
    const v = values[i];
    if (v === null || v === undefined) return;
    let at = host;
    for (const seg of path.slice(0, -1)) at = (at[seg] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]] = v;
  });
  return host as Pick<Resource, 'generation'> & { status: Record<string, unknown> };
}

/** A host no site is assigned to. */
export const isUnallocated = (host: { spec?: Record<string, unknown> }): boolean => !host.spec?.siteId;
