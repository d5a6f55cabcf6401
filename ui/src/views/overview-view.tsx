import { useEffect, useMemo, useState } from 'preact/hooks';
import { useFleet } from '../fleet.ts';
import { plural } from '../format.ts';
import { useHashRoute, useStoreVersion } from '../hooks.ts';
import { CATEGORY_LABELS, HOST_CATEGORIES, type HostCategory } from '../state/host-category.ts';
import { locationName, locationOf, sitesOf } from '../state/location-filter.ts';
import { type CompiledQuery, compileHostQuery, type HostQuery, runHostQuery, type SortKey } from '../state/host-query.ts';
import { useHostSummary } from '../state/use-host-summary.ts';
import { HostTable } from './host-table.tsx';
import { BusiestHosts } from './host-telemetry.tsx';

const TILES = [...HOST_CATEGORIES, 'unallocated'] as const;

/** Fleet health at a glance: counts by status, then the host list with filters, all live. */
export function OverviewView() {
  const { store } = useFleet();
  // The list recomputes a few times a second at most; counts are kept incrementally by the store.
  const version = useStoreVersion(store, 200);
  // A drill-down from elsewhere (a site, a region, the unallocated hosts) comes in the route.
  const route = useHashRoute();
  const location = locationOf(route);
  const routeCategory = categoryOf(route);
  const [query, setQuery] = useState<HostQuery>({ filter: '', labels: [], sort: 'name', desc: false, category: routeCategory });
  useEffect(() => {
    if (routeCategory) setQuery((q) => ({ ...q, category: routeCategory }));
  }, [routeCategory]);
  const sites = useMemo(() => (location ? sitesOf(store, location) : undefined), [location && JSON.stringify(location), version]);
  // The tiles count what the server counts (by site, so hosts without one are the unallocated);
  // the store's own counts stand in until the first answer.
  const summary = useHostSummary('site');
  const count = (k: HostCategory | 'unallocated' | 'total'): number => {
    if (!summary) return store.hostCounts.get(k);
    if (k === 'total') return summary.total;
    if (k === 'unallocated') return summary.groups?.find((g) => g.key === null)?.total ?? 0;
    return summary.counts[k];
  };
  const [filterText, setFilterText] = useState('');
  const [labelText, setLabelText] = useState('');

  const siteName = (id: string | undefined) => (id ? (store.get('Site', id)?.name ?? id) : '');
  const { compiled, error } = useMemo((): { compiled?: CompiledQuery; error?: string } => {
    try {
      return { compiled: compileHostQuery({ ...query, sites }, siteName) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }, [query, sites]);
  const rows = useMemo(() => (compiled ? runHostQuery(store.all('Host').values(), compiled) : []), [compiled, version]);

  const applyFilter = (e: Event) => {
    e.preventDefault();
    setQuery({ ...query, filter: filterText });
  };
  const addLabel = (e: Event) => {
    e.preventDefault();
    if (!labelText.trim()) return;
    setQuery({ ...query, labels: [...query.labels, labelText.trim()] });
    setLabelText('');
  };
  const sortBy = (sort: SortKey) => setQuery({ ...query, sort, desc: query.sort === sort ? !query.desc : false });
  const tile = (c: HostCategory | 'unallocated') => setQuery({ ...query, category: query.category === c ? undefined : c });

  return (
    <>
      <h1>Fleet overview</h1>
      {location && (
        <p class="row" data-testid="location-filter">
          <span class="chip">
            Hosts in {locationName(store, location)}{' '}
            <a href="#/" aria-label={`Show all hosts, not only those in ${locationName(store, location)}`}>
              ×
            </a>
          </span>
        </p>
      )}
      <section aria-label="Hosts by status" class="tiles">
        <button type="button" class="tile" aria-pressed={query.category === undefined} onClick={() => setQuery({ ...query, category: undefined })} data-count="total">
          <span class="count">{count('total')}</span>
          <span>All hosts</span>
        </button>
        {TILES.map((c) => (
          <button key={c} type="button" class={`tile tile-${c}`} aria-pressed={query.category === c} onClick={() => tile(c)} data-count={c}>
            <span class="count">{count(c)}</span>
            <span>{CATEGORY_LABELS[c]}</span>
          </button>
        ))}
      </section>
      <section aria-label="Filters" class="filters">
        <form onSubmit={applyFilter} class="row">
          <label for="filter">Filter (AIP-160)</label>
          <input
            id="filter"
            type="search"
            placeholder='status.currentState = onboarded AND name = "edge-*"'
            value={filterText}
            onInput={(e) => setFilterText((e.target as HTMLInputElement).value)}
            aria-describedby="filter-error"
            aria-invalid={error ? true : undefined}
          />
          <button type="submit">Apply</button>
        </form>
        <form onSubmit={addLabel} class="row">
          <label for="label">Label</label>
          <input id="label" placeholder="line=3" value={labelText} onInput={(e) => setLabelText((e.target as HTMLInputElement).value)} />
          <button type="submit">Add label filter</button>
          <ul class="chips" aria-label="Label filters">
            {query.labels.map((l, i) => (
              <li key={l}>
                {l}
                <button type="button" aria-label={`Remove label filter ${l}`} onClick={() => setQuery({ ...query, labels: query.labels.filter((_, j) => j !== i) })}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        </form>
        <p id="filter-error" class="error" role="alert">
          {error ?? ''}
        </p>
      </section>
      <p class="muted" aria-live="polite" data-testid="shown">
        {rows.length} of {plural(store.hostCounts.get('total'), 'host')}
        {location ? ` · in ${locationName(store, location)}` : ''}
        {query.category ? ` · ${CATEGORY_LABELS[query.category]}` : ''}
      </p>
      <BusiestHosts />
      <HostTable rows={rows} sort={query.sort} desc={query.desc} onSort={sortBy} siteName={siteName} />
    </>
  );
}

/** `#/?category=unallocated` (or any tile's key) selects that tile. */
function categoryOf(route: string): HostCategory | 'unallocated' | undefined {
  const c = new URLSearchParams(route.split('?')[1] ?? '').get('category');
  return c && (TILES as readonly string[]).includes(c) ? (c as HostCategory | 'unallocated') : undefined;
}
