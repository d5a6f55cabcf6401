import { evaluateFilter, parseFilter } from '../../../src/api/filter.ts';
import type { Resource } from '../api/resource.ts';
import { type HostCategory, hostCategory, isUnallocated } from './host-category.ts';

export type SortKey = 'name' | 'status' | 'state' | 'site' | 'lastSeen' | 'updated';

export interface HostQuery {
  /** An AIP-160 filter, the same language (and code) the API uses. */
  filter: string;
  /** Label filters `key=value` (value may use `*`), all must match. */
  labels: readonly string[];
  /** A tile: only hosts of this category (or unallocated ones). */
  category?: HostCategory | 'unallocated';
  /** Only hosts in these sites (a drill-down from a site or a region). */
  sites?: ReadonlySet<string>;
  sort: SortKey;
  desc: boolean;
}

export interface CompiledQuery {
  matches(host: Resource): boolean;
  compare(a: Resource, b: Resource): number;
}

/**
 * Compiles a query once; throws an Error saying what is wrong with the filter text. The filter is
 * parsed by the server's own parser (src/api/filter.ts), so the box accepts exactly what the API does.
 * @example const q = compileHostQuery({ filter: 'labels.line = 3', labels: [], sort: 'name', desc: false }, siteName)
 */
export function compileHostQuery(q: HostQuery, siteName: (id: string | undefined) => string = (id) => id ?? ''): CompiledQuery {
  const clauses = [q.filter.trim(), ...q.labels.map(labelClause)].filter((c) => c !== '');
  const node = clauses.length ? parseFilter(clauses.map((c) => `(${c})`).join(' AND ')) : undefined;
  const cat = q.category;
  const key = sortKey(q.sort, siteName);
  const dir = q.desc ? -1 : 1;
  return {
    matches: (h) =>
      (cat === undefined || (cat === 'unallocated' ? isUnallocated(h) : hostCategory(h) === cat)) &&
      (q.sites === undefined || q.sites.has(h.spec?.siteId)) &&
      (node === undefined || evaluateFilter(node, h)),
    compare: (a, b) => {
      const x = key(a);
      const y = key(b);
      const c = x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      return c * dir;
    },
  };
}

/**
 * Filters and sorts the hosts (a new array; the input is untouched).
 * @example runHostQuery(store.all('Host').values(), compiled)
 */
export function runHostQuery(hosts: Iterable<Resource>, q: CompiledQuery): Resource[] {
  const out: Resource[] = [];
  for (const h of hosts) if (q.matches(h)) out.push(h);
  return out.sort(q.compare);
}

/** `line=3` → `labels.line = "3"`; a bare `key` → `labels.key:*` (has the label). */
export function labelClause(text: string): string {
  const t = text.trim();
  if (t === '') return '';
  const eq = t.indexOf('=');
  const key = (eq < 0 ? t : t.slice(0, eq)).trim();
  if (!/^[A-Za-z0-9_./-]+$/.test(key)) throw new Error(`a label filter is key=value; "${key}" is not a label key`);
  const field = /^[A-Za-z0-9_-]+$/.test(key) ? `labels.${key}` : `labels."${key}"`;
  if (eq < 0) return `${field}:*`;
  return `${field} = ${JSON.stringify(t.slice(eq + 1).trim())}`;
}

const ORDER: Record<HostCategory, number> = { error: 0, 'no-connection': 1, 'in-progress': 2, maintenance: 3, 'not-seen': 4, running: 5 };

function sortKey(sort: SortKey, siteName: (id: string | undefined) => string): (h: Resource) => string | number {
  switch (sort) {
    case 'name': return (h) => h.name;
    case 'status': return (h) => ORDER[hostCategory(h)];
    case 'state': return (h) => `${h.status?.currentState ?? ''}/${h.spec?.desiredState ?? ''}`;
    case 'site': return (h) => siteName(h.spec?.siteId);
    case 'lastSeen': return (h) => h.status?.lastSeenAt ?? '';
    case 'updated': return (h) => h.updatedAt;
  }
}
